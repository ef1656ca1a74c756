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
    person = Person.of(frame, reference_date)
    cols = set(frame.columns)
    parts: list[pl.LazyFrame] = []
    for check in NATIONAL_CHECKS:
        k = params[check.check_id]
        if not k["enabled"] or not set(check.needs) <= cols:
            continue
        parts.append(issues(frame, check.when(person, k), check.check_id, check.field, check.message(person, k), headings))
    return parts


def evaluated_national_checks(columns: set[str]) -> dict[str, list[str]]:
    """Check id → the roster fields it needs that `columns` lacks (empty: it is evaluated)."""
    return {c.check_id: [f for f in c.needs if f not in columns] for c in NATIONAL_CHECKS}
