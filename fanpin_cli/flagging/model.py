"""What a rule is: `Rule` and its parts (parameters, conditions, windows, exemptions), levels,
and the effective parameters after the config's `[rules]` overrides. Rule files are read and
checked by `loader.py`; the kinds a rule may be of are declared in `kinds.py`.

>>> from fanpin_cli.flagging import load_rules
>>> next(r for r in load_rules() if r.id == "MED_HIGH_OOP").parameters["oop_line"].default
9342
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Any

from fanpin_cli.errors import ConfigError

LEVELS: tuple[str, ...] = ("red", "yellow", "blue")
LEVEL_TITLES: dict[str, str] = {"red": "红色预警", "yellow": "黄色预警", "blue": "蓝色预警"}
LEVEL_RANK: dict[str, int] = {"red": 3, "yellow": 2, "blue": 1}
SCOPES: tuple[str, ...] = ("person", "household", "row")
PARAM_TYPES: tuple[str, ...] = ("number", "integer")

# Virtual roster fields computed by the engine.
# `age`: 周岁 at the reference date (ID birth date, else the birth-date column);
# `id_shared`: 是 when the row's usable ID is also on a roster row with another name (whose birth
# date it is cannot be told from the roster), else 否.
ROSTER_VIRTUAL: tuple[str, ...] = ("age", "id_shared")


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


def effective_parameters(rules: list[Rule], overrides: dict | None) -> dict[str, dict[str, float | int]]:
    """Rule id → parameter values after applying `overrides` (config `[rules]`).

    Top-level keys set that parameter in every rule that has it; a nested table keyed by a
    rule id sets parameters of that rule only (and may hold `enabled = false`); one keyed by a
    national quality check id (`quality.national`) is that check's, validated there. A key that
    names no parameter, rule or such check is a ConfigError.

    >>> from fanpin_cli.flagging import load_rules
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
