"""Counting flags the way clerks report them: "X户Y人" per rule, and per 乡镇/村 the number
of households at each level (a household's level is its highest rule level).

Households = distinct 户编号; persons = flagged persons for person-level rules, and every
member on the roster for household-level rules. Rows that link to no roster person
(CIV_CANDIDATE) have no household: they count as persons only.

Only `confirmed` flags count in the red/yellow/blue totals; `pending_review` flags (see
`fanpin_cli.evidence`) are counted apart (`pending_households`, `pending_persons`).

Every function takes DataFrames (and gives a DataFrame) or LazyFrames (and gives the query):
`household_summary` runs both summaries as one set of queries (`pl.collect_all`), not as the
~80 small queries the steps would be one by one.
"""

from __future__ import annotations

from typing import TypeVar

import polars as pl

from fanpin_cli.flagging.model import LEVEL_RANK, LEVELS
from fanpin_cli.tables import columns_of

_RANK_LEVEL = {v: k for k, v in LEVEL_RANK.items()}
Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)


def count_text(households: pl.Expr, persons: pl.Expr) -> pl.Expr:
    """`3户7人` (or `7人` when the households are unknown)."""
    return (
        pl.when(households.is_null() | (households == 0) & (persons > 0))
        .then(persons.cast(pl.String) + pl.lit("人"))
        .otherwise(households.cast(pl.String) + pl.lit("户") + persons.cast(pl.String) + pl.lit("人"))
    )


def _members(roster: Frame, by: tuple[str, ...] = ()) -> Frame:
    row = "roster_row" if "roster_row" in columns_of(roster) else "source_row"
    return roster.select(
        *by, pl.col("household_id").cast(pl.String), pl.col(row).cast(pl.Int64).alias("roster_row")
    ).filter(pl.col("household_id").is_not_null())


def confirmed(flags: Frame) -> Frame:
    """The flags that count in the level totals (all of them when there is no status)."""
    if "evidence_status" not in columns_of(flags):
        return flags
    return flags.filter(pl.col("evidence_status").fill_null("confirmed") == "confirmed")


def pending(flags: Frame) -> Frame:
    """The flags that wait for a review item or an ID correction."""
    if "evidence_status" not in columns_of(flags):
        return flags.clear()
    return flags.filter(pl.col("evidence_status") == "pending_review")


def _counts(flags: Frame, roster: Frame, by: tuple[str, ...] = ()) -> Frame:
    """rule_id, households, persons of `flags` (per `by` group and rule)."""
    keys = [*by, "rule_id"]
    per_rule = flagged_persons(flags, roster, by).group_by(keys).agg(
        pl.col("household_id").n_unique().alias("households"),
        pl.col("roster_row").n_unique().alias("persons"),
    )
    loose = flags.filter(pl.col("household_id").is_null()).group_by(keys).agg(pl.len().alias("loose"))
    return per_rule.join(loose, on=keys, how="full", coalesce=True).select(
        *keys,
        pl.col("households").fill_null(0).cast(pl.Int64),
        (pl.col("persons").fill_null(0) + pl.col("loose").fill_null(0)).cast(pl.Int64).alias("persons"),
    )


def flagged_persons(flags: Frame, roster: Frame, by: tuple[str, ...] = ()) -> Frame:
    """(rule_id, level, household_id, roster_row) for every person a flag covers: the flagged
    person, or every roster member of a flagged household. `by`: columns of both frames that
    a flag and its household's members must share (an area: as if each area's flags and
    roster were counted alone), kept in front."""
    person = flags.filter(pl.col("roster_row").is_not_null()).select(
        *by, "rule_id", "level", "household_id", "roster_row"
    )
    household = (
        flags.filter(pl.col("roster_row").is_null() & pl.col("household_id").is_not_null())
        .select(*by, "rule_id", "level", "household_id")
        .join(_members(roster, by), on=[*by, "household_id"], how="inner")
    )
    return pl.concat([person, household.select(*by, "rule_id", "level", "household_id", "roster_row")],
                     how="vertical").unique()


def household_summary(flags: pl.DataFrame, roster: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`(rule_counts, area_counts)`: `rule_summary` and `area_summary` of the flags, computed
    together (one set of queries on polars' in-memory engine, as the steps ran one by one).

    >>> flags = pl.DataFrame({"household_id": ["H"], "township": ["镇"], "village": ["村"], "rule_id": ["R"],
    ...                       "level": ["red"], "title": ["标题"], "roster_row": [2], "evidence_status": ["confirmed"]})
    >>> roster = pl.DataFrame({"household_id": ["H", "H"], "township": ["镇"] * 2, "village": ["村"] * 2,
    ...                        "roster_row": [2, 3]})
    >>> rules, areas = household_summary(flags, roster)
    >>> rules["count_text"].to_list(), areas.select("households_red", "roster_persons").row(0)
    (['1户1人'], (1, 2))
    """
    rules, areas = pl.collect_all([rule_summary(flags.lazy(), roster.lazy()), area_summary(flags.lazy(), roster.lazy())],
                                  engine="in-memory")
    return rules, areas


def rule_summary(flags: Frame, roster: Frame, by: tuple[str, ...] = ()) -> Frame:
    """Per rule: `rule_id, title, level, households, persons, count_text` ("X户Y人") of the
    confirmed flags, and `pending_households, pending_persons` of the pending ones; ordered by
    level (red first) then rule id. Extract-only rows (no household) count as persons with
    households = 0. `by`: columns of both frames (an area) to count apart, as if each group's
    flags and roster were summarised alone; they come first in the result."""
    keys = [*by, "rule_id"]
    meta = flags.group_by(keys).agg(pl.col("title").first(), pl.col("level").first())
    pend = _counts(pending(flags), roster, by).rename({"households": "pending_households", "persons": "pending_persons"})
    return (
        meta.join(_counts(confirmed(flags), roster, by), on=keys, how="left")
        .join(pend, on=keys, how="left")
        .with_columns(pl.col(c).fill_null(0).cast(pl.Int64) for c in ("households", "persons", "pending_households", "pending_persons"))
        .with_columns(count_text(pl.col("households"), pl.col("persons")).alias("count_text"))
        .with_columns(pl.col("level").replace_strict(LEVEL_RANK, default=0).alias("_rank"))
        .sort(["_rank", "rule_id"], descending=[True, False])
        .select(*by, "rule_id", "title", "level", "households", "persons", "count_text", "pending_households",
                "pending_persons")
    )


def household_levels(flags: Frame) -> Frame:
    """One row per household with a confirmed flag: household_id, township, village, level
    (highest), rules (ids joined by 、)."""
    return (
        confirmed(flags).filter(pl.col("household_id").is_not_null())
        .with_columns(pl.col("level").replace_strict(LEVEL_RANK, default=0).alias("_rank"))
        .group_by("household_id")
        .agg(
            pl.col("township").first(),
            pl.col("village").first(),
            pl.col("_rank").max(),
            pl.col("rule_id").unique().sort().str.join("、").alias("rules"),
        )
        .with_columns(pl.col("_rank").replace_strict(_RANK_LEVEL, return_dtype=pl.String).alias("level"))
        .drop("_rank")
        .sort(["township", "village", "household_id"], nulls_last=True)
    )


def area_summary(flags: Frame, roster: Frame, by: tuple[str, ...] = ("township", "village")) -> Frame:
    """Per 乡镇/村 (or any roster place columns in `by`): `households_red`,
    `households_yellow`, `households_blue` (each household counted once, at its highest
    level), `households`, `persons` (flagged persons, see module docstring), `count_text`;
    `pending_households` (households with a pending flag only); and roster totals
    `roster_households`, `roster_persons`."""
    by = tuple(by)
    # A roster without a 乡镇/村 column still gets its totals (place unknown), never a crash.
    columns = columns_of(roster)
    roster = roster.with_columns([pl.lit(None, dtype=pl.String).alias(c) for c in by if c not in columns])
    row = "roster_row" if "roster_row" in columns else "source_row"
    places = (
        roster.select([pl.col("household_id").cast(pl.String), *[pl.col(c).cast(pl.String) for c in by]])
        .filter(pl.col("household_id").is_not_null())
        .group_by("household_id")
        .agg([pl.col(c).drop_nulls().first() for c in by])
    )
    totals = (
        roster.select(pl.col("household_id").cast(pl.String), pl.col(row))
        .join(places, on="household_id", how="left")
        .group_by(list(by))
        .agg(
            pl.col("household_id").n_unique().alias("roster_households"),
            pl.len().alias("roster_persons"),
        )
    )
    levels = household_levels(flags).select("household_id", "level").join(places, on="household_id", how="left")
    counts = levels.group_by(list(by)).agg(
        [(pl.col("level") == lv).sum().cast(pl.Int64).alias(lv) for lv in LEVELS]
        + [pl.len().cast(pl.Int64).alias("households")]
    )
    waiting = (
        pending(flags).filter(pl.col("household_id").is_not_null())
        .join(levels.select("household_id"), on="household_id", how="anti")
        .select("household_id").unique()
        .join(places, on="household_id", how="left")
        .group_by(list(by))
        .agg(pl.len().cast(pl.Int64).alias("pending_households"))
    )
    persons = (
        flagged_persons(confirmed(flags), roster)
        .join(places, on="household_id", how="left")
        .group_by(list(by))
        .agg(pl.col("roster_row").n_unique().cast(pl.Int64).alias("persons"))
    )
    out = (
        totals.join(counts, on=list(by), how="left", nulls_equal=True)
        .join(persons, on=list(by), how="left", nulls_equal=True)
        .join(waiting, on=list(by), how="left", nulls_equal=True)
        .with_columns([pl.col(c).fill_null(0) for c in (*LEVELS, "households", "persons", "pending_households")])
        .with_columns(count_text(pl.col("households"), pl.col("persons")).alias("count_text"))
        .sort(list(by), nulls_last=True)
    )
    out = out.rename({lv: f"households_{lv}" for lv in LEVELS})
    return out.select(
        *by, *[f"households_{lv}" for lv in LEVELS], "households", "persons", "count_text", "pending_households",
        pl.col("roster_households").cast(pl.Int64), pl.col("roster_persons").cast(pl.Int64),
    )
