"""The history store on hand-made run tables: recording, the view of the past, the villages'
answers read back from workbooks (also re-saved by LibreOffice), idempotence, conflicts,
no full ID in the file, a run counted only once committed (its rows staged before), a busy file."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import openpyxl
import polars as pl
import pytest

from fanpin_cli.history import HistoryBusyError, RunRecord, load_view, record_run
from fanpin_cli.history import store as store_mod
from fanpin_cli.history.feedback import (
    PROBLEM_CONFLICT,
    PROBLEM_KIND,
    PROBLEM_NO_KEY,
    PROBLEM_NO_KEY_COLUMN,
    PROBLEM_NO_VERDICT_COLUMN,
    PROBLEM_REMARK_ONLY,
    PROBLEM_UNMATCHED,
    PROBLEM_VOCABULARY,
    import_feedback,
)
from fanpin_cli.history.reduce import history_tables
from fanpin_cli.history.store import HistoryError

ID_A = "433127199001011238"
ID_B = "43312719851203002X"
FULL_ID = re.compile(r"[0-9]{17}[0-9Xx]")

ROSTER = pl.DataFrame({
    "source_row": [3, 4], "household_id": ["H1", "H2"], "name": ["张三", "李四"],
    "id_number": [ID_A, ID_B], "person_key": ["pkA", "pkB"],
})


def _run(period: str, flags: list[tuple[str, str, int, str]], review_keys: list[str] = ()) -> RunRecord:
    """A run whose flags are (record_key, rule_id, roster_row, detail)."""
    f = pl.DataFrame(
        [{"record_key": k, "rule_id": r, "roster_row": row, "household_id": "H1" if row == 3 else "H2",
          "township": "大坝乡", "village": "新村", "level": "red", "sector": "medical_enrollment",
          "person_name": "张三" if row == 3 else "李四", "detail": d,
          "id_number": ID_A if row == 3 else ID_B, "shown": True}
         for k, r, row, d in flags],
        schema_overrides={"roster_row": pl.Int64},
    )
    review = pl.DataFrame({
        "record_key": list(review_keys), "sector": ["medical_enrollment"] * len(review_keys),
        "roster_row": [4] * len(review_keys), "extract_name": ["李四"] * len(review_keys),
        "extract_id": [None] * len(review_keys), "roster_id": [ID_B] * len(review_keys),
        "reason": [f"姓名一致，证件号 {ID_B} 缺失"] * len(review_keys),
        "row_key": [f"row-{k}" for k in review_keys],
    }, schema_overrides={"extract_id": pl.String, "roster_row": pl.Int64})
    links = pl.DataFrame({
        "record_key": ["L1"], "sector": ["medical_enrollment"], "source_file": ["医保.csv"], "source_row": [2],
        "roster_row": [3], "household_id": ["H1"], "match_method": ["id_exact"], "match_status": ["linked"],
        "match_score": [100.0], "reason": ["证件号码一致"], "name": ["张三"], "id_number": [ID_A],
    })
    ref = date.fromisoformat(f"{period}-28")
    return RunRecord("永顺县", period, ref, "0.1.0", tables=history_tables(roster=ROSTER, links=links, flags=f,
                                                                           review=review))


def _workbook(path: Path, rows: list[tuple[str | None, str | None, str | None]], review: list[tuple[str, str]] = ()) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "MED_UNINSURED"
    ws.append(["永顺县 未参保预警名单"])
    ws.append([])
    ws.append(["序号", "乡镇", "姓名", "核实结果", "整改情况", "记录编号"])
    for i, (key, verdict, remark) in enumerate(rows, start=1):
        ws.append([i, "大坝乡", "张三", verdict, remark, key])
    rv = wb.create_sheet("待核实匹配")
    rv.append(["记录编号", "部门记录姓名", "名单姓名", "核实结果"])
    for key, verdict in review:
        rv.append([key, "李四", "李四", verdict])
    wb.save(path)
    return path


def test_record_and_view(tmp_path: Path) -> None:
    db = tmp_path / "h.duckdb"
    record_run(db, _run("2026-10", [("F1", "MED_UNINSURED", 3, "无参保"), ("F2", "DIS_SEVERE", 4, "一级")]))
    record_run(db, _run("2026-11", [("F1", "MED_UNINSURED", 3, "无参保")]))
    view = load_view(db, "永顺县", "2026-12")
    assert view.previous_period == "2026-11"
    assert view.previous_flags["record_key"].to_list() == ["F1"]
    first = dict(view.first_flagged.select("record_key", "first_flagged").iter_rows())
    assert first == {"F1": "2026-10", "F2": "2026-10"}
    assert view.previous_flags["person_key"].to_list() == ["pkA"]
    assert view.previous_flags["masked_id"].to_list() == ["433127***********8"]
    # A rerun of a period replaces it; the view of that period never sees itself.
    record_run(db, _run("2026-11", [("F2", "DIS_SEVERE", 4, "一级")]))
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 2
    assert load_view(db, "永顺县", "2026-12").previous_flags["record_key"].to_list() == ["F2"]
    assert load_view(db, "永顺县", "2026-11").previous_period == "2026-10"
    assert load_view(db, "另一个县", "2026-12").previous_period is None


def test_history_file_holds_no_full_id(tmp_path: Path) -> None:
    db = tmp_path / "h.duckdb"
    record_run(db, _run("2026-11", [("F1", "MED_UNINSURED", 3, f"证件号 {ID_A} 无参保")], review_keys=["R1"]))
    with duckdb.connect(str(db), read_only=True) as con:
        tables = [r[0] for r in con.execute("SHOW TABLES").fetchall()]
        seen = 0
        for table in tables:
            for row in con.execute(f"SELECT * FROM {table}").fetchall():
                for value in row:
                    seen += 1
                    assert not FULL_ID.search(str(value)), (table, value)
    assert seen > 50
    assert ID_A.encode() not in db.read_bytes() and ID_B.encode() not in db.read_bytes()


def test_failed_write_leaves_history_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "h.duckdb"
    record_run(db, _run("2026-10", [("F1", "MED_UNINSURED", 3, "无参保")]))
    real = store_mod.insert_frame

    def failing(con, table, frame):  # noqa: ANN001
        if table == "flags":
            raise RuntimeError("磁盘已满")
        real(con, table, frame)

    monkeypatch.setattr(store_mod, "insert_frame", failing)
    with pytest.raises(RuntimeError):
        record_run(db, _run("2026-11", [("F2", "DIS_SEVERE", 4, "一级")]))
    monkeypatch.undo()
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT period FROM runs").fetchall() == [("2026-10",)]
        assert con.execute("SELECT count(*) FROM links").fetchone()[0] == 1


def test_second_writer_waits_then_stops_with_chinese_message(tmp_path: Path) -> None:
    db = tmp_path / "h.duckdb"
    record_run(db, _run("2026-10", [("F1", "MED_UNINSURED", 3, "无参保")]))
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb,time; c=duckdb.connect({str(db)!r}); print('ok', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        with pytest.raises(HistoryBusyError, match="正被另一个 fanpin 进程使用"):
            record_run(db, _run("2026-11", []), wait_seconds=1)
    finally:
        holder.kill()
        holder.wait()
    record_run(db, _run("2026-11", []), wait_seconds=5)  # once the other process is gone, it works


def test_feedback_import(tmp_path: Path) -> None:
    db = tmp_path / "h.duckdb"
    record_run(db, _run("2026-11", [("F1", "MED_UNINSURED", 3, "无参保"), ("F2", "DIS_SEVERE", 4, "一级"),
                                    ("F3", "DIS_SEVERE", 3, "二级")], review_keys=["R1", "R2"]))
    book = _workbook(tmp_path / "大坝乡.xlsx", [
        ("F1", "不属实", "已参保，系统未同步"),
        ("F2", " 属实 ", None),
        ("NOPE", "属实", None),           # unknown key
        (None, "属实", None),             # no key
        ("F3", "待定", "家里没人"),        # free text: kept and reported
        ("F1", None, None),               # not answered: ignored
    ], review=[("R1", "是同一人"), ("R2", "属实")])
    result = import_feedback(db, "永顺县", [book], verdict_date=date(2026, 12, 5))
    assert result.stored == 4  # F1, F2, F3 (free text), R1
    problems = dict(zip(result.problems["record_key"].fill_null("").to_list(), result.problems["problem"].to_list(), strict=True))
    assert problems == {"NOPE": PROBLEM_UNMATCHED, "": PROBLEM_NO_KEY, "F3": PROBLEM_VOCABULARY, "R2": PROBLEM_KIND}
    view = load_view(db, "永顺县", "2026-12")
    verdicts = dict(view.verdicts.select("record_key", "verdict").iter_rows())
    assert verdicts == {"F1": "不属实", "F2": "属实", "F3": "待定", "R1": "是同一人"}
    assert view.confirmed_pairs.select("record_key", "person_key").rows() == [("row-R1", "pkB")]
    assert view.exemptions["record_key"].to_list() == ["F1"]
    sheet = view.verdicts.filter(pl.col("record_key") == "R1")["sheet"].item()
    assert sheet == "待核实匹配"
    # Importing the same file again changes nothing.
    again = import_feedback(db, "永顺县", [book], verdict_date=date(2026, 12, 6))
    assert again.stored == 0 and again.unchanged == 4


def test_conflicting_answers_are_reported_not_stored(tmp_path: Path) -> None:
    db = tmp_path / "h.duckdb"
    record_run(db, _run("2026-11", [("F1", "MED_UNINSURED", 3, "无参保"), ("F2", "DIS_SEVERE", 4, "一级")]))
    a = _workbook(tmp_path / "a.xlsx", [("F1", "属实", None), ("F2", "属实", None)])
    b = _workbook(tmp_path / "b.xlsx", [("F1", "不属实", None), ("F2", "属实", "已核")])
    result = import_feedback(db, "永顺县", [a, b], verdict_date=date(2026, 12, 5))
    assert result.stored == 1
    assert sorted(result.problems.filter(pl.col("problem") == PROBLEM_CONFLICT)["file"].to_list()) == ["a.xlsx", "b.xlsx"]
    assert "F1" not in load_view(db, "永顺县", "2026-12").verdicts["record_key"].to_list()


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_feedback_from_libreoffice_resaved_workbook(tmp_path: Path) -> None:
    db = tmp_path / "h.duckdb"
    record_run(db, _run("2026-11", [("F1", "MED_UNINSURED", 3, "无参保"), ("F2", "DIS_SEVERE", 4, "一级")],
                        review_keys=["R1"]))
    src = _workbook(tmp_path / "src" / "大坝乡.xlsx" if (tmp_path / "src").mkdir() is None else None,
                    [("F2", "属实", "已上报"), ("F1", "已整改", "已补缴")], review=[("R1", "不是同一人")])
    out = tmp_path / "resaved"
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "xlsx",
                    "--outdir", str(out), str(src)], check=True, capture_output=True, timeout=180)
    resaved = out / "大坝乡.xlsx"
    assert resaved.read_bytes() != src.read_bytes()
    result = import_feedback(db, "永顺县", [resaved])
    assert result.stored == 3 and result.problems.height == 0
    view = load_view(db, "永顺县", "2026-12")
    assert dict(view.verdicts.select("record_key", "verdict").iter_rows()) == {"F1": "已整改", "F2": "属实", "R1": "不是同一人"}
    assert view.rejected_pairs.select("record_key", "person_key").rows() == [("row-R1", "pkB")]
    assert import_feedback(db, "永顺县", [src]).stored == 0  # the original and its re-save agree


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
@pytest.mark.parametrize("office_format", ["ods", "xls"])
def test_feedback_saved_by_libreoffice_in_another_format(tmp_path: Path, office_format: str) -> None:
    """A village that saved the workbook as LibreOffice's own .ods or as Excel 97-2003 .xls
    (LibreOffice's "keep the format?" question): read as the .xlsx is — the same answers, the
    same row numbers in the problems (the sheet starting with an empty row), a 记录编号 the
    office program made a number given its leading zero back."""
    db = tmp_path / "h.duckdb"
    record_run(db, _run("2026-11", [("F1", "MED_UNINSURED", 3, "无参保"), ("0123456789012345", "DIS_SEVERE", 4, "一级")],
                        review_keys=["R1"]))
    src = tmp_path / "src"
    src.mkdir()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "MED_UNINSURED"
    sheet.append([])  # the sheet's first row empty: the reader starts at the second
    sheet.append(["永顺县 未参保预警名单"])
    sheet.append(["序号", "姓名", "核实结果", "整改情况", "记录编号"])
    sheet.append([1, "张三", "不属实", "已参保，系统未同步", "F1"])
    sheet.append([2, "李四", "属实", None, 123456789012345])  # the key typed over as a number
    sheet.append([3, "张三", None, "已入户，正在核实", "F1"])  # a remark without an answer
    review = book.create_sheet("待核实匹配")
    review.append(["记录编号", "部门记录姓名", "名单姓名", "核实结果"])
    review.append(["R1", "李四", "李四", "不是同一人"])
    book.save(src / "大坝乡.xlsx")
    out = tmp_path / "saved"
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", office_format,
                    "--outdir", str(out), str(src / "大坝乡.xlsx")], check=True, capture_output=True, timeout=180)
    saved = out / f"大坝乡.{office_format}"
    result = import_feedback(db, "永顺县", [saved], verdict_date=date(2026, 12, 5))
    assert result.stored == 3
    assert result.problems.select("file", "sheet", "row_number", "record_key", "problem").rows() == [
        (saved.name, "MED_UNINSURED", 6, "F1", PROBLEM_REMARK_ONLY)]
    view = load_view(db, "永顺县", "2026-12")
    assert dict(view.verdicts.select("record_key", "verdict").iter_rows()) == {
        "F1": "不属实", "0123456789012345": "属实", "R1": "不是同一人"}
    original = import_feedback(db, "永顺县", [src / "大坝乡.xlsx"], verdict_date=date(2026, 12, 5))
    assert original.stored == 0 and original.unchanged == 3  # the .xlsx it was saved from agrees


def test_feedback_in_a_format_no_office_program_saves_is_refused_by_name(tmp_path: Path) -> None:
    db = tmp_path / "h.duckdb"
    record_run(db, _run("2026-11", [("F1", "MED_UNINSURED", 3, "无参保")]))
    text = tmp_path / "大坝乡.csv"
    text.write_text("记录编号,核实结果\nF1,属实\n", encoding="utf-8")
    with pytest.raises(HistoryError, match="反馈文件应为 Excel 工作簿") as refused:
        import_feedback(db, "永顺县", [text])
    assert refused.value.file == "大坝乡.csv"


def test_an_older_file_imported_again_does_not_undo_a_later_answer(tmp_path: Path) -> None:
    """v1 (不属实), then v2 (属实, the village's correction, the same day), then v1 again (a
    folder imported once more): v1's answer was stored again as the newest and the flag left."""
    db = tmp_path / "h.duckdb"
    record_run(db, _run("2026-11", [("F1", "MED_UNINSURED", 3, "无参保")]))
    v1 = _workbook(tmp_path / "v1.xlsx", [("F1", "不属实", "第一次")])
    v2 = _workbook(tmp_path / "v2.xlsx", [("F1", "属实", "更正")])
    day = date(2026, 12, 5)
    assert import_feedback(db, "永顺县", [v1], verdict_date=day).stored == 1
    assert import_feedback(db, "永顺县", [v2], verdict_date=day).stored == 1
    again = import_feedback(db, "永顺县", [v1], verdict_date=day)
    assert again.stored == 0 and again.unchanged == 1
    view = load_view(db, "永顺县", "2026-12")
    assert view.verdicts.select("record_key", "verdict").rows() == [("F1", "属实")]
    assert view.exemptions.height == 0


def test_what_cannot_be_imported_is_said_never_dropped(tmp_path: Path) -> None:
    """A remark without an answer, a sheet whose 核实结果 heading was renamed, a file without a
    记录编号 column: each was read as nothing, silently ("问题 0 行")."""
    db = tmp_path / "h.duckdb"
    record_run(db, _run("2026-11", [("F1", "MED_UNINSURED", 3, "无参保"), ("F2", "DIS_SEVERE", 4, "一级")]))
    remark = _workbook(tmp_path / "remark.xlsx", [("F1", None, "已入户，正在核实"), ("F2", "属实", None)])
    renamed = _workbook(tmp_path / "renamed.xlsx", [("F1", "属实", None)])
    book = openpyxl.load_workbook(renamed)
    book["MED_UNINSURED"]["D3"] = "核查结果"
    book.save(renamed)
    keyless = tmp_path / "keyless.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["姓名", "核实结果"])
    book.active.append(["张三", "属实"])
    book.save(keyless)
    result = import_feedback(db, "永顺县", [remark, renamed, keyless], verdict_date=date(2026, 12, 5))
    assert result.stored == 1  # F2
    said = sorted(result.problems.select("file", "sheet", "row_number", "record_key", "problem").rows(),
                  key=lambda r: (r[0], r[2] or 0))
    assert said == [
        ("keyless.xlsx", None, None, None, PROBLEM_NO_KEY_COLUMN),
        ("remark.xlsx", "MED_UNINSURED", 4, "F1", PROBLEM_REMARK_ONLY),
        ("renamed.xlsx", "MED_UNINSURED", 3, None, PROBLEM_NO_VERDICT_COLUMN),
    ]


def test_a_key_a_spreadsheet_made_a_number_gets_its_leading_zero_back(tmp_path: Path) -> None:
    """记录编号 are 16 hex characters; an all-digit one typed or pasted into a number cell loses its
    leading zero (0123… → 123…): it was 记录编号未找到, and masked as if an ID."""
    db = tmp_path / "h.duckdb"
    record_run(db, _run("2026-11", [("0123456789012345", "MED_UNINSURED", 3, "无参保")]))
    book = _workbook(tmp_path / "n.xlsx", [(None, "不属实", None)])
    wb = openpyxl.load_workbook(book)
    wb["MED_UNINSURED"]["F4"] = 123456789012345  # a number cell
    wb.save(book)
    result = import_feedback(db, "永顺县", [book], verdict_date=date(2026, 12, 5))
    assert result.stored == 1 and result.problems.height == 0
    assert load_view(db, "永顺县", "2026-12").verdicts["record_key"].to_list() == ["0123456789012345"]


def test_a_sheet_whose_stated_size_is_wrong_is_read_whole(tmp_path: Path) -> None:
    """Some exporters write `<dimension ref="A1"/>` whatever the sheet holds; read-only openpyxl
    trusted it and stopped after row 1: every answer lost, "0 个工作表"."""
    import zipfile

    db = tmp_path / "h.duckdb"
    record_run(db, _run("2026-11", [("F1", "MED_UNINSURED", 3, "无参保"), ("F2", "DIS_SEVERE", 4, "一级")]))
    src = _workbook(tmp_path / "src.xlsx", [("F1", "属实", None), ("F2", "不属实", None)])
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                data = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1"/>', data)
            zout.writestr(item, data)
    assert b'<dimension ref="A1"/>' in zipfile.ZipFile(bad).read("xl/worksheets/sheet1.xml")
    result = import_feedback(db, "永顺县", [bad], verdict_date=date(2026, 12, 5))
    assert result.stored == 2 and result.problems.height == 0


def test_second_table_on_a_sheet_is_read_by_its_own_headings(tmp_path: Path) -> None:
    db = tmp_path / "h.duckdb"
    record_run(db, _run("2026-11", [("F1", "MED_UNINSURED", 3, "无参保"), ("F2", "DIS_SEVERE", 4, "一级")]))
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["标题"])
    ws.append(["姓名", "核实结果", "整改情况", "记录编号"])
    ws.append(["张三", "属实", "已上报", "F1"])
    for _ in range(30):
        ws.append([])
    ws.append(["待核实后确定（另一张表）"])
    ws.append(["记录编号", "姓名", "整改情况", "核实结果"])
    ws.append(["F2", "李四", "等待核实", "不属实"])
    wb.save(tmp_path / "两段.xlsx")
    result = import_feedback(db, "永顺县", [tmp_path / "两段.xlsx"], verdict_date=date(2026, 12, 1))
    assert result.stored == 2 and result.problems.height == 0
    got = load_view(db, "永顺县", "2026-12").verdicts.select("record_key", "verdict", "remark").rows()
    assert sorted(got) == [("F1", "属实", "已上报"), ("F2", "不属实", "等待核实")]


def test_history_reduced_beside_the_outputs_failing_leaves_no_outputs_in_place(tmp_path, monkeypatch) -> None:
    # The run's record is reduced while the outputs are written; should that fail, it is tried
    # once more before the outputs are swapped in, and failing again the run stops there: no
    # month in place that the history does not count (`runner.swapped_in`).
    from fanpin_cli.config import load_config
    from fanpin_cli.history.runner import HistoryRun
    from fanpin_cli.pipeline import run_job
    from fanpin_cli.resources import resource_dir

    calls = []

    def broken(self, config, artifacts, out_dir, **kwargs):
        calls.append(out_dir)
        raise RuntimeError("reduction failed")

    monkeypatch.setattr(HistoryRun, "prepare", broken)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="reduction failed"):
        run_job(load_config(resource_dir("sample_data") / "fanpin.toml"), out, split="none",
                history_path=tmp_path / "h.duckdb")
    assert len(calls) == 2  # beside the outputs, then again before the swap
    assert not out.exists()  # the folder the run made is removed again: the outputs never went in
    db = tmp_path / "h.duckdb"  # nothing recorded (the links staged during the rules were dropped)
    if db.exists():
        with duckdb.connect(str(db), read_only=True) as con:
            assert [con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("runs", "links", "staged_runs")] == [0, 0, 0]


def test_pending_run_counts_only_once_committed(tmp_path: Path) -> None:
    # A run is written while its outputs are (`PendingRun`), seen by no one until committed.
    db = tmp_path / "h.duckdb"
    record_run(db, _run("2026-10", [("F1", "MED_UNINSURED", 3, "无参保")]))
    pending = store_mod.PendingRun(db, _run("2026-11", [("F2", "DIS_SEVERE", 4, "一级")]))
    try:
        with store_mod.connect(db) as con:  # another connection: the transaction is not visible
            assert con.execute("SELECT period FROM runs").fetchall() == [("2026-10",)]
    finally:
        run_id = pending.commit()
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT period FROM runs ORDER BY period").fetchall() == [("2026-10",), ("2026-11",)]
        assert con.execute("SELECT run_id FROM flags WHERE record_key = 'F2'").fetchall() == [(run_id,)]


def test_pending_run_rolled_back_changes_nothing_and_frees_the_file(tmp_path: Path) -> None:
    db = tmp_path / "h.duckdb"
    record_run(db, _run("2026-11", [("F1", "MED_UNINSURED", 3, "无参保")]))
    pending = store_mod.PendingRun(db, _run("2026-11", [("F2", "DIS_SEVERE", 4, "一级")]))  # would replace it
    pending.rollback()
    pending.rollback()  # twice is harmless
    with pytest.raises(store_mod.HistoryError):
        pending.commit()
    # Another process can write the file at once (the lock went with the connection).
    code = f"import duckdb; c = duckdb.connect({str(db)!r}); print(c.execute('SELECT count(*) FROM flags').fetchone()[0])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "1"
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT record_key FROM flags").fetchall() == [("F1",)]


def test_pending_rows_are_in_the_file_before_the_commit_but_read_by_no_one(tmp_path: Path) -> None:
    # The rows go into the file while the outputs are written (the end of the run only adds
    # the `runs` row); until then the view and the timeline read the history as it was.
    db = tmp_path / "h.duckdb"
    record_run(db, _run("2026-10", [("F1", "MED_UNINSURED", 3, "无参保")]))
    pending = store_mod.PendingRun(db, _run("2026-11", [("F2", "DIS_SEVERE", 4, "一级")]))
    try:
        with store_mod.connect(db) as con:
            assert con.execute("SELECT count(*) FROM flags WHERE run_id = ?", [pending.run_id]).fetchone()[0] == 1
            assert con.execute("SELECT period FROM runs").fetchall() == [("2026-10",)]
        view = load_view(db, "永顺县", "2026-12")
        assert view.previous_period == "2026-10"
        assert view.previous_flags["record_key"].to_list() == ["F1"]
    finally:
        pending.commit()
    assert load_view(db, "永顺县", "2026-12").previous_period == "2026-11"


def _staged_then_killed(db: Path, run: str) -> None:
    """`store.PendingRun(db, <run>)` (`run`: Python text of this module's `_run(...)`) in a child
    process that dies before the commit, its connection never closed."""
    code = (
        "import os, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from pathlib import Path\n"
        "from test_store import _run\n"
        "from fanpin_cli.history import store\n"
        f"store.PendingRun(Path({str(db)!r}), {run})\n"
        "os._exit(0)  # killed before the commit, the connection never closed\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_rows_of_a_run_killed_before_its_commit_are_removed_by_the_next_run(tmp_path: Path) -> None:
    # A run killed between writing its rows and committing them leaves rows that no run names:
    # no reader sees them, and the next recorded run removes them.
    db = tmp_path / "h.duckdb"
    record_run(db, _run("2026-10", [("F1", "MED_UNINSURED", 3, "无参保")]))
    _staged_then_killed(db, "_run('2026-11', [('F2', 'DIS_SEVERE', 4, '一级')])")
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT period FROM runs").fetchall() == [("2026-10",)]
        assert con.execute("SELECT count(*) FROM flags").fetchone()[0] == 2  # F1 and the killed run's F2
    assert load_view(db, "永顺县", "2026-12").previous_flags["record_key"].to_list() == ["F1"]
    record_run(db, _run("2026-11", [("F3", "DIS_SEVERE", 3, "二级")]))
    with duckdb.connect(str(db), read_only=True) as con:
        assert sorted(r[0] for r in con.execute("SELECT record_key FROM flags").fetchall()) == ["F1", "F3"]
        assert con.execute("SELECT count(*) FROM staged_runs").fetchone()[0] == 0
        named = con.execute("SELECT count(*) FROM links WHERE run_id NOT IN (SELECT run_id FROM runs)").fetchone()[0]
        assert named == 0


def test_staged_rows_are_in_the_database_file_itself_before_the_swap(tmp_path: Path) -> None:
    # Staging checkpoints the rows into the file (beside the outputs): a process that dies right
    # after leaves no .wal for the next open to replay, and what the commit after the swap
    # writes is the `runs` row alone. A new file's tables are all there, schema version with them.
    db = tmp_path / "h.duckdb"
    _staged_then_killed(db, "_run('2026-11', [('F2', 'DIS_SEVERE', 4, '一级')], ['R1'])")
    wal = db.with_name(db.name + ".wal")
    assert not wal.exists() or wal.stat().st_size == 0
    with duckdb.connect(str(db), read_only=True) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert {"meta", "runs", "run_inputs", *store_mod.RUN_TABLES, "staged_runs", "placed_runs", "verdicts"} <= tables
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() == [
            (str(store_mod.SCHEMA_VERSION),)]
        assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 0
        staged = con.execute("SELECT run_id FROM staged_runs").fetchall()
        assert len(staged) == 1
        assert con.execute("SELECT record_key FROM flags WHERE run_id = ?", list(staged[0])).fetchall() == [("F2",)]
        assert con.execute("SELECT count(*) FROM review WHERE run_id = ?", list(staged[0])).fetchone()[0] == 1


def test_reaching_the_history_does_not_import_duckdb_until_a_file_is_opened(tmp_path: Path) -> None:
    # A run without a history (or whose file does not exist yet) never pays for importing DuckDB
    # before its outputs: the config, the pipeline and the history's modules import it on use.
    code = (
        "import sys\n"
        "import fanpin_cli.config, fanpin_cli.pipeline, fanpin_cli.history, fanpin_cli.history.runner\n"
        "from pathlib import Path\n"
        "from fanpin_cli.history import load_view\n"
        f"view = load_view(Path({str(tmp_path / 'none.duckdb')!r}), '永顺县', '2026-11')\n"
        "assert view.previous_period is None\n"
        "print('duckdb' in sys.modules)\n"
        "from fanpin_cli.history import record_run\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from test_store import _run\n"
        f"record_run(Path({str(tmp_path / 'h.duckdb')!r}), _run('2026-11', [('F1', 'DIS_SEVERE', 4, '一级')]))\n"
        "print('duckdb' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["False", "True"]
    assert load_view(tmp_path / "h.duckdb", "永顺县", "2026-12").previous_flags["record_key"].to_list() == ["F1"]


def test_a_commit_keeps_the_staged_rows_of_another_run_of_this_process(tmp_path: Path) -> None:
    # Two runs of one process staged on one file (e.g. two counties sharing a history path):
    # the first one's commit removes rows no run names only if no live run of this process
    # staged them; the second's rows survive and count once it commits.
    db = tmp_path / "h.duckdb"
    a = store_mod.PendingRun(db, _run("2026-10", [("FA", "MED_UNINSURED", 3, "无参保")]))
    b = store_mod.PendingRun(db, _run("2026-11", [("FB", "DIS_SEVERE", 4, "一级")]))
    a.commit()
    with store_mod.connect(db) as con:
        assert con.execute("SELECT count(*) FROM flags WHERE run_id = ?", [b.run_id]).fetchone()[0] == 1
    b.commit()
    with duckdb.connect(str(db), read_only=True) as con:
        assert sorted(con.execute("SELECT period FROM runs").fetchall()) == [("2026-10",), ("2026-11",)]
        assert sorted(r[0] for r in con.execute("SELECT record_key FROM flags").fetchall()) == ["FA", "FB"]


def test_run_whose_outputs_fail_records_nothing(tmp_path, monkeypatch) -> None:
    # The history is written beside the outputs but committed only once they are in place: a
    # run that fails while writing them leaves the history as it was (here none: the file it
    # made is removed), and no process waiting.
    import fanpin_cli.outputs as outputs_mod
    from fanpin_cli.config import load_config
    from fanpin_cli.history.runner import HistoryRun
    from fanpin_cli.pipeline import run_job
    from fanpin_cli.resources import resource_dir

    staged = []
    real_stage = HistoryRun.stage

    def stage(self, config, artifacts, out_dir, **kwargs):
        staged.append(real_stage(self, config, artifacts, out_dir, **kwargs))
        return staged[-1]

    def broken(*args, **kwargs):
        import time

        deadline = time.monotonic() + 60
        while not staged and time.monotonic() < deadline:  # the history is written meanwhile
            time.sleep(0.05)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(HistoryRun, "stage", stage)
    monkeypatch.setattr(outputs_mod, "write_outputs", broken)
    db = tmp_path / "h.duckdb"
    out = tmp_path / "out"
    import multiprocessing

    before = set(multiprocessing.active_children())
    with pytest.raises(Exception, match="写出结果失败"):
        run_job(load_config(resource_dir("sample_data") / "fanpin.toml"), out, split="none", history_path=db)
    assert len(staged) == 1 and not (out / "links.csv").exists()
    # the report.xlsx process, waiting for data the failed writing never sent, is ended
    assert set(multiprocessing.active_children()) <= before
    # the county's first month: no history file left behind (there was none), nor its .wal
    assert not db.exists() and not db.with_name(db.name + ".wal").exists()


def test_what_the_history_keeps_of_a_link_is_its_links_table() -> None:
    # reduce.LINK_COLUMNS picks the run's link columns before anything is added; a column added
    # to the links table but not there would silently stay empty.
    from fanpin_cli.history.reduce import LINK_COLUMNS
    from fanpin_cli.history.schema import DDL

    with duckdb.connect() as con:
        con.execute(DDL)
        table = {r[0] for r in con.execute("DESCRIBE links").fetchall()}
    # run_id is the run's; masked_id is made from the ID; roster_row only finds the person
    assert table == (set(LINK_COLUMNS) - {"roster_row"}) | {"run_id", "masked_id"}
