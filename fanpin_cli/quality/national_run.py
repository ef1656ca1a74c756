"""Evaluate the national system's roster rules (`national.NATIONAL_CHECKS`) on a roster frame."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from ._base import issues
from .national import NATIONAL_CHECKS, Person, national_parameters


def national_issues(
    frame: pl.DataFrame, headings: dict[str, str], reference_date: date, overrides: dict[str, Any] | None = None
) -> list[pl.LazyFrame]:
    """Issue parts of every national check whose columns the roster has (and that is enabled).

    >>> f = pl.DataFrame({"source_row": [3], "labor_skill": [None], "id_birth": [date(1950, 1, 1)]})
    >>> pl.concat(national_issues(f, {}, date(2026, 11, 30))).collect()["check_id"].to_list()
    ['LABOR_MISSING']
    """
    params = national_parameters(overrides)
    cols = set(frame.columns)
    active = [c for c in NATIONAL_CHECKS if params[c.check_id]["enabled"] and set(c.needs) <= cols]
    if not active:
        return []
    work = Person.columns(frame, reference_date)  # derived once, read by every check
    person = Person()
    return [
        issues(work, c.when(person, params[c.check_id]), c.check_id, c.field, c.message(person, params[c.check_id]), headings)
        for c in active
    ]


def evaluated_national_checks(columns: set[str]) -> dict[str, list[str]]:
    """Check id → the roster fields it needs that `columns` lacks (empty: it is evaluated)."""
    return {c.check_id: [f for f in c.needs if f not in columns] for c in NATIONAL_CHECKS}
