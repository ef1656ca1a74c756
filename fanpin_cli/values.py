"""Parse the dates and amounts clerks write, as polars expressions.

>>> import polars as pl
>>> s = pl.Series(["2012-03-05", "2012/3/5", "20120305", "2012年3月5日", "2012-03-05 00:00:00", "40973", "x"])
>>> pl.DataFrame({"d": s}).select(parse_date(pl.col("d"))).to_series().to_list()[-2:]
[datetime.date(2012, 3, 5), None]
"""

from __future__ import annotations

from datetime import date

import polars as pl

_EXCEL_EPOCH = date(1899, 12, 30)


def parse_date(raw: pl.Expr) -> pl.Expr:
    """A date from `2012-03-05`, `2012/3/5`, `2012.3.5`, `20120305`, `2012年3月5日`,
    `2012-03-05 00:00:00` or an Excel serial number (`40973`); null if none fits.
    """
    text = (
        raw.cast(pl.String)
        .str.normalize("NFKC")
        .str.strip_chars()
        .str.replace(r"[ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?$", "")
    )
    ymd = text.str.extract_groups(r"^([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?$")
    y = ymd.struct.field("1").cast(pl.Int32, strict=False)
    m = ymd.struct.field("2").cast(pl.Int32, strict=False)
    d = ymd.struct.field("3").cast(pl.Int32, strict=False)
    valid_sep = (m >= 1) & (m <= 12) & (d >= 1) & (d <= 31)
    # Through a strict-free string parse, so that 2012-02-30 becomes null instead of an error.
    iso = pl.when(valid_sep).then(
        pl.format("{}-{}-{}", y, m.cast(pl.String).str.zfill(2), d.cast(pl.String).str.zfill(2))
    )
    compact = pl.when(text.str.contains(r"^[0-9]{8}$")).then(text.str.to_date("%Y%m%d", strict=False))
    serial = text.cast(pl.Int64, strict=False)
    from_serial = pl.when((serial > 1000) & (serial < 80000)).then(
        pl.lit(_EXCEL_EPOCH) + pl.duration(days=serial)
    )
    return pl.coalesce(iso.str.to_date("%Y-%m-%d", strict=False), compact, from_serial.cast(pl.Date))


def parse_amount(raw: pl.Expr) -> pl.Expr:
    """A number from `12,480.50`, `12480.5元`, ` ¥12480 `, `１２３`; null if none.

    >>> pl.DataFrame({"a": ["12,480.50", "12480.5元", "¥9342", "无"]}).select(parse_amount(pl.col("a"))).to_series().to_list()
    [12480.5, 12480.5, 9342.0, None]
    """
    text = (
        raw.cast(pl.String)
        .str.normalize("NFKC")
        .str.replace_all(r"[,\s元¥￥]", "")
    )
    return text.cast(pl.Float64, strict=False)
