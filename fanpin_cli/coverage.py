"""What the inputs cover: each heading's field, the fields a sector's checks and rules need,
and whether each rule and quality check could be evaluated (never silent).

A rule or check is `not_evaluated` — and writes nothing — when the file it needs was not
supplied, has no data rows, or lacks a column it reads; the reason is one Chinese sentence.

>>> roster = Available("roster", "花名册.xlsx", 3, frozenset({"household_id", "name", "id_number", "object_type"}))
>>> enrol = Available("medical_enrollment", "参保.csv", 0, frozenset({"name", "id_number", "enroll_status"}))
>>> from fanpin_cli.flagging import load_rules
>>> s = rule_statuses(load_rules(), [roster, enrol])
>>> s["MED_UNINSURED"].status, s["MED_UNINSURED"].reason
('not_evaluated', '医保参保登记文件（参保.csv）没有数据行')
>>> s["INC_BELOW_LINE"].reason
'花名册缺少「人均纯收入（元）」列'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fanpin_cli.fields import FIELD_TITLES, SECTOR_TITLES

EVALUATED, NOT_EVALUATED = "evaluated", "not_evaluated"
# Columns a loaded frame carries that are not headings of the file.
_INTERNAL = frozenset({"source_file", "source_row", "id_number_cell", "record_key"})
# Fields every stage derives when a file lacks them (never a reason to skip).
_VIRTUAL = frozenset({"age", "id_shared", "source_file", "source_row"})


@dataclass(frozen=True)
class Available:
    """One input as coverage sees it: its sector, file name, data rows and canonical fields."""

    sector: str
    file: str
    rows: int
    fields: frozenset[str]
    # date columns that hold values none of which reads as a date: a rule's window over them
    # would find nothing ("0户0人"), so the rule is not evaluated (see `unreadable_dates`)
    unreadable: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Status:
    """`evaluated` or `not_evaluated` with a Chinese reason; `note` qualifies an evaluated one."""

    status: str = EVALUATED
    reason: str = ""
    note: str = ""

    @property
    def evaluated(self) -> bool:
        return self.status == EVALUATED

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status}
        if self.reason:
            out["reason"] = self.reason
        if self.note:
            out["note"] = self.note
        return out


# Alternatives: a requirement is met when the file has any one of its fields.
Requirement = tuple[str, ...]


def available(loaded: Any, prepared: Any = None) -> Available:
    """`Available` of a `loaders.LoadedFile`; with its `prepared` frame (dates parsed), the date
    columns none of whose values could be read are known too."""
    return Available(loaded.sector, loaded.source_file, loaded.rows_read, frozenset(loaded.frame.columns),
                     unreadable_dates(prepared) if prepared is not None else frozenset())


def unreadable_dates(frame: Any) -> frozenset[str]:
    """The date fields of a prepared frame that hold values but not one readable date (every
    cell a format no parser knows: a rule's date window over them would find no one).

    >>> import polars as pl
    >>> f = pl.DataFrame({"settle_date": ["x", "y"], "settle_date_parsed": [None, None],
    ...                   "aid_date": ["2026-01-02", None]}).with_columns(
    ...     pl.col("settle_date_parsed").cast(pl.Date), pl.col("aid_date").str.to_date().alias("aid_date_parsed"))
    >>> sorted(unreadable_dates(f))
    ['settle_date']
    """
    import polars as pl

    from fanpin_cli.values import DATE_FIELDS, parsed_date_name

    pairs = [(f, parsed_date_name(f)) for f in DATE_FIELDS if f in frame.columns and parsed_date_name(f) in frame.columns]
    if not pairs or frame.height == 0:
        return frozenset()
    counts = frame.select([pl.col(c).is_not_null().any().alias(f"{i}{k}") for i, pair in enumerate(pairs)
                           for k, c in enumerate(pair)]).row(0)
    return frozenset(f for i, (f, _) in enumerate(pairs) if counts[2 * i] and not counts[2 * i + 1])


def available_frames(roster: Any, evidence: dict[str, Any]) -> list[Available]:
    """`Available` from frames (roster + evidence by sector) when no LoadedFile is at hand."""
    out = [Available("roster", "", roster.height, frozenset(roster.columns))]
    out += [Available(sector, "", frame.height, frozenset(frame.columns)) for sector, frame in evidence.items()]
    return out


def input_columns(loaded: Any) -> dict[str, str | None]:
    """Each heading of the file (in file order) → its canonical field, or None when unmapped.

    >>> import polars as pl
    >>> class L: frame = pl.DataFrame(schema=["source_file", "source_row", "序号", "name"]); headings = {"name": "姓名"}
    >>> input_columns(L())
    {'序号': None, '姓名': 'name'}
    """
    headings: dict[str, str] = dict(loaded.headings)
    out: dict[str, str | None] = {}
    for column in loaded.frame.columns:
        if column in _INTERNAL or column.startswith("_"):
            continue
        if column in headings:
            out[headings[column]] = column
        elif column not in FIELD_TITLES:
            out[column] = None
    return out


def _title(field: str) -> str:
    return FIELD_TITLES.get(field, field)


def _missing(reqs: Iterable[Requirement], fields: frozenset[str]) -> list[Requirement]:
    return [r for r in reqs if r and not any(f in fields or f in _VIRTUAL for f in r)]


def missing_text(reqs: list[Requirement]) -> str:
    """`「参保状态」` or `「监测对象类别」或「风险是否已消除」`, joined by `、`."""
    return "、".join("或".join(f"「{_title(f)}」" for f in r) for r in reqs)


def judge(sector: str, reqs: list[Requirement], inputs: list[Available], *, optional: bool = False) -> Status:
    """Whether `sector`'s inputs can serve a rule or check needing `reqs` (see module doc)."""
    title = "花名册" if sector == "roster" else SECTOR_TITLES.get(sector, sector)
    files = [a for a in inputs if a.sector == sector]
    if not files:
        return Status(NOT_EVALUATED, f"未提供{title}文件")
    names = "、".join(a.file for a in files if a.file)
    where = f"{title}文件（{names}）" if names else f"{title}文件"
    if sum(a.rows for a in files) == 0:
        return Status(NOT_EVALUATED, f"{where}没有数据行")
    fields = frozenset().union(*(a.fields for a in files))
    lacking = _missing(reqs, fields)
    if lacking:
        return Status(NOT_EVALUATED, f"{'花名册' if sector == 'roster' else where}缺少{missing_text(lacking)}列")
    readable = frozenset().union(*(a.fields - a.unreadable for a in files))
    unread = _missing(reqs, readable)
    if unread:
        return Status(NOT_EVALUATED, f"{'花名册' if sector == 'roster' else where}的{missing_text(unread)}列"
                      "没有一个能识别的日期（见数据质量 DATE_INVALID）")
    return Status()


def combine(*parts: Status) -> Status:
    """The first not-evaluated part, else evaluated with every part's note."""
    for part in parts:
        if not part.evaluated:
            return part
    notes = "；".join(p.note for p in parts if p.note)
    return Status(note=notes)


# ---- rules ------------------------------------------------------------------------------------


def _condition_reqs(conditions: Iterable[Any]) -> list[Requirement]:
    """Top-level conditions need their field. An any_of group needs nothing by default (a
    missing column reads as empty, which some alternatives accept): a rule names what it
    cannot do without in `requires`."""
    return [(c.field,) for c in conditions if not c.any_of and c.field and c.field not in _VIRTUAL]


def rule_requirements(rule: Any) -> dict[str, list[Requirement]]:
    """Sector → requirements a rule's evaluation depends on (not its exemptions)."""
    needs: dict[str, list[Requirement]] = {"roster": _condition_reqs(rule.roster_where)}
    if rule.sector:
        data = _condition_reqs(rule.where)
        if rule.window is not None:
            data.append((rule.window.date,))
        if rule.amount:
            data.append((rule.amount,))
        needs[rule.sector] = data
    if rule.none_linked is not None:
        needs.setdefault(rule.none_linked.sector, []).extend(_condition_reqs(rule.none_linked.where))
    for sector, reqs in getattr(rule, "requires", {}).items():
        needs[sector] = list(reqs)
    return needs


def rule_status(rule: Any, inputs: list[Available], *, enabled: bool = True) -> Status:
    """One rule's status against the inputs (see module doc)."""
    if not enabled:
        return Status(NOT_EVALUATED, f"已在配置中停用（[rules.{rule.id}] enabled = false）")
    needs = rule_requirements(rule)
    parts = [judge(sector, reqs, inputs) for sector, reqs in needs.items() if sector != "roster"]
    parts.insert(0, judge("roster", needs["roster"], inputs))
    notes = []
    for exemption in rule.exempt_if_linked:
        status = judge(exemption.sector, _condition_reqs(exemption.where), inputs)
        if not status.evaluated:
            notes.append(f"{status.reason}，无法排除其中的人员")
    return combine(*parts, Status(note="；".join(notes)))


def rule_statuses(rules: list[Any], inputs: list[Available], overrides: dict | None = None) -> dict[str, Status]:
    """Rule id → Status, for every rule (disabled ones are `not_evaluated`)."""
    overrides = overrides or {}
    out = {}
    for rule in rules:
        table = overrides.get(rule.id)
        enabled = table.get("enabled", rule.enabled) if isinstance(table, dict) else rule.enabled
        out[rule.id] = rule_status(rule, inputs, enabled=bool(enabled))
    return out


def not_evaluated_text(status: Status) -> str:
    """`未评估（原因）`: what the console and workbook show instead of `0户0人`."""
    return f"未评估（{status.reason}）"


# ---- what a sector's file should have -------------------------------------------------------


def sector_requirements(sector: str, rules: list[Any]) -> list[Requirement]:
    """Requirements that `sector`'s own rules and checks put on its file (alternatives kept)."""
    from fanpin_cli.quality.status import CHECK_NEEDS

    reqs: list[Requirement] = []
    for rule in rules:
        reqs += rule_requirements(rule).get(sector, [])
    for needs in CHECK_NEEDS.values():
        reqs += [r for target, rs in needs if target == sector for r in rs]
    return list(dict.fromkeys(reqs))


def needed_fields(sector: str, rules: list[Any]) -> list[str]:
    """Fields `sector`'s rules and checks read, in a stable order.

    >>> from fanpin_cli.flagging import load_rules
    >>> "enroll_status" in needed_fields("medical_enrollment", load_rules())
    True
    """
    return [f for f in dict.fromkeys(f for r in sector_requirements(sector, rules) for f in r) if f not in _VIRTUAL]


def missing_fields(loaded: Any, rules: list[Any]) -> list[str]:
    """Fields the sector's checks and rules use that the file lacks (canonical names): every
    field of a requirement the file cannot meet (an alternative it has meets it)."""
    have = frozenset(loaded.frame.columns)
    lacking = _missing(sector_requirements(loaded.sector, rules), have)
    return [f for f in dict.fromkeys(f for r in lacking for f in r) if f not in have]


def input_coverage(loaded: Any, rules: list[Any]) -> dict[str, Any]:
    """The summary.json keys of one input: `columns` and `missing_fields`."""
    return {"columns": input_columns(loaded), "missing_fields": missing_fields(loaded, rules)}


# ---- summary.json ------------------------------------------------------------------------------


def annotate_rule_entries(entries: list[dict[str, Any]], statuses: dict[str, Status]) -> list[dict[str, Any]]:
    """summary `rules[]` with `status` (+ `reason`/`note`); a rule not evaluated has no counts
    (null, not 0) and its `text` is `未评估（原因）`."""
    for entry in entries:
        status = statuses.get(entry["rule_id"], Status())
        entry.update(status.as_dict())
        if not status.evaluated:
            entry.update(households=None, persons=None, text=not_evaluated_text(status))
    return entries


def not_evaluated(summary: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(kind, id, reason) of every rule and check a run could not evaluate (for the console/log)."""
    out = [("规则", r["rule_id"], r.get("reason", "")) for r in summary.get("rules", [])
           if r.get("status") == NOT_EVALUATED]
    checks = (summary.get("quality") or {}).get("by_check") or {}
    out += [("检查", cid, c.get("reason", "")) for cid, c in checks.items() if c.get("status") == NOT_EVALUATED]
    return out
