"""Stock-take per sector (账账相符): how the roster and each sector's extract agree.

Vocabulary (DOMAIN.md): 相符 matched — roster persons with a linked row; 账有实无 roster-only —
roster persons with no linked row in that sector (meaningful where every roster person should
appear, i.e. medical_enrollment); 实有账无 sector-only — extract rows linked to nobody;
信息不一致 attribute mismatch — linked rows whose name, sex, birth date or 乡镇/村 differ from
the roster person's.
"""

from __future__ import annotations

import polars as pl

from fanpin_cli.domain import person_sex, place_key, written_sex
from fanpin_cli.fields import FIELD_TITLES
from fanpin_cli.tables import C, columns_of

from ._base import col_or_null

# Sectors whose roster-only persons are listed (every roster person should be in them).
ROSTER_ONLY_LISTED: tuple[str, ...] = ("medical_enrollment",)

COUNT_COLUMNS = (
    "sector", "extract_rows", "linked_rows", "review_rows", "unlinked_rows", "matched_persons",
    "matched_households", "roster_only_persons", "roster_only_households", "sector_only_rows",
    "mismatch_rows",
)


def _roster_view(roster: pl.DataFrame) -> pl.DataFrame:
    return roster.select(
        pl.col("source_row").alias("roster_row"),
        col_or_null(roster, "household_id").alias("r_household_id"),
        col_or_null(roster, "township").alias("r_township"),
        col_or_null(roster, "village").alias("r_village"),
        col_or_null(roster, "name").alias("r_name"),
        col_or_null(roster, "name_key").alias("r_name_key"),
        person_sex(roster).alias("r_sex"),
        col_or_null(roster, "birth_any", pl.Date).alias("r_birth"),
    )


def _mismatches(sector: str, linked: pl.LazyFrame, columns: list[str]) -> pl.LazyFrame:
    """One row per differing attribute of a linked extract row (`columns`: `linked`'s)."""
    checks = [
        ("name", pl.col("name_key") != pl.col("r_name_key"), pl.col("name"), pl.col("r_name")),
        ("sex", written_sex(pl.col("sex")) != pl.col("r_sex"), pl.col("sex"), pl.col("r_sex")),
        ("birth_date", pl.col("birth") != pl.col("r_birth"), pl.col("birth_date"),
         pl.col("r_birth").dt.strftime("%Y-%m-%d")),
        ("township", place_key(pl.col("township")) != place_key(pl.col("r_township")),
         pl.col("township"), pl.col("r_township")),
        ("village", place_key(pl.col("village")) != place_key(pl.col("r_village")),
         pl.col("village"), pl.col("r_village")),
    ]
    out = []
    for field, differs, mine, theirs in checks:
        needed = {"name": "name_key", "sex": "sex", "birth_date": "birth_date", "township": "township",
                  "village": "village"}[field]
        if needed not in columns:
            continue
        out.append(
            linked.filter(differs.fill_null(False)).select(
                pl.lit(sector).alias("sector"), "source_file", "source_row", "roster_row",
                pl.col("r_household_id").alias("household_id"), pl.col("r_township").alias("township"),
                pl.col("r_village").alias("village"), pl.lit(field).alias("field"),
                pl.lit(FIELD_TITLES.get(field, field)).alias("attribute"),
                mine.cast(pl.String).alias("extract_value"), theirs.cast(pl.String).alias("roster_value"),
            )
        )
    return pl.concat(out) if out else pl.LazyFrame(schema=_MISMATCH_SCHEMA)


_MISMATCH_SCHEMA = {
    "sector": pl.String, "source_file": pl.String, "source_row": pl.Int64, "roster_row": pl.Int64,
    "household_id": pl.String, "township": pl.String, "village": pl.String, "field": pl.String,
    "attribute": pl.String, "extract_value": pl.String, "roster_value": pl.String,
}


# Every column of a sector's frame that the stock-take reads.
_READ = frozenset({
    "source_file", "source_row", C.roster_row, C.match_status, C.match_method, "name", "name_key", "sex", "birth",
    "birth_date", "township", "village", "reason",
})


LISTS = ("matched", "roster_only", "sector_only", "mismatch")


def stocktake(roster: pl.DataFrame, evidence: dict[str, pl.DataFrame], *,
              lists: tuple[str, ...] = LISTS) -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
    """Counts per sector (one row each, COUNT_COLUMNS) and the lists behind them:
    `matched`, `roster_only` (ROSTER_ONLY_LISTED sectors), `sector_only`, `mismatch`; only
    those named in `lists` are made (the others are empty): `matched` and `sector_only` hold
    most rows of every sector (the monthly job lists them in links.csv instead)."""
    rv = _roster_view(roster).lazy()
    queries: dict[str, list[pl.LazyFrame]] = {"counts": [], "matched": [], "roster_only": [], "sector_only": [],
                                                "mismatch": []}
    # Every sector's counts and lists as steps of lazy queries, collected together at the end (one
    # set of queries on polars' in-memory engine, as the eager steps ran; ~120 small queries before).
    for sector, wide in evidence.items():
        # only the columns read here, before the rows are filtered and joined (a sector is wide)
        columns = [c for c in wide.columns if c in _READ]
        frame = wide.lazy().select(columns)
        status = col_or_null(columns, C.match_status)
        linked = frame.filter((status == "linked") & col_or_null(columns, "roster_row", pl.Int64).is_not_null())
        linked = linked.with_columns(pl.col("roster_row").cast(pl.Int64)).join(
            rv, on="roster_row", how="left", maintain_order="left"
        )
        linked_columns = columns_of(linked)
        unlinked_rows = status.is_null() | (status == "unlinked")
        persons = linked.select("roster_row").unique()
        missing = rv.join(persons, on="roster_row", how="anti")
        mis = _mismatches(sector, linked, linked_columns)
        households = pl.col("r_household_id").drop_nulls().n_unique().cast(pl.Int64)
        queries["counts"].append(pl.concat([
            # the states as columns first: a file without match_status (a literal) counts every row
            frame.with_columns(unlinked_rows.alias("__u"), (status == "review").alias("__r")).select(
                pl.lit(sector).alias("sector"), pl.len().cast(pl.Int64).alias("extract_rows"),
                pl.col("__r").sum().cast(pl.Int64).alias("review_rows"),
                pl.col("__u").sum().cast(pl.Int64).alias("unlinked_rows")),
            linked.select(pl.len().cast(pl.Int64).alias("linked_rows"), households.alias("matched_households")),
            persons.select(pl.len().cast(pl.Int64).alias("matched_persons")),
            missing.select(pl.len().cast(pl.Int64).alias("roster_only_persons"),
                           households.alias("roster_only_households")),
            mis.select("source_file", "source_row").unique().select(pl.len().cast(pl.Int64).alias("mismatch_rows")),
        ], how="horizontal").select(
            *[pl.col(c) if c != "sector_only_rows" else pl.col("unlinked_rows").alias(c) for c in COUNT_COLUMNS]
        ))
        if "matched" in lists:
            queries["matched"].append(linked.select(
                pl.lit(sector).alias("sector"), pl.col("source_file"), pl.col("source_row").cast(pl.Int64),
                "roster_row", pl.col("r_household_id").alias("household_id"),
                pl.col("r_township").alias("township"), pl.col("r_village").alias("village"),
                pl.col("r_name").alias("name"), col_or_null(linked_columns, C.match_method).alias(C.match_method),
            ))
        if sector in ROSTER_ONLY_LISTED and "roster_only" in lists:
            queries["roster_only"].append(missing.select(
                pl.lit(sector).alias("sector"), "roster_row", pl.col("r_household_id").alias("household_id"),
                pl.col("r_township").alias("township"), pl.col("r_village").alias("village"),
                pl.col("r_name").alias("name"),
            ))
        if "sector_only" in lists:
            unlinked = frame.filter(unlinked_rows)
            queries["sector_only"].append(unlinked.select(
                pl.lit(sector).alias("sector"), pl.col("source_file"), pl.col("source_row").cast(pl.Int64),
                col_or_null(columns, "name").alias("name"), col_or_null(columns, "township").alias("township"),
                col_or_null(columns, "village").alias("village"), col_or_null(columns, "reason").alias("reason"),
            ))
        if "mismatch" in lists:
            queries["mismatch"].append(mis)
    frames = iter(pl.collect_all([query for parts in queries.values() for query in parts], engine="in-memory"))
    got = {name: [next(frames) for _ in parts] for name, parts in queries.items()}
    count_schema = {c: (pl.String if c == "sector" else pl.Int64) for c in COUNT_COLUMNS}
    count_frame = pl.concat(got["counts"]) if got["counts"] else pl.DataFrame(schema=count_schema)
    made = {
        "matched": _concat(got["matched"]),
        "roster_only": _concat(got["roster_only"], {"sector": pl.String, "roster_row": pl.Int64,
                                                    "household_id": pl.String, "township": pl.String,
                                                    "village": pl.String, "name": pl.String}),
        "sector_only": _concat(got["sector_only"]),
        "mismatch": _concat(got["mismatch"], _MISMATCH_SCHEMA),
    }
    return count_frame, made


def _concat(frames: list[pl.DataFrame], schema: dict | None = None) -> pl.DataFrame:
    frames = [f for f in frames if f.width]
    if frames:
        return pl.concat(frames, how="diagonal_relaxed")
    return pl.DataFrame(schema=schema or {"sector": pl.String})
