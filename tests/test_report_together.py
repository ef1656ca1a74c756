"""Workbooks written together (`report.together.write_together`, the 乡镇 workbooks) are, cell
for cell, the workbooks `write_report` writes one by one: values, formats, widths, heights,
dropdowns, charts — whatever rows, history statuses, pending flags or empty tables each has."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest
from test_report import _data, _flags
from test_report_rowxml import _compare_workbooks

from fanpin_cli.errors import FanpinError
from fanpin_cli.report import write_report
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


@pytest.mark.parametrize("order", [[0, 1, 2, 3, 4], [3, 1, 4], [4, 0]])
def test_workbooks_written_together_are_those_written_one_by_one(tmp_path, order):
    areas = [_areas()[i] for i in order]
    alone = [tmp_path / f"alone{i}.xlsx" for i in range(len(areas))]
    for path, data in zip(alone, areas, strict=True):
        write_report(path, data)
    together = [tmp_path / f"together{i}.xlsx" for i in range(len(areas))]
    write_together(together, areas)
    compare = _compare_workbooks()
    for a, b in zip(alone, together, strict=True):
        assert compare(a, b) == [], b.name
    assert not list(tmp_path.glob(".*.tmp"))


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
