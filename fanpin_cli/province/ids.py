"""ID readings the province needs across counties: a roster index (who is on which county's
roster) and the assignment of province-wide extract rows to counties.

Full IDs live only in these in-memory frames; nothing here is written or printed.

>>> import polars as pl
>>> from datetime import date
>>> f = pl.DataFrame({"id_number": ["433127199001011238", " 43312719900101123x", None]})
>>> id_readings(f, date(2026, 11, 30))["id18"].to_list()
['433127199001011238', None, None]
"""

from __future__ import annotations

from datetime import date

import polars as pl

from fanpin_cli.idnum import with_id_columns
from fanpin_cli.tables import C

ROSTER_INDEX_SCHEMA = {
    "county": pl.String, "id18": pl.String, "household_id": pl.String, C.roster_row: pl.Int64,
    "township": pl.String,
}
ASSIGN_SCHEMA = {"source_row": pl.Int64, "county": pl.String, "assigned_by": pl.String}
# How a province-wide extract row found its county (province_summary.json `extracts[]`).
ASSIGNED_BY = {
    "id": "证件号码与该县花名册一致（含规范化、15位升18位）",
    "region": "证件号码前6位为该县行政区划代码",
    "township": "乡镇名称只属于该县",
}


def id_readings(frame: pl.DataFrame, reference_date: date) -> pl.DataFrame:
    """`id18` (usable 18-digit ID: exact or normalised, 15→18) and `id_region` (first 6 real
    digits, also of faulty IDs) for each row of `frame` (which has `id_number`), same order."""
    raw = frame.select(
        [pl.col(c) for c in ("id_number", "id_number_cell") if c in frame.columns]
        or [pl.lit(None, dtype=pl.String).alias("id_number")]
    )
    if "id_number" not in raw.columns:
        raw = raw.with_columns(pl.lit(None, dtype=pl.String).alias("id_number"))
    read = with_id_columns(raw.with_columns(pl.col("id_number").cast(pl.String)), reference_date=reference_date)
    return read.select("id18", "id_region")


def roster_index(county: str, roster: pl.DataFrame, reference_date: date) -> pl.DataFrame:
    """One row per roster person with a usable ID: county, id18, 户编号, roster_row, 乡镇."""
    ids = id_readings(roster, reference_date)
    def text(name: str) -> pl.Series:
        if name in roster.columns:
            return roster[name].cast(pl.String)
        return pl.Series(name, [None] * roster.height, dtype=pl.String)
    out = pl.DataFrame({
        "county": [county] * roster.height,
        "id18": ids["id18"],
        "household_id": text("household_id"),
        C.roster_row: roster["source_row"].cast(pl.Int64),
        "township": text("township"),
    }, schema=ROSTER_INDEX_SCHEMA)
    return out.filter(pl.col("id18").is_not_null())


def county_regions(index: pl.DataFrame) -> pl.DataFrame:
    """Each county's own address code: the commonest first 6 digits among its roster IDs
    (a roster also lists people born elsewhere). A code that is two counties' commonest is
    dropped: it cannot tell them apart."""
    counts = index.group_by("county", pl.col("id18").str.slice(0, 6).alias("id_region")).len()
    return regions_from_counts(counts)


def regions_from_counts(counts: pl.DataFrame) -> pl.DataFrame:
    """`county_regions` from roster ID counts per (county, id_region) (`len`): the Spark engine
    counts in Spark and hands the small result here."""
    top = (
        counts.with_columns(pl.col("len").cast(pl.Int64))
        .sort("county", "len", "id_region", descending=[False, True, False])
        .unique("county", keep="first", maintain_order=True)
    )
    return top.filter(pl.len().over("id_region") == 1).select("county", "id_region")


def county_townships(index: pl.DataFrame) -> pl.DataFrame:
    """乡镇 names that belong to exactly one county's roster."""
    towns = index.select("county", "township").drop_nulls().unique()
    return towns.filter(pl.len().over("township") == 1)


def assign_rows(rows: pl.DataFrame, index: pl.DataFrame) -> pl.DataFrame:
    """Counties of province-wide extract rows (`source_row`, `id18`, `id_region`, `township`).

    A row whose ID (exact or normalised) is on a county's roster goes to that county — to each
    of them when the person is on two rosters. Otherwise the fuzzy tiers need a county to look
    in: the one whose address code the ID starts with, else the one its 乡镇 belongs to. A row
    with none of these stays unassigned (`county` null); no row is lost.

    >>> idx = pl.DataFrame({"county": ["甲县"], "id18": ["433127199001011238"], "household_id": ["1"],
    ...                     "roster_row": [3], "township": ["城关镇"]})
    >>> rows = pl.DataFrame({"source_row": [2, 3, 4], "id18": ["433127199001011238", None, None],
    ...                      "id_region": ["433127", "433127", None], "township": [None, None, "北乡"]})
    >>> assign_rows(rows, idx).sort("source_row").rows()
    [(2, '甲县', 'id'), (3, '甲县', 'region'), (4, None, None)]
    """
    if "township" not in rows.columns:
        rows = rows.with_columns(pl.lit(None, dtype=pl.String).alias("township"))
    by_id = (
        rows.select("source_row", "id18").drop_nulls("id18")
        .join(index.select("county", "id18").unique(), on="id18", how="inner")
        .select("source_row", "county", pl.lit("id").alias("assigned_by"))
    )
    rest = rows.join(by_id.select("source_row").unique(), on="source_row", how="anti")
    hinted = assign_by_hint(rest, county_regions(index), county_townships(index))
    return pl.concat([by_id, hinted], how="vertical_relaxed").cast(ASSIGN_SCHEMA)


def assign_by_hint(rest: pl.DataFrame, regions: pl.DataFrame, townships: pl.DataFrame,
                   keys: tuple[str, ...] = ("source_row",)) -> pl.DataFrame:
    """For rows no roster took by ID: the county of their ID's address code (`regions`), else of
    their 乡镇 (`townships`), else null. One row out per row in (`keys`, county, assigned_by)."""
    if "township" not in rest.columns:
        rest = rest.with_columns(pl.lit(None, dtype=pl.String).alias("township"))
    region = regions.select(pl.col("id_region"), pl.col("county").alias("_by_region"))
    town = townships.select(pl.col("township"), pl.col("county").alias("_by_town"))
    out = (
        rest.select(*keys, pl.col("id_region").cast(pl.String), pl.col("township").cast(pl.String))
        .join(region, on="id_region", how="left", maintain_order="left")
        .join(town, on="township", how="left", maintain_order="left")
    )
    how = (
        pl.when(pl.col("_by_region").is_not_null()).then(pl.lit("region"))
        .when(pl.col("_by_town").is_not_null()).then(pl.lit("township"))
    )
    return out.select(*keys, pl.coalesce("_by_region", "_by_town").alias("county"), how.alias("assigned_by"))
