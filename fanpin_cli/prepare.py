"""Derive the comparable columns every later stage uses from a loaded frame.

`prepare(frame, reference_date)` adds the decoded ID columns (`idnum.with_id_columns`), the
name keys (`names.with_name_columns`) and `birth` (出生日期 column if there is one, parsed)
and `birth_any` (that, or the birth date inside the ID).

>>> import polars as pl
>>> from datetime import date
>>> f = pl.DataFrame({"name": ["張三"], "id_number": ["433127199001011238"], "birth_date": ["1990/1/1"]})
>>> prepare(f, date(2026, 11, 30)).select("name_norm", "id_status", "birth_any").row(0)
('张三', 'valid', datetime.date(1990, 1, 1))
"""

from __future__ import annotations

from datetime import date

import polars as pl

from fanpin_cli.idnum import with_id_columns
from fanpin_cli.names import with_name_columns
from fanpin_cli.values import parse_date


def prepare(frame: pl.DataFrame, reference_date: date) -> pl.DataFrame:
    """Add id_*, name_*, `birth` and `birth_any` columns (see module docstring)."""
    if "id_number" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("id_number"))
    if "name" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("name"))
    frame = with_id_columns(frame, "id_number", reference_date=reference_date)
    frame = with_name_columns(frame, "name")
    birth = parse_date(pl.col("birth_date")) if "birth_date" in frame.columns else pl.lit(None, dtype=pl.Date)
    return frame.with_columns(birth.alias("birth")).with_columns(
        pl.coalesce(pl.col("birth"), pl.col("id_birth")).alias("birth_any")
    )
