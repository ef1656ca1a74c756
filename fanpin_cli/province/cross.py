"""Cross-county matches: people a county-by-county run never sees.

- `row_in_other_county`: a row of county B's own extract that its roster did not take, whose
  ID (exact or normalised) is a roster person of county A (enrolled, schooled, deregistered
  over there);
- `roster_in_two_counties`: one ID on two counties' rosters.

The Spark engine does the same joins in Spark (`spark.cross_matches`); the columns are
`CROSS_SCHEMA` in both. IDs stay in memory; `present` masks them for output.

>>> import polars as pl
>>> idx = pl.DataFrame({"county": ["甲县"], "id18": ["433127199001011238"], "household_id": ["H1"],
...                     "roster_row": [5], "township": [None]}, schema_overrides={"township": pl.String})
>>> rows = pl.DataFrame({"county": ["乙县"], "sector": ["education"], "source_file": ["学籍.csv"],
...                      "source_row": [9], "id18": ["433127199001011238"], "match_status": ["unlinked"]})
>>> cross_matches(rows, idx).select("kind", "county", "home_county", "roster_row").rows()
[('row_in_other_county', '乙县', '甲县', 5)]
"""

from __future__ import annotations

import polars as pl

from fanpin_cli.idnum import mask_id

CROSS_SCHEMA = {
    "kind": pl.String, "county": pl.String, "sector": pl.String, "source_file": pl.String,
    "source_row": pl.Int64, "match_status": pl.String, "home_county": pl.String, "household_id": pl.String,
    "roster_row": pl.Int64, "id18": pl.String,
}
KIND_TITLES = {
    "row_in_other_county": "外县数据中的本县对象",
    "roster_in_two_counties": "两县花名册重复",
}


def cross_matches(open_rows: pl.DataFrame, index: pl.DataFrame) -> pl.DataFrame:
    """Both kinds of cross-county match (CROSS_SCHEMA), sorted by county, file and row."""
    home = index.select(
        "id18", pl.col("county").alias("home_county"), "household_id", pl.col("roster_row").cast(pl.Int64)
    )
    rows = (
        open_rows.join(home, on="id18", how="inner")
        .filter(pl.col("county") != pl.col("home_county"))
        .with_columns(pl.lit("row_in_other_county").alias("kind"))
    )
    # The same person on two rosters: reported once, from the county listed first by name.
    other = index.select(
        "id18", pl.col("county"), pl.lit("roster").alias("sector"), pl.lit(None, dtype=pl.String).alias("source_file"),
        pl.col("roster_row").alias("source_row"), pl.lit(None, dtype=pl.String).alias("match_status"),
    )
    twice = (
        other.join(home, on="id18", how="inner")
        .filter(pl.col("county") < pl.col("home_county"))
        .with_columns(pl.lit("roster_in_two_counties").alias("kind"))
    )
    out = pl.concat([rows.select(list(CROSS_SCHEMA)), twice.select(list(CROSS_SCHEMA))], how="vertical_relaxed")
    return out.cast(CROSS_SCHEMA).sort("kind", "county", "source_file", "source_row", "home_county", nulls_last=True)


def present(cross: pl.DataFrame, *, full_ids: bool = False) -> pl.DataFrame:
    """The matches as written (cross_county.csv, the workbook): ID masked unless `full_ids`."""
    ident = pl.col("id18") if full_ids else mask_id(pl.col("id18"))
    return cross.with_columns(ident.alias("id_number")).drop("id18")
