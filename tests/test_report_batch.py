"""Rule sheets written together (`batch.write_tables`) are the files the sheets written one by
one (`table.write_table`) make: every XML part byte for byte, styles included."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import polars as pl
import pytest

from fanpin_cli.report import batch, rowxml
from fanpin_cli.report.formats import Formats
from fanpin_cli.report.memrows import file_workbook, memory_workbook
from fanpin_cli.report.sheets import rule_columns
from fanpin_cli.report.table import write_table
from fanpin_cli.report.writer import WORKBOOK_OPTIONS


def _flags() -> pl.DataFrame:
    """Rows of four rules: 25 rows (long wrapped texts, several row heights), 3 rows (odd texts:
    a control character, & and <, leading spaces, an `_x0041_` run), 1 row, and rows of a rule
    with no sheet; a rule with a sheet has no rows."""
    rows = []
    for i in range(25):
        rows.append(("MED_UNINSURED", "red", f"H{i:03d}", "灵溪镇", "司城村", f"张{i}",
                     "未参保。" * (1 + 3 * (i % 9)), "医保_参保登记.csv", str(i + 2)))
    rows += [
        ("HOUSE_UNSAFE", "yellow", "H100", "首车镇", "龙珠村", " 李四", "危房 & 鉴定<C级>", "住建.xlsx", "3"),
        ("HOUSE_UNSAFE", "yellow", "H101", "首车镇", "龙珠村", "王\x01五", "_x0041_ 标记", "住建.xlsx", "4"),
        ("HOUSE_UNSAFE", "yellow", None, None, None, "赵六", "1990-01-01 00:00:00 出生", None, None),
        ("DIS_SEVERE", "blue", "H200", "灵溪镇", "司城村", "钱七", "重度残疾", "残联.csv", "9"),
        ("CIV_CANDIDATE", "blue", None, "灵溪镇", None, "孙八", "应纳未纳", "民政.csv", "5"),
    ]
    frame = pl.DataFrame(rows, schema=["rule_id", "level", "household_id", "township", "village", "person_name",
                                       "detail", "source_file", "source_row"], orient="row")
    return frame.with_columns(
        pl.lit(None, dtype=pl.String).alias("group"), pl.lit("户主").alias("relation"),
        pl.lit("433127********1234").alias("id_number"), pl.lit(None, dtype=pl.Int64).alias("roster_row"),
        pl.format("key-{}", pl.int_range(pl.len())).alias("record_key"),
    )


RULES = ["MED_UNINSURED", "HOUSE_UNSAFE", "EDU_DROPOUT", "DIS_SEVERE"]


def _write(path: Path, together: bool, make, own_row: bool = False) -> dict[str, bytes]:  # noqa: ANN001 - a workbook factory
    wb = make(str(path), WORKBOOK_OPTIONS | {"tmpdir": str(path.parent)})
    fm = Formats(wb)
    flags = _flags()
    cols = rule_columns(flags)
    sheets = [(wb.add_worksheet(rule), rule) for rule in RULES]
    if own_row:  # a data row of the first sheet with a height of its own, set before its cells
        sheets[0][0].set_row(5, 40)
    if together:
        tables = batch.write_tables(fm, cols, flags, "rule_id", sheets)
    else:
        tables = [write_table(ws, fm, 0, cols, flags.filter(pl.col("rule_id") == rule), columns=True)
                  for ws, rule in sheets]
    assert [t.n_rows for t in tables] == [25, 3, 0, 1]
    wb.close()
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}


@pytest.mark.parametrize("make", [memory_workbook, file_workbook], ids=["in memory", "temp files"])
def test_sheets_written_together_are_the_sheets_written_one_by_one(tmp_path: Path, make) -> None:  # noqa: ANN001
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    alone = _write(tmp_path / "a" / "r.xlsx", False, make)
    together = _write(tmp_path / "b" / "r.xlsx", True, make)
    assert alone.keys() == together.keys()
    for name in alone:
        assert together[name] == alone[name], name
    sheet = together["xl/worksheets/sheet1.xml"].decode()
    heights = set(re.findall(r'ht="([0-9.]+)" customHeight="1"', sheet))
    assert {"30", "45", "60"} <= heights  # rows of several heights
    odd = together["xl/worksheets/sheet2.xml"].decode()
    assert "_x005F_x0041_" in odd and "&amp;" in odd and 'xml:space="preserve"> 李四' in odd


def test_many_rows_are_written_one_by_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "BATCH_ROWS", 10)  # the 29 rows of the sheets: table by table
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert _write(tmp_path / "a" / "r.xlsx", True, memory_workbook) == \
        _write(tmp_path / "b" / "r.xlsx", False, memory_workbook)


def test_row_heights_are_found_with_the_rows_xml_and_a_row_of_its_own_is_kept(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    made = []
    real = rowxml._height_tags
    monkeypatch.setattr(rowxml, "_height_tags", lambda *args: made.append(args[1]) or real(*args))
    for own_row in (False, True):
        (tmp_path / f"a{own_row}").mkdir()
        (tmp_path / f"b{own_row}").mkdir()
        made.clear()
        together = _write(tmp_path / f"b{own_row}" / "r.xlsx", True, memory_workbook, own_row)
        # every height's <row> opening made ahead (no query of the heights first), except where
        # a row has attributes of its own: then the heights first, as before
        assert (made == [1, 1, 1]) is not own_row
        assert together == _write(tmp_path / f"a{own_row}" / "r.xlsx", False, memory_workbook, own_row)
