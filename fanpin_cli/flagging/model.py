"""Rule files (`rules/*.yaml`) → typed, validated `Rule` objects.

A rule is data: an id, a Chinese title, a level, the sectors it reads, named parameters with
defaults and sources, and one of a handful of generic *kinds* (see `kinds.py`) configured by
filters over canonical fields. Any mistake in a rule file stops with a `RuleFileError` that
names the file and the rule id.

>>> rules = load_rules()
>>> sorted(r.id for r in rules)[:3]
['CIV_CANDIDATE', 'CIV_NO_SAFETY_NET', 'CIV_TEMP_AID']
>>> next(r for r in rules if r.id == "MED_HIGH_OOP").parameters["oop_line"].default
9342
"""

from __future__ import annotations

import functools
import math
import string
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from fanpin_cli.errors import ConfigError, RuleFileError
from fanpin_cli.fields import SECTORS, aliases
from fanpin_cli.resources import resource_dir

LEVELS: tuple[str, ...] = ("red", "yellow", "blue")
LEVEL_TITLES: dict[str, str] = {"red": "红色预警", "yellow": "黄色预警", "blue": "蓝色预警"}
LEVEL_RANK: dict[str, int] = {"red": 3, "yellow": 2, "blue": 1}
SCOPES: tuple[str, ...] = ("person", "household", "row")
PARAM_TYPES: tuple[str, ...] = ("number", "integer")

# Kind → (allowed scopes, required keys, optional keys) beyond the common keys.
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    # roster person with no linked row of `sector` matching `where` (exempt if linked elsewhere)
    "missing_linked": (("person",), ("sector",), ("where", "roster_where", "exempt_if_linked", "show")),
    # sum of `amount` over linked rows matching `where` in `window` ≥ `min_total`
    "amount_sum": (("person", "household"), ("sector", "amount", "min_total"), ("where", "window", "show")),
    # person / household with a member linked to a row matching `where` (in `window`)
    "linked_match": (("person", "household"), ("sector",), ("where", "window", "roster_where", "show")),
    # household with ≥ `min_members` members linked to rows matching `where`
    "linked_count": (("household",), ("sector", "min_members"), ("where", "window", "show")),
    # household whose every member matches `roster_where` and none is linked to `none_linked`
    "household_all": (("household",), ("roster_where", "none_linked"), ("show",)),
    # extract row of `sector` matching `where` whose match_status is in `status` (default unlinked)
    "unlinked_row": (("row",), ("sector",), ("where", "status", "show")),
    # roster rows matching `roster_where` (household scope: any member row)
    "roster_match": (("person", "household"), ("roster_where",), ("show",)),
}
COMMON_REQUIRED: tuple[str, ...] = ("id", "title", "level", "scope", "kind", "detail")
COMMON_OPTIONAL: tuple[str, ...] = ("sectors", "source", "description", "parameters", "enabled", "requires")
CONDITION_OPS: tuple[str, ...] = ("in", "not_in", "empty", "lt", "le", "gt", "ge")
NUMERIC_OPS: tuple[str, ...] = ("lt", "le", "gt", "ge")
PARAM_KEYS: tuple[str, ...] = ("default", "type", "title", "source", "min", "max")
MATCH_STATUSES: tuple[str, ...] = ("linked", "review", "unlinked")
# Virtual roster fields computed by the engine.
# `age`: 周岁 at the reference date (ID birth date, else the birth-date column);
# `id_shared`: 是 when the row's usable ID is also on a roster row with another name (whose birth
# date it is cannot be told from the roster), else 否.
ROSTER_VIRTUAL: tuple[str, ...] = ("age", "id_shared")
# Placeholders every detail template may use, and those each kind adds.
COMMON_PLACEHOLDERS: tuple[str, ...] = (
    "rule_id", "title", "name", "file", "row", "reference_date", "sector_title",
)
KIND_PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "missing_linked": ("age", "note", "rows"),
    "amount_sum": ("total", "threshold", "count", "rows", "window_start", "window_end", "window_days", "year"),
    "linked_match": ("rows", "count", "members", "window_start", "window_end", "window_days", "age"),
    "linked_count": ("rows", "count", "members", "window_start", "window_end", "window_days"),
    "household_all": ("rows", "count", "members", "note"),
    "unlinked_row": ("rows", "status"),
    "roster_match": ("rows", "count", "members", "age"),
}


def norm_value(value: Any) -> str:
    """The comparison form of a category value: NFKC, no whitespace, upper-case.

    >>> norm_value(" ｃ 级 ")
    'C级'
    """
    text = unicodedata.normalize("NFKC", "" if value is None else str(value))
    return "".join(ch for ch in text if not ch.isspace() and ch not in "\u200b\u200c\u200d\u2060\ufeff").upper()


@dataclass(frozen=True)
class Parameter:
    name: str
    default: float | int
    type: str = "number"
    title: str = ""
    source: str = ""
    min: float | int = 0  # values below are rejected (a window or member count needs ≥ 1)
    max: float | int | None = None

    def check(self, value: Any, where: str) -> float | int:
        """`value` as this parameter's type if it is a finite number in range, else ConfigError.

        >>> Parameter("income_line", 6000).check(float("nan"), "[rules] income_line")
        Traceback (most recent call last):
        ...
        fanpin_cli.errors.ConfigError: [rules] income_line 应为有限的数字，实际为 nan
        """
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ConfigError(f"{where} 应为有限的数字，实际为 {value!r}")
        if self.type == "integer" and not float(value).is_integer():
            raise ConfigError(f"{where} 应为整数，实际为 {value!r}")
        high = "" if self.max is None else f"、不大于 {self.max}"
        if value < self.min or (self.max is not None and value > self.max):
            raise ConfigError(f"{where} 应不小于 {self.min}{high}，实际为 {value!r}")
        return int(value) if self.type == "integer" else value


@dataclass(frozen=True)
class ParamRef:
    """A `$name` reference to a rule parameter inside a filter, window or threshold."""

    name: str


Number = float | int | ParamRef


@dataclass(frozen=True)
class Condition:
    """One filter over a canonical field; `any_of` holds alternatives (OR) instead."""

    field: str | None = None
    op: str | None = None
    values: tuple[str, ...] = ()
    number: Number | None = None
    empty: bool | None = None
    any_of: tuple[Condition, ...] = ()

    def fields(self) -> list[str]:
        if self.any_of:
            return [f for c in self.any_of for f in c.fields()]
        return [self.field] if self.field else []


@dataclass(frozen=True)
class Window:
    """Rows dated in (R − days, R] by `date`."""

    date: str
    days: Number


@dataclass(frozen=True)
class Exemption:
    sector: str
    where: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    level: str
    scope: str
    kind: str
    detail: str
    sectors: tuple[str, ...] = ()
    source: str = ""
    description: str = ""
    parameters: dict[str, Parameter] = field(default_factory=dict)
    enabled: bool = True
    sector: str | None = None
    where: tuple[Condition, ...] = ()
    roster_where: tuple[Condition, ...] = ()
    exempt_if_linked: tuple[Exemption, ...] = ()
    none_linked: Exemption | None = None
    window: Window | None = None
    amount: str | None = None
    min_total: Number | None = None
    min_members: Number | None = None
    status: tuple[str, ...] = ("unlinked",)
    show: tuple[str, ...] = ()
    # sector → columns the rule cannot be evaluated without; each entry a tuple of alternatives
    # (`requires: {roster: [income_per_capita, [object_type, household_type]]}`). Sectors not
    # named here need the fields of their top-level conditions (see coverage.rule_requirements).
    requires: dict[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)
    file: str = ""

    @property
    def rule_id(self) -> str:
        """Same as `id` (the name flags.csv and summary.json use)."""
        return self.id

    @property
    def primary_sector(self) -> str:
        """The sector whose evidence the rule needs (roster-only kinds: `roster`)."""
        if self.sector:
            return self.sector
        if self.none_linked is not None:
            return self.none_linked.sector
        return "roster"

    def value(self, ref: Number | None, params: dict[str, float | int]) -> float | int | None:
        """Resolve a number or `$param` reference against the effective parameters."""
        if isinstance(ref, ParamRef):
            return params[ref.name]
        return ref

    def defaults(self) -> dict[str, float | int]:
        return {name: p.default for name, p in self.parameters.items()}


class _Parser:
    """Validates one rule mapping; every error names the file and the rule id."""

    def __init__(self, data: dict, file: str) -> None:
        self.data = data
        self.file = file
        rid = data.get("id") if isinstance(data, dict) else None
        self.rid = rid if isinstance(rid, str) and rid else "（缺少 id）"
        self.params: dict[str, Parameter] = {}

    def fail(self, message: str) -> RuleFileError:
        return RuleFileError(f"规则 {self.rid}：{message}", file=self.file)

    # -- scalars -------------------------------------------------------------------------
    def text(self, key: str, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"「{key}」应为非空文字，实际为 {value!r}")
        return value.strip()

    def choice(self, key: str, value: Any, allowed: tuple[str, ...]) -> str:
        if value not in allowed:
            raise self.fail(f"「{key}」的值 {value!r} 无效（可选：{'、'.join(allowed)}）")
        return value

    def number(self, key: str, value: Any, *, integer: bool = False) -> Number:
        if isinstance(value, str) and value.startswith("$"):
            name = value[1:]
            if name not in self.params:
                raise self.fail(f"「{key}」引用了未定义的参数 {value}（已定义：{'、'.join(self.params) or '无'}）")
            return ParamRef(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(f"「{key}」应为数字或 $参数名，实际为 {value!r}")
        if integer and not float(value).is_integer():
            raise self.fail(f"「{key}」应为整数，实际为 {value!r}")
        return value

    def str_list(self, key: str, value: Any) -> tuple[str, ...]:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list) or not all(
            isinstance(v, str | int | float) and not isinstance(v, bool) for v in value
        ):
            raise self.fail(f"「{key}」应为文字列表，实际为 {value!r}")
        return tuple(str(v) for v in value)

    def check_field(self, key: str, name: Any, sector: str) -> str:
        if not isinstance(name, str):
            raise self.fail(f"「{key}」应为字段名，实际为 {name!r}")
        known = set(aliases(sector)) | {"source_file", "source_row"}
        if sector == "roster":
            known |= set(ROSTER_VIRTUAL)
        if name not in known:
            raise self.fail(f"「{key}」中的字段 {name!r} 不是「{sector}」的已知字段（可选：{'、'.join(sorted(known))}）")
        return name

    # -- structures ----------------------------------------------------------------------
    def parameters(self, value: Any) -> dict[str, Parameter]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(f"「parameters」应为映射（参数名: {{default: …}}），实际为 {value!r}")
        out: dict[str, Parameter] = {}
        for name, spec in value.items():
            where = f"parameters.{name}"
            if not isinstance(name, str) or not name.isidentifier():
                raise self.fail(f"参数名 {name!r} 无效")
            if not isinstance(spec, dict):
                raise self.fail(f"「{where}」应为映射（default/type/title/source），实际为 {spec!r}")
            unknown = sorted(set(spec) - set(PARAM_KEYS))
            if unknown:
                raise self.fail(f"「{where}」含未知字段 {'、'.join(map(str, unknown))}（可用：{'、'.join(PARAM_KEYS)}）")
            if "default" not in spec:
                raise self.fail(f"「{where}」缺少 default")
            ptype = self.choice(f"{where}.type", spec.get("type", "number"), PARAM_TYPES)
            default = spec["default"]
            if isinstance(default, bool) or not isinstance(default, int | float):
                raise self.fail(f"「{where}.default」应为数字，实际为 {default!r}")
            if ptype == "integer" and not float(default).is_integer():
                raise self.fail(f"「{where}.default」应为整数，实际为 {default!r}")
            bounds = {}
            for key in ("min", "max"):
                if key in spec:
                    bound = spec[key]
                    if isinstance(bound, bool) or not isinstance(bound, int | float) or not math.isfinite(bound):
                        raise self.fail(f"「{where}.{key}」应为有限的数字，实际为 {bound!r}")
                    bounds[key] = bound
            param = Parameter(
                name=name,
                default=int(default) if ptype == "integer" else default,
                type=ptype,
                title=str(spec.get("title", "") or ""),
                source=str(spec.get("source", "") or ""),
                **bounds,
            )
            try:
                param.check(param.default, f"「{where}.default」")
            except ConfigError as exc:
                raise self.fail(exc.message) from exc
            out[name] = param
        return out

    def conditions(self, key: str, value: Any, sector: str) -> tuple[Condition, ...]:
        if value is None:
            return ()
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            raise self.fail(f"「{key}」应为条件列表，实际为 {value!r}")
        return tuple(self.condition(f"{key}[{i}]", c, sector) for i, c in enumerate(value))

    def condition(self, key: str, value: Any, sector: str) -> Condition:
        if not isinstance(value, dict):
            raise self.fail(f"「{key}」应为条件映射（field + in/not_in/empty/lt/le/gt/ge），实际为 {value!r}")
        if "any_of" in value:
            extra = sorted(set(value) - {"any_of"})
            if extra:
                raise self.fail(f"「{key}」含未知字段 {'、'.join(map(str, extra))}（any_of 不能与其他字段并列）")
            alts = value["any_of"]
            if not isinstance(alts, list) or not alts:
                raise self.fail(f"「{key}.any_of」应为非空条件列表")
            return Condition(any_of=tuple(self.condition(f"{key}.any_of[{i}]", c, sector) for i, c in enumerate(alts)))
        unknown = sorted(set(value) - {"field", *CONDITION_OPS})
        if unknown:
            raise self.fail(f"「{key}」含未知字段 {'、'.join(map(str, unknown))}（可用：field、{'、'.join(CONDITION_OPS)}、any_of）")
        if "field" not in value:
            raise self.fail(f"「{key}」缺少 field")
        fname = self.check_field(f"{key}.field", value["field"], sector)
        ops = [op for op in CONDITION_OPS if op in value]
        if len(ops) != 1:
            raise self.fail(f"「{key}」应恰好有一个比较（{'、'.join(CONDITION_OPS)}），实际为 {ops or '无'}")
        op = ops[0]
        raw = value[op]
        if op in ("in", "not_in"):
            return Condition(field=fname, op=op, values=tuple(norm_value(v) for v in self.str_list(f"{key}.{op}", raw)))
        if op == "empty":
            if not isinstance(raw, bool):
                raise self.fail(f"「{key}.empty」应为 true 或 false，实际为 {raw!r}")
            return Condition(field=fname, op=op, empty=raw)
        return Condition(field=fname, op=op, number=self.number(f"{key}.{op}", raw))

    def exemption(self, key: str, value: Any) -> Exemption:
        if isinstance(value, str):
            value = {"sector": value}
        if not isinstance(value, dict):
            raise self.fail(f"「{key}」应为部门名或 {{sector, where}}，实际为 {value!r}")
        unknown = sorted(set(value) - {"sector", "where"})
        if unknown:
            raise self.fail(f"「{key}」含未知字段 {'、'.join(map(str, unknown))}（可用：sector、where）")
        sector = self.choice(f"{key}.sector", value.get("sector"), SECTORS[1:])
        return Exemption(sector=sector, where=self.conditions(f"{key}.where", value.get("where"), sector))

    def window(self, value: Any, sector: str) -> Window:
        if not isinstance(value, dict):
            raise self.fail(f"「window」应为 {{date: 字段, days: 天数}}，实际为 {value!r}")
        unknown = sorted(set(value) - {"date", "days"})
        if unknown:
            raise self.fail(f"「window」含未知字段 {'、'.join(map(str, unknown))}（可用：date、days）")
        if "date" not in value or "days" not in value:
            raise self.fail("「window」需要 date 和 days")
        return Window(
            date=self.check_field("window.date", value["date"], sector),
            days=self.number("window.days", value["days"], integer=True),
        )

    def requires(self, value: Any) -> dict[str, tuple[tuple[str, ...], ...]]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(f"「requires」应为 {{部门: [字段, [字段或字段]]}}，实际为 {value!r}")
        out: dict[str, tuple[tuple[str, ...], ...]] = {}
        for sector, items in value.items():
            sector = self.choice("requires", sector, SECTORS)
            if not isinstance(items, list) or not items:
                raise self.fail(f"「requires.{sector}」应为非空列表")
            out[sector] = tuple(
                tuple(self.check_field(f"requires.{sector}", f, sector) for f in (item if isinstance(item, list) else [item]))
                for item in items
            )
        return out

    def template(self, text: str, allowed: set[str]) -> str:
        try:
            parts = list(string.Formatter().parse(text))
        except ValueError as exc:
            raise self.fail(f"「detail」模板格式错误：{exc}") from exc
        for _, name, spec, conv in parts:
            if name is None:
                continue
            if spec or conv:
                raise self.fail(f"「detail」占位符 {{{name}}} 不支持格式说明")
            if name not in allowed:
                raise self.fail(f"「detail」占位符 {{{name}}} 未知（可用：{'、'.join(sorted(allowed))}）")
        return text

    # -- the rule ------------------------------------------------------------------------
    def rule(self) -> Rule:
        d = self.data
        if not isinstance(d, dict):
            raise self.fail(f"规则应为映射，实际为 {type(d).__name__}")
        for key in COMMON_REQUIRED:
            if key not in d:
                raise self.fail(f"缺少必需字段「{key}」")
        rid = self.text("id", d["id"])
        if not rid.replace("_", "").isalnum() or not rid.isascii():
            raise self.fail("「id」只能由英文字母、数字和下划线组成")
        kind = self.choice("kind", d["kind"], tuple(KINDS))
        scopes, required, optional = KINDS[kind]
        allowed = set(COMMON_REQUIRED) | set(COMMON_OPTIONAL) | set(required) | set(optional)
        unknown = sorted(set(map(str, d)) - allowed)
        if unknown:
            raise self.fail(
                f"含未知字段 {'、'.join(unknown)}（kind={kind} 可用：{'、'.join(sorted(allowed))}）"
            )
        for key in required:
            if key not in d:
                raise self.fail(f"kind={kind} 缺少必需字段「{key}」")
        self.params = self.parameters(d.get("parameters"))
        level = self.choice("level", d["level"], LEVELS)
        scope = self.choice("scope", d["scope"], scopes)
        enabled = d.get("enabled", True)
        if not isinstance(enabled, bool):
            raise self.fail(f"「enabled」应为 true 或 false，实际为 {enabled!r}")
        sector = None
        if "sector" in d:
            sector = self.choice("sector", d["sector"], SECTORS[1:])
        data_sector = sector or "roster"
        sectors = self.str_list("sectors", d["sectors"]) if "sectors" in d else ()
        for s in sectors:
            self.choice("sectors", s, SECTORS)
        none_linked = self.exemption("none_linked", d["none_linked"]) if "none_linked" in d else None
        exempt = d.get("exempt_if_linked") or []
        if not isinstance(exempt, list):
            exempt = [exempt]
        window = self.window(d["window"], data_sector) if "window" in d else None
        show_sector = data_sector if kind not in ("household_all", "roster_match") else "roster"
        show = tuple(self.check_field("show", f, show_sector) for f in self.str_list("show", d.get("show", [])))
        status = self.str_list("status", d["status"]) if "status" in d else ("unlinked",)
        for s in status:
            self.choice("status", s, MATCH_STATUSES)
        roster_based = kind in ("missing_linked", "household_all", "roster_match")
        fields_pl = set(aliases("roster" if roster_based else data_sector))
        placeholders = set(COMMON_PLACEHOLDERS) | set(KIND_PLACEHOLDERS[kind]) | set(self.params) | fields_pl
        rule = Rule(
            id=rid,
            title=self.text("title", d["title"]),
            level=level,
            scope=scope,
            kind=kind,
            detail=self.template(self.text("detail", d["detail"]), placeholders),
            sectors=sectors or tuple(s for s in (sector, none_linked.sector if none_linked else None) if s),
            source=str(d.get("source", "") or ""),
            description=str(d.get("description", "") or ""),
            parameters=self.params,
            enabled=enabled,
            sector=sector,
            where=self.conditions("where", d.get("where"), data_sector),
            roster_where=self.conditions("roster_where", d.get("roster_where"), "roster"),
            exempt_if_linked=tuple(self.exemption(f"exempt_if_linked[{i}]", e) for i, e in enumerate(exempt)),
            none_linked=none_linked,
            window=window,
            amount=self.check_field("amount", d["amount"], data_sector) if "amount" in d else None,
            min_total=self.number("min_total", d["min_total"]) if "min_total" in d else None,
            min_members=self.number("min_members", d["min_members"], integer=True) if "min_members" in d else None,
            status=status,
            show=show,
            requires=self.requires(d.get("requires")),
            file=self.file,
        )
        rule = _counted_at_least_one(rule)
        for param in rule.parameters.values():
            try:
                param.check(param.default, f"「parameters.{param.name}.default」")
            except ConfigError as exc:
                raise self.fail(exc.message) from exc
        return rule


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


def parse_rule(data: Any, file: str) -> Rule:
    """Validate one rule mapping read from `file`."""
    return _Parser(data, file).rule()


# libyaml's safe loader where PyYAML was built with it (same documents, several times faster).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_rule_file(path: Path) -> list[Rule]:
    """All rules of one YAML file (a single mapping, a list, or several `---` documents)."""
    try:
        docs = list(yaml.load_all(path.read_text(encoding="utf-8-sig"), Loader=_LOADER))
    except yaml.YAMLError as exc:
        raise RuleFileError(f"YAML 格式错误：{exc}".replace("\n", " "), file=path.name) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleFileError(f"无法读取规则文件：{exc}", file=path.name) from exc
    if all(doc is None for doc in docs):  # an empty file would silently drop its rule
        raise RuleFileError("规则文件是空的（没有任何规则）：请补全或删除该文件", file=path.name)
    rules: list[Rule] = []
    for doc in docs:
        if doc is None:
            continue
        items = doc if isinstance(doc, list) else [doc]
        rules.extend(parse_rule(item, path.name) for item in items)
    return rules


def load_rules(folder: Path | None = None) -> list[Rule]:
    """Every rule in `folder` (default: the bundled `rules/`), sorted by id.

    Files are `*.yaml` / `*.yml`; a duplicate id stops with an error naming both files.
    """
    folder = Path(folder) if folder is not None else resource_dir("rules")
    if not folder.is_dir():
        raise RuleFileError(f"找不到规则目录（{folder}）", file=str(folder))
    seen: dict[str, Rule] = {}
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in (".yaml", ".yml") and p.is_file()):
        for rule in load_rule_file(path):
            if rule.id in seen:
                raise RuleFileError(
                    f"规则 {rule.id}：id 重复（另见 {seen[rule.id].file}）", file=path.name
                )
            seen[rule.id] = rule
    return sorted(seen.values(), key=lambda r: r.id)


@functools.cache
def _bundled() -> dict[str, Rule]:
    return {r.id: r for r in load_rules()}


def bundled_rule(rule_id: str) -> Rule:
    """The bundled rule `rule_id` (rules/), loaded once: for checks that share a rule's
    definition. ``bundled_rule("MED_UNINSURED").kind == "missing_linked"``"""
    return _bundled()[rule_id]


def effective_parameters(rules: list[Rule], overrides: dict | None) -> dict[str, dict[str, float | int]]:
    """Rule id → parameter values after applying `overrides` (config `[rules]`).

    Top-level keys set that parameter in every rule that has it; a nested table keyed by a
    rule id sets parameters of that rule only (and may hold `enabled = false`); one keyed by a
    national quality check id (`quality.national`) is that check's, validated there. A key that
    names no parameter, rule or such check is a ConfigError.

    >>> rules = load_rules()
    >>> p = effective_parameters(rules, {"oop_line": 1, "MED_HIGH_OOP": {"oop_line": 20000}})
    >>> p["MED_HIGH_OOP"]["oop_line"]
    20000
    """
    from fanpin_cli.quality.national import national_parameters

    values = {r.id: r.defaults() for r in rules}
    by_id = {r.id: r for r in rules}
    overrides = dict(overrides or {})
    for key, value in overrides.items():
        if isinstance(value, dict):
            continue
        owners = [r for r in rules if key in r.parameters]
        if not owners:
            known = sorted({p for r in rules for p in r.parameters})
            raise ConfigError(f"[rules] 中的参数 {key} 不属于任何规则（可用：{'、'.join(known)}）", column=key)
        for rule in owners:
            values[rule.id][key] = _override_value(rule, key, value)
    national = national_parameters(overrides)  # [rules.<quality check id>] tables, validated there
    for key, table in overrides.items():
        if not isinstance(table, dict) or (key in national and key not in by_id):
            continue
        if key not in by_id:
            raise ConfigError(
                f"[rules.{key}] 不是已知的规则 id（可用：{'、'.join(sorted(by_id))}；"
                f"可设阈值的质量检查：{'、'.join(sorted(national))}）", column=key)
        rule = by_id[key]
        for name, value in table.items():
            if name == "enabled":
                continue
            if name not in rule.parameters:
                raise ConfigError(
                    f"[rules.{key}] 中的参数 {name} 不属于规则 {key}（可用：{'、'.join(rule.parameters) or '无'}）",
                    column=name,
                )
            values[key][name] = _override_value(rule, name, value)
    return values


def enabled_rules(rules: list[Rule], overrides: dict | None) -> list[Rule]:
    """Rules after `[rules.ID] enabled = true/false` overrides."""
    out = []
    for rule in rules:
        table = (overrides or {}).get(rule.id)
        if isinstance(table, dict) and "enabled" in table:
            if not isinstance(table["enabled"], bool):
                raise ConfigError(f"[rules.{rule.id}] enabled 应为 true 或 false", column="enabled")
            rule = replace(rule, enabled=table["enabled"])
        if rule.enabled:
            out.append(rule)
    return out


def _override_value(rule: Rule, name: str, value: Any) -> float | int:
    return rule.parameters[name].check(value, f"[rules] 参数 {name}（规则 {rule.id}）")
