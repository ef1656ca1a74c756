"""Workbooks written together (`report.together.write_together`, the 乡镇 workbooks) are the
workbooks `write_report` writes one by one — every part of the file the same, byte for byte
(but the time it was made) — whatever rows, history statuses, pending flags or empty tables each
has; a failure, also while they are closed, leaves none of them."""

from __future__ import annotations

import zipfile
from dataclasses import replace

import polars as pl
import pytest
from test_report import _data, _flags

from fanpin_cli.errors import FanpinError
from fanpin_cli.report import together, write_report
from fanpin_cli.report.together import write_together


def _areas() -> list:
    """Workbooks that differ in what decides their columns and rows: history statuses on some
    rules only, pending flags or none, an empty quality list, no flags at all, many rows."""
    plain = _data()
    flags = _flags()
    status = pl.Series("status", ["新增", None, "持续", None, None, None])
    with_history = _data(flags.with_columns(status, pl.lit(None, pl.String).alias("first_flagged"),
                                            pl.lit(None, pl.String).alias("last_verdict"),
                                            pl.lit(False).alias("overdue")))
    confirmed_only = _data(flags.filter(pl.col("evidence_status") == "confirmed"))
    no_flags = replace(_data(flags.clear()), quality=plain.quality.clear())
    many = _data(pl.concat([flags.with_columns(pl.col("roster_row") + 100 * i,
                                               pl.col("person_name") + str(i)) for i in range(40)]))
    return [plain, with_history, confirmed_only, no_flags, many]


def _parts(path) -> dict[str, bytes]:
    """The workbook's zip parts, but the one holding the time it was made."""
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}


def _same_as_alone(tmp_path, areas) -> None:
    alone = [tmp_path / f"alone{i}.xlsx" for i in range(len(areas))]
    for path, data in zip(alone, areas, strict=True):
        write_report(path, data)
    made = [tmp_path / f"together{i}.xlsx" for i in range(len(areas))]
    write_together(made, iter(areas))
    for a, b in zip(alone, made, strict=True):
        assert _parts(a) == _parts(b), b.name
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("order", [[0, 1, 2, 3, 4], [3, 1, 4], [4, 0]])
def test_workbooks_written_together_are_those_written_one_by_one(tmp_path, monkeypatch, order):
    areas = [_areas()[i] for i in order]
    alone = [tmp_path / f"alone{i}.xlsx" for i in range(len(areas))]
    for path, data in zip(alone, areas, strict=True):
        write_report(path, data)

    def not_here(*args):  # every one of them small: written together, none one by one
        raise AssertionError("written alone")

    monkeypatch.setattr(together, "write_report", not_here)
    made = [tmp_path / f"together{i}.xlsx" for i in range(len(areas))]
    write_together(made, iter(areas))
    for a, b in zip(alone, made, strict=True):
        assert _parts(a) == _parts(b), b.name
    assert not list(tmp_path.glob(".*.tmp"))


def test_beyond_the_workbooks_held_at_once_the_next_ones_are_written_after(tmp_path, monkeypatch):
    """At most MOST_BOOKS workbooks at once (and one in-memory workbook's data rows): five
    areas, two at a time, the last alone — the same workbooks."""
    alone = []
    monkeypatch.setattr(together, "MOST_BOOKS", 2)
    real = together.write_report
    monkeypatch.setattr(together, "write_report", lambda path, data: alone.append(path.name) or real(path, data))
    _same_as_alone(tmp_path, _areas())
    assert alone == ["together4.xlsx"]


def test_a_failure_leaves_none_of_the_workbooks(tmp_path, monkeypatch):
    """Written together, they fail together, said as `write_report` says it: no workbook, no
    temp file left."""
    import fanpin_cli.report.sheets as sheets

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(sheets, "write_summary", broken)
    with pytest.raises(FanpinError, match="无法写入报表：disk full"):
        write_together([tmp_path / "a.xlsx", tmp_path / "b.xlsx"], _areas()[:2])
    assert list(tmp_path.iterdir()) == []


def test_a_failure_while_closing_leaves_none_of_the_workbooks(tmp_path, monkeypatch):
    """The second of three workbooks cannot be closed (the disk filled up): the first, closed
    already, is not moved into place either."""
    closed = []
    real = together.close_workbook

    def close(workbook):
        closed.append(workbook)
        if len(closed) == 2:
            raise OSError("disk full")
        real(workbook)

    monkeypatch.setattr(together, "close_workbook", close)
    with pytest.raises(FanpinError, match="disk full"):
        write_together([tmp_path / f"{n}.xlsx" for n in "abc"], _areas()[:3])
    assert list(tmp_path.iterdir()) == []
