"""Consecutive months of one synthetic county, for the monthly loop's tests and benchmarks.

Month 1 is `generate_county`; each later month moves the reference date to the next month's
end, re-exports every department file in another order, and scripts known changes: persons
whose 医保 enrollment becomes active (MED_UNINSURED resolved), uninsured persons whose 暂停参保
and 终止参保 swap (same flag, changed evidence), persons whose enrollment ends (a new
MED_UNINSURED), C/D-grade houses renovated (HOUSE_UNSAFE resolved). Each month folder
has its own files, fanpin.toml and ground truth, plus `ground_truth/changes.csv` (the scripted
changes), `status_truth.csv` (every true flag with 新增/持续/复发) and `resolved_truth.csv`.
`fanpin-<YYYY-MM>.toml` in the parent folder runs that month with the key (fanpin.key) and
history (fanpin-history.duckdb) all months share there.

>>> import tempfile
>>> from pathlib import Path
>>> r = generate_months(40, 3, Path(tempfile.mkdtemp()), 2)
>>> [m.out_dir.name for m in r]
['2026-11', '2026-12']
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from . import SynthResult, build_county, truth, write_county
from .population import KIND_ROSTER

FLAG_KEY = ["rule_id", "household_id", "roster_row"]


def month_end_after(day: date) -> date:
    """The last day of the month after `day`'s month.

    >>> month_end_after(date(2026, 11, 30)), month_end_after(date(2026, 12, 31))
    (datetime.date(2026, 12, 31), datetime.date(2027, 1, 31))
    """
    first_next = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    return (first_next + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def _set(ex, rows: np.ndarray, heading: str, meta: str, value: str) -> None:  # noqa: ANN001
    for arr in (ex.columns[heading], ex.meta[meta]):
        arr[rows] = value


def _script_changes(state, rng: np.random.Generator, n: int, period: str, before: set[int]) -> list[dict]:  # noqa: ANN001
    """Apply this month's scripted changes to the extracts; return them (for changes.csv).
    Persons changed in an earlier month (`before`) are left alone, so each change stands out."""
    c = state.c
    p = c.people
    roster_person = p.kind == KIND_ROSTER
    hid = c.households.hid
    enr, pol, hou = state.exs["medical_enrollment"], state.exs["police"], state.exs["housing"]
    in_police = np.zeros(p.n, bool)
    in_police[pol.person] = True
    clean = enr.faults == ""
    active_row = np.isin(enr.meta["status"], truth.ACTIVE_ENROLL)
    n_rows = np.bincount(enr.person, minlength=p.n)
    n_active = np.bincount(enr.person[active_row], minlength=p.n)
    n_clean = np.bincount(enr.person[clean], minlength=p.n)
    eligible = roster_person & ~in_police & (n_rows > 0) & (n_clean == n_rows)
    eligible[list(before)] = False
    changes: list[dict] = []

    def note(person: int, sector: str, change: str, rule: str, effect: str) -> None:
        changes.append({"period": period, "sector": sector, "true_person": int(person),
                        "household_id": str(hid[p.hh[person]]), "change": change, "rule_id": rule, "effect": effect})

    half = max(1, n // 2)
    # Still uninsured, but the enrollment rows say something else now (暂停参保 ↔ 终止参保): the
    # flag's evidence changed.
    changed = np.flatnonzero(eligible & (n_active == 0))
    for person in rng.choice(changed, min(half, changed.size), replace=False).tolist():
        rows = np.flatnonzero(enr.person == person)
        for row in rows.tolist():
            other = "终止参保" if enr.meta["status"][row] == "暂停参保" else "暂停参保"
            _set(enr, np.array([row]), "参保状态", "status", other)
        note(person, "medical_enrollment", "参保状态变化（仍未参保）", "MED_UNINSURED", "evidence_changed")
    resolve = np.setdiff1d(np.flatnonzero(eligible & (n_active == 0)), [c["true_person"] for c in changes])
    for person in rng.choice(resolve, min(half, resolve.size), replace=False).tolist():
        _set(enr, np.flatnonzero(enr.person == person), "参保状态", "status", "参保缴费")
        note(person, "medical_enrollment", "补缴参保", "MED_UNINSURED", "resolved")
    start = np.flatnonzero(eligible & (n_active == n_rows))
    for person in rng.choice(start, min(n, start.size), replace=False).tolist():
        _set(enr, np.flatnonzero(enr.person == person), "参保状态", "status", "终止参保")
        note(person, "medical_enrollment", "终止参保", "MED_UNINSURED", "new")
    fresh = np.ones(p.n, bool)
    fresh[list(before)] = False
    unsafe = (np.isin(hou.meta["grade"], ("C级", "D级")) & (hou.meta["renovation"] != "已改造")
              & roster_person[hou.person] & (hou.faults == "") & fresh[hou.person])
    rows = np.flatnonzero(unsafe)
    for row in rng.choice(rows, min(max(1, n // 2), rows.size), replace=False).tolist():
        _set(hou, np.array([row]), "改造情况", "renovation", "已改造")
        note(int(hou.person[row]), "housing", "危房已改造", "HOUSE_UNSAFE", "resolved_if_only_house")
    return changes


def _parent_config(month_config: Path, target: Path, period: str) -> None:
    """The month's config in the parent folder (paths into the month's folder): every month
    then shares one config folder, hence one key file and one history file beside it."""
    text = re.sub(r'^path = "', f'path = "{period}/', month_config.read_text(encoding="utf-8"), flags=re.M)
    target.write_text(text, encoding="utf-8")


def _reexport(state, rng: np.random.Generator) -> None:  # noqa: ANN001
    """Every department file in another row order (numbered 序号 afresh), as a new export is."""
    for ex in state.exs.values():
        order = rng.permutation(ex.n)
        ex.reorder(order)
        if ex.faults.size == order.size:
            ex.faults = ex.faults[order]
        if "序号" in ex.columns and ex.columns["序号"] is not None:
            ex.columns["序号"] = np.arange(1, ex.n + 1).astype(str).astype(object)


def _statuses(months: list[pl.DataFrame], periods: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Status of each true flag of the last month (新增/持续/复发) and the previous month's true
    flags that no longer fire."""
    now = months[-1].select(FLAG_KEY).unique()
    if len(months) == 1:
        return now.with_columns(pl.lit("新增").alias("status"), pl.lit(periods[-1]).alias("first_flagged")), \
            now.clear()
    prev = months[-2].select(FLAG_KEY).unique()
    seen = pl.concat([m.select(FLAG_KEY).unique().with_columns(pl.lit(p).alias("period"))
                      for m, p in zip(months[:-1], periods[:-1], strict=True)])
    first = seen.group_by(FLAG_KEY).agg(pl.col("period").min().alias("first_flagged"))
    status = (
        now.join(prev.with_columns(pl.lit(True).alias("_p")), on=FLAG_KEY, how="left", nulls_equal=True)
        .join(first, on=FLAG_KEY, how="left", nulls_equal=True)
        .with_columns(
            pl.when(pl.col("_p")).then(pl.lit("持续")).when(pl.col("first_flagged").is_not_null())
            .then(pl.lit("复发")).otherwise(pl.lit("新增")).alias("status"),
            pl.col("first_flagged").fill_null(periods[-1]),
        ).drop("_p")
    )
    resolved = prev.join(now, on=FLAG_KEY, how="anti", nulls_equal=True)
    return status.sort(FLAG_KEY, nulls_last=True), resolved.sort(FLAG_KEY, nulls_last=True)


def generate_months(
    households: int,
    seed: int,
    out_dir: Path,
    months: int,
    *,
    reference_date: date = date(2026, 11, 30),
    county: str = "永顺县",
    changes: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[SynthResult]:
    """Write `months` consecutive months of one county into `out_dir/<YYYY-MM>/`."""
    if months < 1:
        raise ValueError("months must be at least 1")
    say = progress or (lambda _msg: None)
    out_dir = Path(out_dir)
    state = build_county(households, seed, reference_date=reference_date, county=county, progress=say)
    n = changes if changes is not None else max(2, households // 50)
    results: list[SynthResult] = []
    truths: list[pl.DataFrame] = []
    periods: list[str] = []
    changed_before: set[int] = set()
    for k in range(months):
        period = f"{state.reference_date:%Y-%m}"
        scripted: list[dict] = []
        if k:
            rng = np.random.default_rng([seed, k])
            state.reference_date = month_end_after(state.reference_date)
            period = f"{state.reference_date:%Y-%m}"
            scripted = _script_changes(state, rng, n, period, changed_before)
            changed_before |= {c["true_person"] for c in scripted}
            _reexport(state, rng)
        say(f"写出 {period}")
        month_dir = out_dir / period
        result = write_county(state, month_dir)
        _parent_config(result.config_path, out_dir / f"fanpin-{period}.toml", period)
        results.append(result)
        gt = month_dir / "ground_truth"
        flags = pl.read_csv(gt / "flags_truth.csv", infer_schema_length=0).with_columns(pl.col("roster_row").cast(pl.Int64))
        truths.append(flags)
        periods.append(period)
        status, resolved = _statuses(truths, periods)
        status.write_csv(gt / "status_truth.csv")
        resolved.write_csv(gt / "resolved_truth.csv")
        roster_row = np.zeros(state.c.people.n, dtype=np.int64)
        roster_row[state.roster.person] = state.roster.source_row
        keys = truth.person_keys(state.c.people.n)
        frame = pl.DataFrame(scripted, schema={"period": pl.String, "sector": pl.String, "true_person": pl.Int64,
                                               "household_id": pl.String, "change": pl.String, "rule_id": pl.String,
                                               "effect": pl.String})
        who = frame["true_person"].to_numpy()
        frame.with_columns(
            keys.gather(who).alias("true_person_key"), pl.Series("roster_row", roster_row[who], dtype=pl.Int64),
        ).drop("true_person").write_csv(gt / "changes.csv")
    return results
