"""The slim views of prepared frames that the linker works on, and the decision schema."""

from __future__ import annotations

import polars as pl

from fanpin_cli.domain import person_sex, place_key
from fanpin_cli.values import per_value

USABLE: tuple[str, ...] = ("valid", "legacy_15")
# 18 digits present, but the ID is wrong somewhere: candidates for repair.
FAULTY_FULL: tuple[str, ...] = ("bad_checksum", "bad_birthdate")
MIN_KNOWN = 6  # fewer real digits than the region code carry no identity

LINK_COLUMNS: tuple[str, ...] = (
    "sector", "source_file", "source_row", "roster_row", "household_id", "match_method",
    "match_score", "match_status", "reason", "name_id_conflict", "rejected",
)
LINK_SCHEMA: dict[str, pl.DataType] = {
    "sector": pl.String, "source_file": pl.String, "source_row": pl.Int64, "roster_row": pl.Int64,
    "household_id": pl.String, "match_method": pl.String, "match_score": pl.Float64,
    "match_status": pl.String, "reason": pl.String, "name_id_conflict": pl.Boolean,
    "rejected": pl.Boolean,
}

# One decision per extract row that a tier settles. `weak`: the evidence does not separate
# the person from a namesake born the same day (name + birth only, or a partial ID).
DECISION_SCHEMA: dict[str, pl.DataType] = {
    "eidx": pl.Int64, "ridx": pl.Int64, "method": pl.String, "score": pl.Float64,
    "status": pl.String, "reason": pl.String, "conflict": pl.Boolean, "weak": pl.Boolean,
}

def empty_decisions() -> pl.DataFrame:
    """A decision frame with no rows."""
    return pl.DataFrame(schema=DECISION_SCHEMA)


def view(frame: pl.DataFrame) -> pl.DataFrame:
    """The columns the linker needs, under short names, one row per input row (same order).

    `idx` row position; `row` source_row; `raw_id` the ID text trimmed of whitespace only;
    `idkey` the text equal IDs share (id18 for usable IDs, the folded text for 18-digit IDs
    whose check fails); `digits`/`known` the ID reading when at least 6 digits are certain;
    `lo`/`hi` the values an ID held as a spreadsheet number may have come from (`idnum.
    number_range`), as its 17 leading digits; `value` the 17 leading digits of an 18-digit ID
    (usable or failing its check) as a number (to find it in such a range).
    """
    cols = set(frame.columns)

    def text(name: str) -> pl.Expr:
        return pl.col(name).cast(pl.String) if name in cols else pl.lit(None, dtype=pl.String)

    status = pl.col("id_status")
    known = pl.col("id_known").fill_null(0)
    has_digits = pl.col("id_digits").is_not_null() & (known >= MIN_KNOWN)
    row = pl.col("source_row").cast(pl.Int64) if "source_row" in cols else pl.int_range(2, pl.len() + 2)
    birth = pl.col("birth") if "birth" in cols else pl.lit(None, dtype=pl.Date)
    lo = pl.col("id_lo") if "id_lo" in cols else pl.lit(None, dtype=pl.Int64)
    hi = pl.col("id_hi") if "id_hi" in cols else pl.lit(None, dtype=pl.Int64)
    return frame.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("idx"),
        row.cast(pl.Int64).alias("row"),
        text("household_id").alias("household_id"),
        text("id_number").str.strip_chars().alias("raw_id"),
        status.alias("status"),
        pl.when(has_digits).then(pl.col("id_digits")).alias("digits"),
        pl.when(has_digits).then(known).otherwise(0).cast(pl.Int64).alias("known"),
        pl.when(status.is_in(USABLE))
        .then(pl.col("id18"))
        .when(status.is_in(FAULTY_FULL))
        .then(pl.col("id_clean"))
        .alias("idkey"),
        pl.col("name_key"),
        pl.col("name_pinyin"),
        pl.col("name_norm"),
        birth.alias("birth"),
        pl.col("birth_any"),
        # each distinct place name once (a county has a few hundred)
        per_value(frame, "township", place_key(pl.col("township")), pl.String).alias("township"),
        per_value(frame, "village", place_key(pl.col("village")), pl.String).alias("village"),
        # Compared on the 17 leading digits: the check character may be X, which no number holds.
        (lo.cast(pl.Int64) // 10).alias("lo"),
        (hi.cast(pl.Int64) // 10).alias("hi"),
        pl.when(status.is_in(USABLE)).then(pl.col("id18").str.slice(0, 17).cast(pl.Int64, strict=False))
        .when(status.is_in(FAULTY_FULL)).then(pl.col("id_clean").str.slice(0, 17).cast(pl.Int64, strict=False))
        .alias("value"),
        person_sex(frame).alias("sex"),
    )

