"""Dates and amounts as clerks write them (fanpin_cli.values)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from fanpin_cli.values import dates_of, parse_amount, parse_date


def column(values: list[str | None]) -> pl.DataFrame:
    return pl.DataFrame({"v": values}, schema={"v": pl.String})


def dates(values: list[str | None]) -> list[date | None]:
    return column(values).select(parse_date(pl.col("v"))).to_series().to_list()


def amounts(values: list[str | None]) -> list[float | None]:
    return column(values).select(parse_amount(pl.col("v"))).to_series().to_list()


DATE_FORMS = [
    pytest.param("2012-03-05", date(2012, 3, 5), id="iso"),
    pytest.param("2012/3/5", date(2012, 3, 5), id="slashes-no-padding"),
    pytest.param("2012/03/05", date(2012, 3, 5), id="slashes"),
    pytest.param("2012.3.5", date(2012, 3, 5), id="dots"),
    pytest.param("20120305", date(2012, 3, 5), id="compact"),
    pytest.param("2012年3月5日", date(2012, 3, 5), id="chinese"),
    pytest.param("2012年03月05日", date(2012, 3, 5), id="chinese-padded"),
    pytest.param("2012年3月5", date(2012, 3, 5), id="chinese-without-ri"),
    pytest.param("2012-03-05 00:00:00", date(2012, 3, 5), id="with-time"),
    pytest.param("2012-03-05 14:30", date(2012, 3, 5), id="with-short-time"),
    pytest.param("2012-03-05T08:15:00.000", date(2012, 3, 5), id="iso-datetime"),
    pytest.param("2026/11/30 9:05:00", date(2026, 11, 30), id="slash-with-time"),
    pytest.param(" 2012-03-05 ", date(2012, 3, 5), id="surrounding-spaces"),
    pytest.param("40973", date(2012, 3, 5), id="excel-serial"),
    pytest.param("46356", date(2026, 11, 30), id="excel-serial-reference-date"),
    # a cell whose date format the reader does not know (Chinese Excel's yyyy年m月d日, numFmtId 31)
    # comes as its serial number with the time of day
    pytest.param("45627.666053241", date(2024, 12, 1), id="excel-serial-datetime"),
    pytest.param("20241201155907", date(2024, 12, 1), id="compact-timestamp"),
    pytest.param("202412011559", date(2024, 12, 1), id="compact-timestamp-minutes"),
    pytest.param("20241301155907", None, id="compact-timestamp-month-13"),
    pytest.param("2012.3", None, id="year-dot-month-not-a-serial"),
    pytest.param("2016-02-29", date(2016, 2, 29), id="leap-day"),
    pytest.param("2012-02-30", None, id="impossible-feb-30"),
    pytest.param("2015-02-29", None, id="not-a-leap-year"),
    pytest.param("2012-13-01", None, id="month-13"),
    pytest.param("2012-00-10", None, id="month-0"),
    pytest.param("20121301", None, id="compact-month-13"),
    pytest.param("2012年3月", None, id="month-only"),
    pytest.param("无", None, id="wu"),
    pytest.param("待核实", None, id="junk-text"),
    pytest.param("12", None, id="small-number"),
    pytest.param("", None, id="empty"),
    pytest.param(None, None, id="null"),
]


@pytest.mark.parametrize(("raw", "expected"), DATE_FORMS)
def test_parse_date(raw: str | None, expected: date | None) -> None:
    assert dates([raw]) == [expected]


def test_parse_date_column_keeps_order() -> None:
    raw = ["2012-03-05", "x", "2012/3/5", None, "40973", "2012-02-30"]
    assert dates(raw) == [date(2012, 3, 5), None, date(2012, 3, 5), None, date(2012, 3, 5), None]


def test_dates_once_per_distinct_text_agree_with_parse_date() -> None:
    """`dates_of` (each distinct date text parsed once, the check and window path) gives what
    `parse_date` gives row by row, in row order: every form of the table above, repeated,
    shuffled, with times of day that make the raw texts distinct but the day the same."""
    import random

    forms = [p.values[0] for p in DATE_FORMS]
    raw = forms * 3 + [f"2026-11-{d:02d} {h}:{m:02d}" for d in (1, 30, 31) for h in (0, 9, 23) for m in (0, 59)]
    random.Random(7).shuffle(raw)
    assert dates_of(column(raw)["v"]).to_list() == dates(raw)
    assert dates_of(column([])["v"]).to_list() == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("12,480.50", 12480.5, id="thousands-separator"),
        pytest.param("12480.5元", 12480.5, id="yuan-suffix"),
        pytest.param("¥9342", 9342.0, id="yen-sign"),
        pytest.param("￥9,342.00", 9342.0, id="full-width-yen"),
        pytest.param(" 18684 ", 18684.0, id="spaces"),
        pytest.param("１２４８０．５", 12480.5, id="full-width-digits"),
        pytest.param("１２，４８０元", 12480.0, id="full-width-comma"),
        pytest.param("0", 0.0, id="zero"),
        pytest.param("-200.5", -200.5, id="negative-refund"),
        pytest.param("无", None, id="wu"),
        pytest.param("未结算", None, id="text"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="null"),
    ],
)
def test_parse_amount(raw: str | None, expected: float | None) -> None:
    assert amounts([raw]) == [expected]


def test_prepare_keeps_each_date_field_parsed_as_parse_date_reads_it():
    from fanpin_cli.prepare import prepare
    from fanpin_cli.values import date_values, parsed_date_name

    texts = ["2026-01-05 08:30", "2026/1/5", "２０２６年１月５日", "46027", "20260230", "去年", None, ""]
    frame = pl.DataFrame({"source_row": list(range(2, 2 + len(texts))), "settle_date": texts,
                          "birth_date": texts}, schema_overrides={"settle_date": pl.String, "birth_date": pl.String})
    prepared = prepare(frame, date(2026, 11, 30))
    for field in ("settle_date", "birth_date"):
        expected = frame.select(parse_date(pl.col(field))).to_series()
        assert prepared[parsed_date_name(field)].equals(expected.alias(parsed_date_name(field)))
        assert date_values(prepared, field).equals(date_values(frame, field))
