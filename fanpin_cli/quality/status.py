"""Whether each quality check could be evaluated on the inputs given (summary `quality.by_check`).

A check is `evaluated` when at least one file it applies to has data rows and the columns it
reads; otherwise `not_evaluated` with a Chinese reason (`未提供…文件`, `…没有数据行`,
`…缺少「劳动技能」列`). Cross checks also need the other sector's file with data rows.

>>> from fanpin_cli.coverage import Available
>>> roster = Available("roster", "r.xlsx", 5, frozenset({"household_id", "name", "id_number", "relation"}))
>>> s = check_statuses([roster])
>>> s["HH_NO_HEAD"].status, s["AGE_LABOR_CONFLICT"].reason
('evaluated', '花名册缺少「劳动技能」列')
>>> s["INSURED_CONFLICT"].reason
'花名册缺少「是否参加城乡居民基本医疗保险」列'
"""

from __future__ import annotations

from fanpin_cli.coverage import (
    EVALUATED,
    NOT_EVALUATED,
    Available,
    Requirement,
    Status,
    combine,
    judge,
)
from fanpin_cli.fields import aliases

from .catalogue import CHECKS
from .national import NATIONAL_CHECKS

_AMOUNTS: Requirement = ("income_per_capita", "monthly_amount", "total_cost", "fund_paid", "out_of_pocket")
_DATES: Requirement = ("birth_date", "aid_date", "settle_date", "assess_date", "dereg_date")
_HH = ("household_id",)

# check_id → (sector or "*" for the file being checked, requirements). Checks not listed need
# only the file itself (ID and name checks read columns every sector must have).
CHECK_NEEDS: dict[str, list[tuple[str, list[Requirement]]]] = {
    "SEX_ID_CONFLICT": [("*", [("sex",)])],
    "BIRTH_ID_CONFLICT": [("*", [("birth_date",)])],
    "AMOUNT_INVALID": [("*", [_AMOUNTS])],
    "DATE_INVALID": [("*", [_DATES])],
    "DATE_IN_FUTURE": [("*", [_DATES])],
    "REL_SEX_CONFLICT": [("roster", [("relation",)])],
    "AGE_LABOR_CONFLICT": [("roster", [("labor_skill",)])],
    "HH_NO_HEAD": [("roster", [_HH, ("relation",)])],
    "HH_MULTI_HEAD": [("roster", [_HH, ("relation",)])],
    "HH_SIZE_MISMATCH": [("roster", [_HH, ("household_size",)])],
    "HH_SIZE_INVALID": [("roster", [("household_size",)])],
    "HH_ID_FORMAT": [("roster", [_HH])],
    "HH_HEAD_SPOUSE_SAME_SEX": [("roster", [_HH, ("relation",)])],
    "SPOUSE_UNDERAGE": [("roster", [_HH, ("relation",)])],
    "HEAD_UNDERAGE": [("roster", [_HH, ("relation",)])],
    "REL_AGE_CONFLICT": [("roster", [_HH, ("relation",)])],
    "INCOME_OUTLIER": [("roster", [("income_per_capita",)])],
    "HH_PLACE_MIXED": [("roster", [_HH, ("township",), ("village",)])],
    "HH_ATTR_MIXED": [("roster", [_HH, ("object_type", "risk_eliminated", "income_per_capita")])],
    "RISK_ELIM_NO_LABOR": [("roster", [_HH, ("risk_eliminated",), ("labor_skill",)])],
    "YEAR_INVALID": [("medical_enrollment", [("enroll_year",)])],
    "ENROLL_YEAR_STALE": [("medical_enrollment", [("enroll_year",)])],
    "PAYMENT_EXCEEDS_TOTAL": [("medical_claims", [("total_cost",), ("out_of_pocket",)])],
    "DISABILITY_CERT_MISMATCH": [("disability", [("id_number",)])],
    "INSURED_CONFLICT": [("roster", [("insured",)]), ("medical_enrollment", [("enroll_status",)])],
    "DECEASED_LISTED": [("roster", []), ("police", [("dereg_reason",)])],
    "DEREG_LISTED": [("roster", []), ("police", [("dereg_reason",)])],
    "HEALTH_DISABILITY_CONFLICT": [("roster", [("health",)]), ("disability", [])],
    "SCHOOL_STATUS_CONFLICT": [("roster", [("school_status",)]), ("education", [("roll_status",)])],
}
# The national system's roster rules declare the columns they read (quality/national.py).
CHECK_NEEDS.update({c.check_id: [("roster", [(f,) for f in c.needs])] for c in NATIONAL_CHECKS})


def check_requirements(sector: str) -> list[tuple[str, list[Requirement]]]:
    """(sector, requirements) pairs of every check that reads a `sector` file's columns."""
    out = []
    for check in CHECKS:
        for target, reqs in CHECK_NEEDS.get(check.check_id, []):
            if target == sector or (target == "*" and _applies(check.scope, sector)):
                out.append((sector, reqs))
    return out


def _applies(scope: str, sector: str) -> bool:
    return scope in ("all", "cross") or (scope == "roster") == (sector == "roster")


def applies_to(check_id: str, scope: str, sector: str) -> bool:
    """Whether a check reads a `sector` file at all (its needs name the sector, or a generic
    need the sector can meet, or — without needs — its scope covers the sector)."""
    needs = CHECK_NEEDS.get(check_id)
    if not needs:
        return _applies(scope, sector) and scope != "cross"
    for target, reqs in needs:
        if target == sector:
            return True
        if target == "*" and _applies(scope, sector) and _sector_reqs(reqs, sector) is not None:
            return True
    return False


def _sector_reqs(reqs: list[Requirement], sector: str) -> list[Requirement] | None:
    """Generic requirements narrowed to the fields `sector` files can have; None when one of
    them names no field of the sector (the check does not apply to it)."""
    own = set(aliases(sector))
    out = []
    for req in reqs:
        narrowed = tuple(f for f in req if f in own)
        if not narrowed:
            return None
        out.append(narrowed)
    return out


def check_status(check_id: str, scope: str, inputs: list[Available]) -> Status | None:
    """One check's status (see module doc); None when no input is of a kind it applies to."""
    needs = CHECK_NEEDS.get(check_id)
    if scope == "cross" and not needs:  # NAME_ID_CONFLICT: any extract with rows
        extracts = [a for a in inputs if a.sector != "roster"]
        if not extracts:
            return Status(NOT_EVALUATED, "未提供行业部门文件")
        if not any(a.rows for a in extracts):
            return Status(NOT_EVALUATED, "行业部门文件都没有数据行")
        return Status()
    if needs and all(target != "*" for target, _ in needs):
        return combine(*(judge(target, reqs, inputs) for target, reqs in needs))
    generic = [r for target, rs in (needs or []) if target == "*" for r in rs]
    present = dict.fromkeys(a.sector for a in inputs)
    results = []
    for sector in present:
        if not _applies(scope, sector):
            continue
        reqs = _sector_reqs(generic, sector)
        if reqs is not None:
            results.append(judge(sector, reqs, inputs))
    if not results:
        return None
    for result in results:
        if result.evaluated:
            return result
    return results[0] if len(results) == 1 else Status(NOT_EVALUATED, "；".join(r.reason for r in results))


def check_statuses(inputs: list[Available], overrides: dict | None = None) -> dict[str, Status]:
    """check_id → Status for every catalogue check that applies to the inputs' kinds; a
    national check switched off in the config (`[rules.<id>] enabled = false`) is not evaluated.

    >>> roster = Available("roster", "r.xlsx", 5, frozenset({"household_id", "id_number", "labor_skill"}))
    >>> check_statuses([roster], {"ELDERLY_LABOR": {"enabled": False}})["ELDERLY_LABOR"].reason
    '已在配置中停用（[rules.ELDERLY_LABOR] enabled = false）'
    """
    from .national import national_parameters

    params = national_parameters(overrides)
    out = {}
    for check in CHECKS:
        status = check_status(check.check_id, check.scope, inputs)
        if status is None:
            continue
        if not params.get(check.check_id, {}).get("enabled", True):
            status = Status(NOT_EVALUATED, f"已在配置中停用（[rules.{check.check_id}] enabled = false）")
        out[check.check_id] = status
    return out


def with_statuses(by_check: dict[str, dict], statuses: dict[str, Status]) -> dict[str, dict]:
    """`quality.by_check` with every catalogue check: counts where it found issues, zeros where
    it found none, and `status`/`reason` on each.

    >>> with_statuses({}, {"X": Status(NOT_EVALUATED, "未提供公安户籍注销文件")})["X"]["status"]
    'not_evaluated'
    """
    from .catalogue import CHECK_INDEX

    out: dict[str, dict] = {}
    for check_id in sorted(set(by_check) | set(statuses)):
        spec = CHECK_INDEX.get(check_id)
        entry = dict(by_check.get(check_id) or {
            "title": spec.title if spec else "", "dimension": spec.dimension if spec else "",
            "severity": spec.severity if spec else "", "issues": 0, "households": 0, "persons": 0,
        })
        status = statuses.get(check_id, Status())
        if check_id in by_check and not status.evaluated:  # it ran on some file after all
            status = Status(EVALUATED, note=status.reason)
        entry.update(status.as_dict())
        out[check_id] = entry
    return out
