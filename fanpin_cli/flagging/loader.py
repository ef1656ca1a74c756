"""Rule files (`rules/*.yaml`) → typed, validated `Rule` objects.

A rule is data: an id, a Chinese title, a level, the sectors it reads, named parameters with
defaults and sources, and one of the generic *kinds* (`kinds.KINDS`: each declares the keys it
takes, the scopes it allows and the detail placeholders it fills) configured by filters over
canonical fields. Every mistake in a file is reported, not just the first: one `RuleFileError`
lists them all, each with the YAML line, the rule id and what is wrong.

>>> rules = load_rules()
>>> sorted(r.id for r in rules)[:3]
['CIV_CANDIDATE', 'CIV_NO_SAFETY_NET', 'CIV_TEMP_AID']
>>> next(r for r in rules if r.id == "MED_HIGH_OOP").parameters["oop_line"].default
9342
>>> parse_rules_text("id: X\\ntitle: t\\nlevel: 红\\nscope: person\\nkind: magic\\ndetail: d\\n", "x.yaml")
Traceback (most recent call last):
...
fanpin_cli.errors.RuleFileError: x.yaml：共 2 处错误：（1）第3行 规则 X：「level」的值 '红' 无效（可选：red、yellow、blue）；（2）第5行 规则 X：「kind」的值 'magic' 无效（可选：missing_linked、amount_sum、linked_match、linked_count、household_all、unlinked_row、roster_match）
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import string
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from fanpin_cli.errors import ConfigError, RuleFileError
from fanpin_cli.fields import SECTORS, aliases
from fanpin_cli.flagging.kinds import KINDS, Kind
from fanpin_cli.flagging.model import (
    LEVELS,
    PARAM_TYPES,
    ROSTER_VIRTUAL,
    SCOPES,
    Condition,
    Exemption,
    Number,
    Parameter,
    ParamRef,
    Rule,
    Window,
    norm_value,
)
from fanpin_cli.resources import resource_dir

COMMON_REQUIRED: tuple[str, ...] = ("id", "title", "level", "scope", "kind", "detail")
COMMON_OPTIONAL: tuple[str, ...] = ("sectors", "source", "description", "parameters", "enabled", "requires")
CONDITION_OPS: tuple[str, ...] = ("in", "not_in", "empty", "lt", "le", "gt", "ge")
PARAM_KEYS: tuple[str, ...] = ("default", "type", "title", "source", "min", "max")
MATCH_STATUSES: tuple[str, ...] = ("linked", "review", "unlinked")
# Placeholders every detail template may use (each kind adds its own: `Kind.placeholders`).
COMMON_PLACEHOLDERS: tuple[str, ...] = (
    "rule_id", "title", "name", "file", "row", "reference_date", "sector_title",
)
NO_ID = "（缺少 id）"


@dataclass(frozen=True)
class Problem:
    """One mistake in a rule file: the YAML line (None when unknown), the rule, what is wrong."""

    line: int | None
    rule: str
    message: str

    def text(self) -> str:
        where = f"第{self.line}行 " if self.line else ""
        return f"{where}规则 {self.rule}：{self.message}" if self.rule else f"{where}{self.message}"


class _Invalid(Exception):
    """A mistake under one key of a rule (caught per key, so the parser goes on)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


class _Noted(Exception):
    """Mistakes inside a structure, each already noted: the structure as a whole is unusable."""


def _fail(key: str, message: str) -> _Invalid:
    return _Invalid(key, message)


def _top(key: str) -> str:
    """The rule's top-level key a nested key lies under (`where[0].field` → `where`)."""
    match = re.match(r"[^.\[]*", key)
    return match.group(0) if match else key


class _Parser:
    """Validates one rule mapping, collecting every mistake (`problems`) instead of stopping."""

    def __init__(self, data: Any, file: str, lines: dict[str, int] | None = None, line: int | None = None) -> None:
        self.data = data
        self.file = file
        self.lines = lines or {}
        self.line = line
        rid = data.get("id") if isinstance(data, dict) else None
        self.rid = rid.strip() if isinstance(rid, str) and rid.strip() else NO_ID
        self.params: dict[str, Parameter] = {}
        self.params_ok = True
        self.problems: list[Problem] = []
        self.broken: set[str] = set()

    # -- bookkeeping ---------------------------------------------------------------------
    def line_of(self, key: str) -> int | None:
        """The YAML line of `key` (`where[1].in`), else of the nearest enclosing key, else the rule's."""
        while key:
            if key in self.lines:
                return self.lines[key]
            key = re.sub(r"(\.[^.\[]*|\[\d+\])$", "", key) if re.search(r"[.\[]", key) else ""
        return self.line

    def note(self, key: str, message: str) -> None:
        self.problems.append(Problem(self.line_of(key), self.rid, message))
        self.broken.add(_top(key))

    def field(self, key: str, parse, *args, default=None):
        """`parse(*args)`; a mistake is noted under `key` and `default` returned."""
        try:
            return parse(*args)
        except _Invalid as exc:
            self.note(exc.key or key, exc.message)
        except _Noted:
            self.broken.add(_top(key))
        return default

    # -- scalars -------------------------------------------------------------------------
    def text(self, key: str, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise _fail(key, f"「{key}」应为非空文字，实际为 {value!r}")
        return value.strip()

    def choice(self, key: str, value: Any, allowed: tuple[str, ...]) -> str:
        if value not in allowed:
            raise _fail(key, f"「{key}」的值 {value!r} 无效（可选：{'、'.join(allowed)}）")
        return value

    def number(self, key: str, value: Any, *, integer: bool = False) -> Number:
        if isinstance(value, str) and value.startswith("$"):
            name = value[1:]
            if name not in self.params and self.params_ok:
                raise _fail(key, f"「{key}」引用了未定义的参数 {value}（已定义：{'、'.join(self.params) or '无'}）")
            return ParamRef(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(key, f"「{key}」应为数字或 $参数名，实际为 {value!r}")
        if integer and not float(value).is_integer():
            raise _fail(key, f"「{key}」应为整数，实际为 {value!r}")
        return value

    def str_list(self, key: str, value: Any) -> tuple[str, ...]:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list) or not all(
            isinstance(v, str | int | float) and not isinstance(v, bool) for v in value
        ):
            raise _fail(key, f"「{key}」应为文字列表，实际为 {value!r}")
        return tuple(str(v) for v in value)

    def check_field(self, key: str, name: Any, sector: str) -> str:
        if not isinstance(name, str):
            raise _fail(key, f"「{key}」应为字段名，实际为 {name!r}")
        known = set(aliases(sector)) | {"source_file", "source_row"}
        if sector == "roster":
            known |= set(ROSTER_VIRTUAL)
        if name not in known:
            raise _fail(key, f"「{key}」中的字段 {name!r} 不是「{sector}」的已知字段（可选：{'、'.join(sorted(known))}）")
        return name

    # -- structures ----------------------------------------------------------------------
    def parameters(self, value: Any) -> dict[str, Parameter]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise _fail("parameters", f"「parameters」应为映射（参数名: {{default: …}}），实际为 {value!r}")
        out: dict[str, Parameter] = {}
        for name, spec in value.items():
            param = self.field(f"parameters.{name}", self.parameter, name, spec)
            if param is None:
                self.params_ok = False
            else:
                out[name] = param
        return out

    def parameter(self, name: Any, spec: Any) -> Parameter:
        where = f"parameters.{name}"
        if not isinstance(name, str) or not name.isidentifier():
            raise _fail(where, f"参数名 {name!r} 无效")
        if not isinstance(spec, dict):
            raise _fail(where, f"「{where}」应为映射（default/type/title/source），实际为 {spec!r}")
        unknown = sorted(set(spec) - set(PARAM_KEYS))
        if unknown:
            raise _fail(where, f"「{where}」含未知字段 {'、'.join(map(str, unknown))}（可用：{'、'.join(PARAM_KEYS)}）")
        if "default" not in spec:
            raise _fail(where, f"「{where}」缺少 default")
        ptype = self.choice(f"{where}.type", spec.get("type", "number"), PARAM_TYPES)
        default = spec["default"]
        if isinstance(default, bool) or not isinstance(default, int | float):
            raise _fail(f"{where}.default", f"「{where}.default」应为数字，实际为 {default!r}")
        if ptype == "integer" and not float(default).is_integer():
            raise _fail(f"{where}.default", f"「{where}.default」应为整数，实际为 {default!r}")
        bounds = {}
        for key in ("min", "max"):
            if key in spec:
                bound = spec[key]
                if isinstance(bound, bool) or not isinstance(bound, int | float) or not math.isfinite(bound):
                    raise _fail(f"{where}.{key}", f"「{where}.{key}」应为有限的数字，实际为 {bound!r}")
                bounds[key] = bound
        param = Parameter(
            name=name,
            default=int(default) if ptype == "integer" else default,
            type=ptype,
            title=str(spec.get("title", "") or ""),
            source=str(spec.get("source", "") or ""),
            **bounds,
        )
        self.checked_default(param)
        return param

    def checked_default(self, param: Parameter) -> None:
        key = f"parameters.{param.name}.default"
        try:
            param.check(param.default, f"「{key}」")
        except ConfigError as exc:
            raise _fail(key, exc.message) from exc

    def conditions(self, key: str, value: Any, sector: str) -> tuple[Condition, ...]:
        if value is None:
            return ()
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            raise _fail(key, f"「{key}」应为条件列表，实际为 {value!r}")
        found = [self.field(f"{key}[{i}]", self.condition, f"{key}[{i}]", c, sector) for i, c in enumerate(value)]
        if any(c is None for c in found):
            raise _Noted  # each mistake already noted
        return tuple(found)

    def condition(self, key: str, value: Any, sector: str) -> Condition:
        if not isinstance(value, dict):
            raise _fail(key, f"「{key}」应为条件映射（field + in/not_in/empty/lt/le/gt/ge），实际为 {value!r}")
        if "any_of" in value:
            extra = sorted(set(value) - {"any_of"})
            if extra:
                raise _fail(key, f"「{key}」含未知字段 {'、'.join(map(str, extra))}（any_of 不能与其他字段并列）")
            alts = value["any_of"]
            if not isinstance(alts, list) or not alts:
                raise _fail(f"{key}.any_of", f"「{key}.any_of」应为非空条件列表")
            return Condition(any_of=tuple(self.condition(f"{key}.any_of[{i}]", c, sector) for i, c in enumerate(alts)))
        unknown = sorted(set(value) - {"field", *CONDITION_OPS})
        if unknown:
            raise _fail(key, f"「{key}」含未知字段 {'、'.join(map(str, unknown))}（可用：field、{'、'.join(CONDITION_OPS)}、any_of）")
        if "field" not in value:
            raise _fail(key, f"「{key}」缺少 field")
        fname = self.check_field(f"{key}.field", value["field"], sector)
        ops = [op for op in CONDITION_OPS if op in value]
        if len(ops) != 1:
            raise _fail(key, f"「{key}」应恰好有一个比较（{'、'.join(CONDITION_OPS)}），实际为 {ops or '无'}")
        op = ops[0]
        raw = value[op]
        if op in ("in", "not_in"):
            return Condition(field=fname, op=op, values=tuple(norm_value(v) for v in self.str_list(f"{key}.{op}", raw)))
        if op == "empty":
            if not isinstance(raw, bool):
                raise _fail(f"{key}.empty", f"「{key}.empty」应为 true 或 false，实际为 {raw!r}")
            return Condition(field=fname, op=op, empty=raw)
        return Condition(field=fname, op=op, number=self.number(f"{key}.{op}", raw))

    def exemption(self, key: str, value: Any) -> Exemption:
        if isinstance(value, str):
            value = {"sector": value}
        if not isinstance(value, dict):
            raise _fail(key, f"「{key}」应为部门名或 {{sector, where}}，实际为 {value!r}")
        unknown = sorted(set(value) - {"sector", "where"})
        if unknown:
            raise _fail(key, f"「{key}」含未知字段 {'、'.join(map(str, unknown))}（可用：sector、where）")
        sector = self.choice(f"{key}.sector", value.get("sector"), SECTORS[1:])
        return Exemption(sector=sector, where=self.conditions(f"{key}.where", value.get("where"), sector))

    def exemptions(self, value: Any) -> tuple[Exemption, ...]:
        items = value if isinstance(value, list) else [value]
        found = [self.field(f"exempt_if_linked[{i}]", self.exemption, f"exempt_if_linked[{i}]", e)
                 for i, e in enumerate(items)]
        if any(e is None for e in found):
            raise _Noted
        return tuple(found)

    def window(self, value: Any, sector: str) -> Window:
        if not isinstance(value, dict):
            raise _fail("window", f"「window」应为 {{date: 字段, days: 天数}}，实际为 {value!r}")
        unknown = sorted(set(value) - {"date", "days"})
        if unknown:
            raise _fail("window", f"「window」含未知字段 {'、'.join(map(str, unknown))}（可用：date、days）")
        if "date" not in value or "days" not in value:
            raise _fail("window", "「window」需要 date 和 days")
        return Window(
            date=self.check_field("window.date", value["date"], sector),
            days=self.number("window.days", value["days"], integer=True),
        )

    def requires(self, value: Any) -> dict[str, tuple[tuple[str, ...], ...]]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise _fail("requires", f"「requires」应为 {{部门: [字段, [字段或字段]]}}，实际为 {value!r}")
        out: dict[str, tuple[tuple[str, ...], ...]] = {}
        for sector, items in value.items():
            sector = self.choice("requires", sector, SECTORS)
            if not isinstance(items, list) or not items:
                raise _fail(f"requires.{sector}", f"「requires.{sector}」应为非空列表")
            out[sector] = tuple(
                tuple(self.check_field(f"requires.{sector}", f, sector) for f in (item if isinstance(item, list) else [item]))
                for item in items
            )
        return out

    def template(self, text: str, allowed: set[str] | None) -> str:
        """The detail template; with `allowed` None (the kind is unknown) only its syntax is checked."""
        try:
            parts = list(string.Formatter().parse(text))
        except ValueError as exc:
            raise _fail("detail", f"「detail」模板格式错误：{exc}") from exc
        bad = []
        for _, name, spec, conv in parts:
            if name is None:
                continue
            if spec or conv:
                bad.append(f"占位符 {{{name}}} 不支持格式说明")
            elif allowed is not None and name not in allowed:
                bad.append(f"占位符 {{{name}}} 未知")
        if bad:
            known = f"（可用：{'、'.join(sorted(allowed))}）" if allowed is not None else ""
            raise _fail("detail", f"「detail」{'、'.join(bad)}{known}")
        return text

    # -- the rule ------------------------------------------------------------------------
    def rule(self) -> Rule | None:
        """The rule, or None when it has mistakes (then `problems` lists every one)."""
        d = self.data
        if not isinstance(d, dict):
            self.note("", f"规则应为映射，实际为 {type(d).__name__}")
            return None
        for key in COMMON_REQUIRED:
            if key not in d:
                self.note("", f"缺少必需字段「{key}」")
        rid = self.field("id", self.rule_id, d.get("id")) if "id" in d else None
        kind: Kind | None = None
        if "kind" in d:
            name = self.field("kind", self.choice, "kind", d["kind"], tuple(KINDS))
            kind = KINDS.get(name) if name else None
        allowed = set(COMMON_REQUIRED) | set(COMMON_OPTIONAL)
        if kind is not None:
            allowed |= set(kind.required) | set(kind.optional)
            unknown = sorted(set(map(str, d)) - allowed)
            if unknown:
                self.note(unknown[0], f"含未知字段 {'、'.join(unknown)}（kind={kind.name} 可用：{'、'.join(sorted(allowed))}）")
            for key in kind.required:
                if key not in d:
                    self.note("", f"kind={kind.name} 缺少必需字段「{key}」")
        else:
            every = allowed.union(*(set(k.required) | set(k.optional) for k in KINDS.values()))
            unknown = sorted(set(map(str, d)) - every)
            if unknown:
                self.note(unknown[0], f"含未知字段 {'、'.join(unknown)}（可用：{'、'.join(sorted(every))}）")
        self.params = self.field("parameters", self.parameters, d.get("parameters"), default={})
        if "parameters" in self.broken:
            self.params_ok = False
        level = self.field("level", self.choice, "level", d.get("level"), LEVELS) if "level" in d else None
        scopes = kind.scopes if kind is not None else SCOPES
        scope = self.field("scope", self.choice, "scope", d.get("scope"), scopes) if "scope" in d else None
        enabled = d.get("enabled", True)
        if not isinstance(enabled, bool):
            self.note("enabled", f"「enabled」应为 true 或 false，实际为 {enabled!r}")
        sector = self.field("sector", self.choice, "sector", d["sector"], SECTORS[1:]) if "sector" in d else None
        # fields are checked against the sector's; without a valid sector that would only add noise
        sector_ok = "sector" not in self.broken and not (kind is not None and "sector" in kind.required and sector is None)
        data_sector = sector or "roster"
        sectors = self.field("sectors", self.sectors, d["sectors"], default=()) if "sectors" in d else ()
        none_linked = self.field("none_linked", self.exemption, "none_linked", d["none_linked"]) if "none_linked" in d else None
        exempt = self.field("exempt_if_linked", self.exemptions, d.get("exempt_if_linked") or [], default=())
        window = None
        if "window" in d and sector_ok:
            window = self.field("window", self.window, d["window"], data_sector)
        show: tuple[str, ...] = ()
        if "show" in d and sector_ok and kind is not None:
            show_sector = "roster" if kind.shows_roster else data_sector
            show = self.field("show", lambda v: tuple(self.check_field("show", f, show_sector) for f in self.str_list("show", v)),
                              d["show"], default=())
        status = ("unlinked",)
        if "status" in d:
            status = self.field("status", self.statuses, d["status"], default=status)
        placeholders = None
        if kind is not None and sector_ok and self.params_ok:
            fields = set(aliases("roster" if kind.about_roster else data_sector))
            placeholders = set(COMMON_PLACEHOLDERS) | set(kind.placeholders) | set(self.params) | fields
        detail = None
        if "detail" in d:
            detail = self.field("detail", lambda v: self.template(self.text("detail", v), placeholders), d["detail"])
        title = self.field("title", self.text, "title", d["title"]) if "title" in d else None
        where = self.field("where", self.conditions, "where", d.get("where"), data_sector, default=()) if sector_ok else ()
        roster_where = self.field("roster_where", self.conditions, "roster_where", d.get("roster_where"), "roster", default=())
        amount = None
        if "amount" in d and sector_ok:
            amount = self.field("amount", self.check_field, "amount", d["amount"], data_sector)
        min_total = self.field("min_total", self.number, "min_total", d["min_total"]) if "min_total" in d else None
        min_members = None
        if "min_members" in d:
            min_members = self.field("min_members", lambda v: self.number("min_members", v, integer=True), d["min_members"])
        requires = self.field("requires", self.requires, d.get("requires"), default={})
        if self.problems:
            return None
        rule = Rule(
            id=rid,
            title=title,
            level=level,
            scope=scope,
            kind=kind.name,
            detail=detail,
            sectors=sectors or tuple(s for s in (sector, none_linked.sector if none_linked else None) if s),
            source=str(d.get("source", "") or ""),
            description=str(d.get("description", "") or ""),
            parameters=self.params,
            enabled=enabled,
            sector=sector,
            where=where,
            roster_where=roster_where,
            exempt_if_linked=exempt,
            none_linked=none_linked,
            window=window,
            amount=amount,
            min_total=min_total,
            min_members=min_members,
            status=status,
            show=show,
            requires=requires,
            file=self.file,
        )
        rule = _counted_at_least_one(rule)
        for param in rule.parameters.values():
            self.field(f"parameters.{param.name}.default", self.checked_default, param)
        return None if self.problems else rule

    def rule_id(self, value: Any) -> str:
        rid = self.text("id", value)
        if not rid.replace("_", "").isalnum() or not rid.isascii():
            raise _fail("id", "「id」只能由英文字母、数字和下划线组成")
        return rid

    def sectors(self, value: Any) -> tuple[str, ...]:
        found = self.str_list("sectors", value)
        for s in found:
            self.choice("sectors", s, SECTORS)
        return found

    def statuses(self, value: Any) -> tuple[str, ...]:
        found = self.str_list("status", value)
        for s in found:
            self.choice("status", s, MATCH_STATUSES)
        return found


def _counted_at_least_one(rule: Rule) -> Rule:
    """Parameters used as a window (days) or a member count are at least 1 unless the rule
    file says more: `window = 0` or `min_members = 0` would flag nothing or everyone."""
    refs = [r for r in (rule.window.days if rule.window else None, rule.min_members) if isinstance(r, ParamRef)]
    if not refs:
        return rule
    params = dict(rule.parameters)
    for ref in refs:
        params[ref.name] = replace(params[ref.name], min=max(params[ref.name].min, 1))
    return replace(rule, parameters=params)


def _raise(problems: list[Problem], file: str) -> None:
    """One error listing every problem (one line, as the CLI prints it)."""
    if not problems:
        return
    if len(problems) == 1:
        p = problems[0]
        message = f"规则 {p.rule}：{p.message}" if p.rule else p.message
        raise RuleFileError(message, file=file, row=p.line)
    items = "；".join(f"（{i}）{p.text()}" for i, p in enumerate(problems, start=1))
    raise RuleFileError(f"共 {len(problems)} 处错误：{items}", file=file)


def parse_rule(data: Any, file: str) -> Rule:
    """Validate one rule mapping read from `file` (every mistake in one RuleFileError)."""
    parser = _Parser(data, file)
    rule = parser.rule()
    _raise(parser.problems, file)
    assert rule is not None
    return rule


# libyaml's safe loader where PyYAML was built with it (same documents, several times faster).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _key_lines(node: yaml.Node, prefix: str = "") -> dict[str, int]:
    """Path of every key and list item under `node` (`where[0].field`) → its 1-based YAML line."""
    out: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            path = f"{prefix}.{key.value}" if prefix else str(key.value)
            out[path] = key.start_mark.line + 1
            out.update(_key_lines(value, path))
    elif isinstance(node, yaml.SequenceNode) and prefix:
        for i, item in enumerate(node.value):
            path = f"{prefix}[{i}]"
            out[path] = item.start_mark.line + 1
            out.update(_key_lines(item, path))
    return out


def _documents(text: str) -> list[tuple[yaml.Node, Any]]:
    """Every YAML document of `text` as (node, data): the nodes carry the line numbers."""
    loader = _LOADER(text)
    try:
        docs = []
        while loader.check_node():
            node = loader.get_node()
            docs.append((node, loader.construct_document(node)))
        return docs
    finally:
        loader.dispose()


def _parse_text(text: str, file: str) -> tuple[list[Rule], list[Problem]]:
    """Rules of one file's text and every problem found (syntax errors: the one where it stops)."""
    try:
        docs = _documents(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        return [], [Problem(line, "", f"YAML 格式错误：{exc}".replace("\n", " "))]
    except yaml.YAMLError as exc:
        return [], [Problem(None, "", f"YAML 格式错误：{exc}".replace("\n", " "))]
    if all(data is None for _, data in docs):  # an empty file would silently drop its rule
        return [], [Problem(None, "", "规则文件是空的（没有任何规则）：请补全或删除该文件")]
    rules: list[Rule] = []
    problems: list[Problem] = []
    first_line: dict[str, int | None] = {}
    for node, data in docs:
        if data is None:
            continue
        items = list(zip(node.value, data, strict=True)) if isinstance(data, list) else [(node, data)]
        for item_node, item in items:
            line = item_node.start_mark.line + 1
            parser = _Parser(item, file, _key_lines(item_node), line)
            rule = parser.rule()
            problems.extend(parser.problems)
            rid = parser.rid
            if rid != NO_ID and rid in first_line:
                where = f"第{first_line[rid]}行" if first_line[rid] else "前面"
                problems.append(Problem(parser.line_of("id"), rid, f"id 重复（本文件{where}已有同一 id）"))
                continue
            first_line[rid] = parser.line_of("id")
            if rule is not None:
                rules.append(rule)
    problems.sort(key=lambda p: p.line or 0)
    return rules, problems


def parse_rules_text(text: str, file: str) -> list[Rule]:
    """Every rule in the YAML `text` of `file`; every mistake in it in one RuleFileError."""
    rules, problems = _parse_text(text, file)
    _raise(problems, file)
    return rules


def load_rule_file(path: Path) -> list[Rule]:
    """All rules of one YAML file (a single mapping, a list, or several `---` documents)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RuleFileError(f"无法读取规则文件：{exc}", file=path.name) from exc
    return _rules_of_bytes(data, path.name)


def _rules_of_bytes(data: bytes, name: str) -> list[Rule]:
    """The rules of a rule file's bytes (`name`: the file's, for errors)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RuleFileError(f"无法读取规则文件：不是 UTF-8 编码（第 {exc.start + 1} 字节起），请另存为 UTF-8", file=name) from exc
    return parse_rules_text(text, name)


def load_rules(folder: Path | None = None) -> list[Rule]:
    """Every rule in `folder` (default: the bundled `rules/`), sorted by id.

    Files are `*.yaml` / `*.yml`; every mistake in every file is listed in one error (each
    file's own list, then ids defined in two files). Rule files whose names and bytes were
    parsed before in this process are not parsed again: a run reads the rules three times (the
    config's check, the rules, a check across files), 3.3 ms a parse; reading and hashing the
    files again costs a tenth of that.

    >>> load_rules() == load_rules() and load_rules() is not load_rules()
    True
    """
    folder = Path(folder) if folder is not None else resource_dir("rules")
    if not folder.is_dir():
        raise RuleFileError(f"找不到规则目录（{folder}）", file=str(folder))
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".yaml", ".yml") and p.is_file())
    try:
        files = [(path.name, path.read_bytes()) for path in paths]
    except OSError:  # a file that cannot be read: read again by the parse, which says which and why
        return _parsed([(path.name, path) for path in paths], folder)
    digest = hashlib.blake2b(digest_size=16)
    for name, data in files:
        digest.update(name.encode("utf-8") + b"\0" + hashlib.blake2b(data).digest())
    key = (str(folder.resolve()), digest.digest())
    with _PARSED_LOCK:
        known = _PARSED.get(key)
    if known is None:
        known = _parsed(files, folder)
        with _PARSED_LOCK:
            _PARSED[key] = known
            while len(_PARSED) > 8:  # the rule folders one process reads: a handful
                del _PARSED[next(iter(_PARSED))]
    return list(known)


# `load_rules` parsed before: (folder, digest of its files' names and bytes) → their rules.
_PARSED: dict[tuple[str, bytes], list[Rule]] = {}
_PARSED_LOCK = threading.Lock()


def _parsed(files: list[tuple[str, bytes | Path]], folder: Path) -> list[Rule]:
    """The rules of the rule files of `folder` (name, and the bytes read, or the file to read;
    see `load_rules`)."""
    seen: dict[str, Rule] = {}
    errors: list[RuleFileError] = []
    for name, data in files:
        try:
            rules = load_rule_file(data) if isinstance(data, Path) else _rules_of_bytes(data, name)
        except RuleFileError as exc:
            errors.append(exc)
            continue
        for rule in rules:
            if rule.id in seen:
                errors.append(RuleFileError(f"规则 {rule.id}：id 重复（另见 {seen[rule.id].file}）", file=name))
                continue
            seen[rule.id] = rule
    if len(errors) == 1:
        raise errors[0]
    if errors:
        listed = "；".join(f"（{i}）{e}" for i, e in enumerate(errors, 1))
        raise RuleFileError(f"{len(errors)} 个规则文件有错误：{listed}", file=str(folder))
    return sorted(seen.values(), key=lambda r: r.id)


@functools.cache
def _bundled() -> dict[str, Rule]:
    return {r.id: r for r in load_rules()}


def bundled_rule(rule_id: str) -> Rule:
    """The bundled rule `rule_id` (rules/), loaded once: for checks that share a rule's
    definition. ``bundled_rule("MED_UNINSURED").kind == "missing_linked"``"""
    return _bundled()[rule_id]
