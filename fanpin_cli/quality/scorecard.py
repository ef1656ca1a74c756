"""Scorecards per 乡镇 and 村: issue counts and rates per dimension and an overall grade.

Rows counted for a village: its roster rows plus the extract rows linked to its people (an
extract row that is not linked counts under its own 乡镇/村 columns if it has them, else under
"（未关联）"). The grade is the share of those rows without an error-severity issue:
优 ≥ 95%, 良 ≥ 80%, 中 ≥ 60%, else 差.
"""

from __future__ import annotations

import polars as pl

from fanpin_cli.rows import named_rows, row_keys_of
from fanpin_cli.tables import C

from ._base import col_or_null
from .catalogue import DIMENSIONS

UNATTRIBUTED = "（未关联）"
GRADES: tuple[tuple[float, str], ...] = ((0.95, "优"), (0.80, "良"), (0.60, "中"))


def grade(rate: pl.Expr) -> pl.Expr:
    """优/良/中/差 of a clean-row share."""
    out = pl.lit("差")
    for threshold, name in reversed(GRADES):
        out = pl.when(rate >= threshold).then(pl.lit(name)).otherwise(out)
    return out


def row_places(roster: pl.DataFrame, evidence: dict[str, pl.DataFrame] | None = None,
               rows: pl.DataFrame | None = None) -> pl.DataFrame:
    """Every row of the roster and the extracts with its household_id, township and village
    (an extract row linked to a roster person takes the person's; `rows`: only the rows it
    names by `source_file`, `source_row`, e.g. those with an issue, in the frames' order).

    >>> roster = pl.DataFrame({"source_file": ["r"] * 2, "source_row": [2, 3], "household_id": ["H1", "H2"],
    ...                        "township": ["镇"] * 2, "village": ["甲", "乙"]})
    >>> ev = pl.DataFrame({"source_file": ["e", "e"], "source_row": [2, 3], "roster_row": [3, None],
    ...                    "match_status": ["linked", "unlinked"], "village": ["丙", "丁"]})
    >>> row_places(roster, {"x": ev}, rows=pl.DataFrame({"source_file": ["e"], "source_row": [2]})).rows()
    [('e', 2, 'H2', '镇', '乙')]
    """
    keys = None
    if rows is not None:
        keys = row_keys_of(rows)

    def only(frame: pl.LazyFrame) -> pl.LazyFrame:
        return frame if keys is None else named_rows(frame, keys)

    # One query for every frame (collected once, on polars' in-memory engine as an eager step):
    # the steps of each frame are small, their fixed cost per query was most of the time.
    base = _roster_places(roster)
    frames = [only(base)]
    places = base.select(
        pl.col("source_row").alias(C.roster_row), pl.col("household_id").alias("__h"),
        pl.col("township").alias("__t"), pl.col("village").alias("__v"),
    )
    for frame in (evidence or {}).values():
        linked = (col_or_null(frame, C.match_status) == "linked").fill_null(False)
        ev = only(frame.lazy().select(
            pl.col("source_file").cast(pl.String), pl.col("source_row").cast(pl.Int64),
            pl.when(linked).then(col_or_null(frame, C.roster_row, pl.Int64).cast(pl.Int64)).alias(C.roster_row),
            col_or_null(frame, "township").alias("__own_t"), col_or_null(frame, "village").alias("__own_v"),
        )).join(places, on=C.roster_row, how="left", maintain_order="left")
        frames.append(ev.select(
            "source_file", "source_row", pl.col("__h").alias("household_id"),
            pl.when(pl.col(C.roster_row).is_not_null()).then(pl.col("__t")).otherwise(pl.col("__own_t")).alias("township"),
            pl.when(pl.col(C.roster_row).is_not_null()).then(pl.col("__v")).otherwise(pl.col("__own_v")).alias("village"),
        ))
    return first_per_row(pl.concat(frames, how="vertical_relaxed").collect(engine="in-memory"))


def _roster_places(roster: pl.DataFrame) -> pl.LazyFrame:
    """The roster's rows with their place: a step of a query."""
    return roster.lazy().select(
        pl.col("source_file").cast(pl.String), pl.col("source_row").cast(pl.Int64),
        col_or_null(roster, "household_id").alias("household_id"),
        col_or_null(roster, "township").alias("township"), col_or_null(roster, "village").alias("village"),
    )


def village_rows(roster: pl.DataFrame, evidence: dict[str, pl.DataFrame] | None = None) -> pl.DataFrame:
    """Rows per 乡镇/村 (`township`, `village`, `rows`; null places as "（未关联）"), placed as
    `row_places` places them, counted frame by frame on a few groups: the same counts as
    grouping `row_places(roster, evidence)` without every row's place (6.4M rows at 200,000
    households). Only when no row is in two frames or twice in one (no two input files of
    the same name); `row_places` keeps the first of such rows.

    >>> roster = pl.DataFrame({"source_file": ["r"] * 2, "source_row": [2, 3], "township": ["镇"] * 2,
    ...                        "village": ["甲", "乙"]})
    >>> ev = pl.DataFrame({"source_file": ["e"] * 3, "source_row": [2, 3, 4], "roster_row": [3, 2, None],
    ...                    "match_status": ["linked", "review", "unlinked"], "village": ["丙", "丁", None]})
    >>> village_rows(roster, {"x": ev}).sort("village").rows()
    [('（未关联）', '丁', 1), ('镇', '乙', 2), ('镇', '甲', 1), ('（未关联）', '（未关联）', 1)]
    """
    area = ["township", "village"]
    person = _roster_places(roster).select(pl.col("source_row").alias(C.roster_row), *area)
    parts = [person.group_by(area).len("rows")]
    for frame in (evidence or {}).values():
        linked = (col_or_null(frame, C.match_status) == "linked").fill_null(False)
        row = pl.when(linked).then(col_or_null(frame, C.roster_row, pl.Int64).cast(pl.Int64))
        rows = frame.lazy().select(row.alias(C.roster_row), *[col_or_null(frame, c).alias(c) for c in area])
        # a row linked to a person counts by the person's number, the others by their own place
        # (two groupings on one key each: half the time of one on all three)
        own = rows.filter(pl.col(C.roster_row).is_null()).group_by(area).len("rows")
        theirs = rows.filter(pl.col(C.roster_row).is_not_null()).group_by(C.roster_row).len("rows").join(
            person, on=C.roster_row, how="left").select(*area, "rows")
        parts += [own, theirs]
    filled = [pl.col(c).fill_null(UNATTRIBUTED) for c in area]
    return (  # one query for every frame (in memory, as an eager step)
        pl.concat(parts, how="vertical_relaxed").with_columns(filled)
        .group_by(area).agg(pl.col("rows").sum().cast(pl.UInt32))
        .collect(engine="in-memory")
    )


def first_per_row(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame.unique(["source_file", "source_row"], keep="first", maintain_order=True)`, on one
    integer per row (file number × 2^40 + row) when every key is set: a third of the time.

    >>> f = pl.DataFrame({"source_file": ["a", "b", "a", "a"], "source_row": [2, 2, 2, 3], "x": [1, 2, 3, 4]})
    >>> first_per_row(f)["x"].to_list()
    [1, 2, 4]
    """
    keys = ["source_file", "source_row"]
    rows = frame["source_row"]
    if frame.height == 0 or frame.select(pl.col(keys).null_count().sum()).row(0) != (0, 0) or rows.min() < 0 \
            or rows.max() >= 1 << 40:
        return frame.unique(keys, keep="first", maintain_order=True)
    files = pl.col("source_file").cast(pl.Categorical).to_physical().cast(pl.Int64)
    return frame.filter((files * (1 << 40) + pl.col("source_row")).is_first_distinct())


def attach_places(issues: pl.DataFrame, places: pl.DataFrame) -> pl.DataFrame:
    """Fill household_id/township/village of extract issues from the linked roster person
    (`places`: `row_places(roster, evidence)`, or just its rows that have an issue).

    >>> issues = pl.DataFrame({"source_file": ["医保.csv"], "source_row": [2], "household_id": [None],
    ...                        "township": [None], "village": [None]}, schema_overrides={"household_id": pl.String,
    ...                        "township": pl.String, "village": pl.String})
    >>> places = pl.DataFrame({"source_file": ["医保.csv"], "source_row": [2], "household_id": ["H1"],
    ...                        "township": ["灵溪镇"], "village": ["新村"]})
    >>> attach_places(issues, places).row(0)[2:]
    ('H1', '灵溪镇', '新村')
    """
    places = places.rename({"household_id": "__h", "township": "__t", "village": "__v"})
    out = issues.join(places, on=["source_file", "source_row"], how="left", maintain_order="left")
    return out.with_columns(
        pl.coalesce("household_id", "__h").alias("household_id"),
        pl.coalesce("township", "__t").alias("township"),
        pl.coalesce("village", "__v").alias("village"),
    ).drop("__h", "__t", "__v")


def scorecard(issues: pl.DataFrame, places: pl.DataFrame, rows: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per village, per township (village = "（合计）") and the county ("全县")
    (`places`: `row_places(roster, evidence)`, every row counted once; or, with `rows` =
    `village_rows(roster, evidence)` giving the rows per village, only the places of the rows
    with an issue).

    Columns: level, township, village, rows, error_rows, clean_rate, grade, issues, errors,
    warnings, infos, then per dimension `issues_<维度>` and `rate_<维度>` (rows with an issue of
    that dimension / rows).

    Every row is counted per village on the places' codes; the issue counts come from the
    rows that have an issue, placed by a join of those rows only (joining the counts onto
    every row of the county held +380 MB at 50,000 households).

    >>> places = pl.DataFrame({"source_file": ["a"] * 3, "source_row": [1, 2, 3],
    ...                        "township": ["镇"] * 3, "village": ["甲", "甲", None]})
    >>> issues = pl.DataFrame({"source_file": ["a"], "source_row": [2], "severity": ["error"],
    ...                        "dimension": ["规范性"]})
    >>> scorecard(issues, places).select("level", "village", "rows", "error_rows").rows()
    [('村', '甲', 2, 1), ('村', '（未关联）', 1, 0), ('乡镇', '（合计）', 3, 1), ('全县', '（合计）', 3, 1)]
    """
    area = ["township", "village"]
    filled = [pl.col(c).fill_null(UNATTRIBUTED) for c in area]
    counts = rows if rows is not None else (
        places.select([f.cast(pl.Categorical) for f in filled]).group_by(area).len("rows")
        .with_columns(pl.col(area).cast(pl.String))
    )
    per_row = issues.group_by("source_file", "source_row").agg(
        (pl.col("severity") == "error").any().alias("has_error"),
        pl.len().alias("issues"),
        (pl.col("severity") == "error").sum().alias("errors"),
        (pl.col("severity") == "warning").sum().alias("warnings"),
        (pl.col("severity") == "info").sum().alias("infos"),
        *[(pl.col("dimension") == d).sum().alias(f"issues_{d}") for d in DIMENSIONS],
    )
    placed = places.select("source_file", "source_row", *filled).join(
        per_row, on=["source_file", "source_row"], how="inner")
    sums = ["error_rows", "issues", "errors", "warnings", "infos", *[f"issues_{d}" for d in DIMENSIONS],
            *[f"_rows_{d}" for d in DIMENSIONS]]
    found = placed.group_by(area).agg(
        pl.col("has_error").sum().alias("error_rows"),
        pl.col("issues").sum(), pl.col("errors").sum(), pl.col("warnings").sum(), pl.col("infos").sum(),
        *[pl.col(f"issues_{d}").sum() for d in DIMENSIONS],
        *[(pl.col(f"issues_{d}") > 0).sum().alias(f"_rows_{d}") for d in DIMENSIONS],
    )
    village = counts.join(found, on=area, how="left").with_columns(pl.col(sums).fill_null(0))
    totals = [pl.col("rows").sum(), *[pl.col(c).sum() for c in sums]]
    town = village.group_by("township").agg(totals).with_columns(pl.lit("（合计）").alias("village"))
    county = village.select(totals).with_columns(pl.lit("全县").alias("township"), pl.lit("（合计）").alias("village"))
    out = pl.concat([
        village.with_columns(pl.lit("村").alias("level")),
        town.with_columns(pl.lit("乡镇").alias("level")),
        county.with_columns(pl.lit("全县").alias("level")),
    ], how="diagonal_relaxed").with_columns(
        (1 - pl.col("error_rows") / pl.col("rows")).alias("clean_rate"),
        *[(pl.col(f"_rows_{d}") / pl.col("rows")).alias(f"rate_{d}") for d in DIMENSIONS],
    ).with_columns(grade(pl.col("clean_rate")).alias("grade"))
    order = pl.col("level").replace_strict({"村": 0, "乡镇": 1, "全县": 2}, return_dtype=pl.Int32)
    out = out.with_columns(
        (pl.col("level") == "全县").alias("__c"), order.alias("__o")
    ).sort(["__c", "township", "__o", "village"]).drop("__c", "__o")
    first = ["level", "township", "village", "rows", "error_rows", "clean_rate", "grade", "issues", "errors",
             "warnings", "infos"]
    return out.select(first + [f"issues_{d}" for d in DIMENSIONS] + [f"rate_{d}" for d in DIMENSIONS])
