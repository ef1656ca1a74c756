"""Read the villages' answers back from returned workbooks into the history.

Every sheet with a `记录编号` heading (within its first rows) is read; rows are matched by that
key, never by row number, so re-sorted, filtered or re-saved workbooks (Excel, WPS,
LibreOffice) read the same. Importing a file twice changes nothing; rows whose key is unknown
and keys given different answers are reported, never guessed; answers outside the dropdown's
vocabulary are kept and reported.

    result = import_feedback(history_path, "永顺县", [Path("返回/大坝乡.xlsx")])
    result.stored, result.problems
"""

from __future__ import annotations

import hashlib
import unicodedata
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from .store import HistoryError, connect, insert_frame, query, settle_open
from .view import VOCABULARY

KEY_HEADING, VERDICT_HEADING = "记录编号", "核实结果"
REMARK_HEADINGS = ("整改情况", "备注")  # free text beside the answer (备注 on 待核实匹配)
HEADER_SEARCH_ROWS = 20

PROBLEM_UNMATCHED = "记录编号未找到"
PROBLEM_NO_KEY = "缺少记录编号"
PROBLEM_CONFLICT = "同一记录的核实结果不一致"
PROBLEM_VOCABULARY = "核实结果不在下拉选项内（已保存，请确认）"
PROBLEM_KIND = "核实结果与工作表类型不符（未保存）"
PROBLEM_REMARK_ONLY = "只填写了整改情况或备注、未填写核实结果（未保存，请填写核实结果）"
PROBLEM_NO_KEY_COLUMN = "没有找到「记录编号」列（本文件未导入：请用 fanpin 生成的工作簿填写，不要删除或改名此列）"
PROBLEM_NO_VERDICT_COLUMN = "没有找到「核实结果」列（本工作表未导入：请不要删除或改名此列）"
KEY_LENGTH = 16  # a record key: 16 hex characters

ROW_SCHEMA = {"file": pl.String, "sheet": pl.String, "row_number": pl.Int64, "record_key": pl.String,
              "verdict": pl.String, "remark": pl.String}


@dataclass
class FeedbackResult:
    """What an import did: rows read, verdicts stored (new or changed), rows already known, and
    every problem (file, sheet, row, 记录编号, 核实结果, problem)."""

    rows_read: int = 0
    stored: int = 0
    unchanged: int = 0
    sheets: list[str] = field(default_factory=list)
    problems: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema={**ROW_SCHEMA, "problem": pl.String}))


def _clean(value: object) -> str | None:
    """A cell as trimmed text (whole floats as integers: a key typed into a number cell)."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        value = value.isoformat()
    text = unicodedata.normalize("NFKC", str(value)).strip()
    return text or None


def _key(value: object, *, as_text: bool = False) -> str | None:
    """A 记录编号 cell as text; one a spreadsheet made a number (all its characters digits) gets
    the leading zeros it lost back (`0123…` typed or pasted as a number is `123…`). `as_text`:
    the reader gave every cell as text (.xls, .ods), numbers too — there a text of digits alone
    shorter than a key is taken for such a number (every key has KEY_LENGTH characters).

    >>> _key(123456789012345), _key(123456789012345.0), _key("0a1b2c3d4e5f6a7b"), _key(None)
    ('0123456789012345', '0123456789012345', '0a1b2c3d4e5f6a7b', None)
    >>> _key("123456789012345"), _key("123456789012345", as_text=True)
    ('123456789012345', '0123456789012345')
    """
    if isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer() \
            and 0 <= value < 10 ** KEY_LENGTH:
        return f"{int(value):0{KEY_LENGTH}d}"
    text = _clean(value)
    if as_text and text is not None and text.isascii() and text.isdigit() and len(text) < KEY_LENGTH:
        return text.zfill(KEY_LENGTH)
    return text


def _verdict(value: object) -> str | None:
    text = _clean(value)
    return None if text is None else "".join(text.split())


def _file_date(path: Path) -> date:
    """When the answers were saved: the workbook's own 'modified' property, else the file's time."""
    try:
        from openpyxl.packaging.core import DocumentProperties  # noqa: F401 - availability check
        with zipfile.ZipFile(path) as zf:
            xml = zf.read("docProps/core.xml").decode("utf-8", "replace")
        start = xml.find("modified")
        if start >= 0:
            text = xml[xml.find(">", start) + 1:]
            return date.fromisoformat(text[:10])
    except (KeyError, ValueError, zipfile.BadZipFile, OSError):
        pass
    return date.fromtimestamp(path.stat().st_mtime)


# Returned workbooks: Excel 2007-365 (.xlsx/.xlsm, read with openpyxl: each cell as typed), and
# what an office program saves when asked for its own or an older format (LibreOffice's .ods,
# Excel 97-2003's .xls; read with calamine, every cell as text).
OPENPYXL_SUFFIXES = (".xlsx", ".xlsm")
CALAMINE_SUFFIXES = (".xls", ".ods")


@contextmanager
def _sheets(path: Path) -> Iterator[tuple[bool, Iterator[tuple[str, Iterator[tuple[int, tuple]]]]]]:
    """The sheets of workbook `path`: whether its reader gives every cell as text, and each sheet
    as (title, its rows as (1-based row number, cell values))."""
    suffix = path.suffix.lower()
    if suffix not in OPENPYXL_SUFFIXES + CALAMINE_SUFFIXES:
        raise HistoryError("反馈文件应为 Excel 工作簿（.xlsx，或 .xls、.ods）：请用 fanpin 生成的工作簿填写后原样保存",
                           file=path.name)
    if suffix in CALAMINE_SUFFIXES:
        yield True, _calamine_sheets(path)
        return
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable workbook is the user's file problem
        raise HistoryError(f"无法读取工作簿：{exc}", file=path.name) from exc
    try:
        yield False, ((ws.title, enumerate(_all_rows(ws), start=1)) for ws in wb.worksheets)
    finally:
        wb.close()


def _all_rows(ws: Any) -> Iterator[tuple]:
    """An openpyxl sheet's rows as values; a sheet whose stated size is wrong (<dimension
    ref="A1"/>, some exporters) read to its last row, not cut there."""
    if hasattr(ws, "reset_dimensions"):
        ws.reset_dimensions()
    return ws.iter_rows(values_only=True)


def _calamine_sheets(path: Path) -> Iterator[tuple[str, Iterator[tuple[int, tuple]]]]:
    """The sheets of an .xls or .ods file through fastexcel, every cell as text; the rows
    numbered from the sheet's first row holding a value (where the reader starts)."""
    import fastexcel

    from fanpin_cli.loaders import first_filled_rows

    try:
        reader = fastexcel.read_excel(str(path))
        names = list(reader.sheet_names)
    except Exception as exc:  # noqa: BLE001 - fastexcel raises several of its own types
        raise HistoryError(f"无法读取工作簿：{str(exc).splitlines()[0][:120]}", file=path.name) from exc
    firsts = first_filled_rows(path, "xls" if path.suffix.lower() == ".xls" else "xlsx", len(names))
    for index, (name, first) in enumerate(zip(names, firsts, strict=True)):
        try:
            frame = reader.load_sheet(index, header_row=None, dtypes="string").to_polars()
        except Exception as exc:  # noqa: BLE001
            raise HistoryError(f"无法读取工作表：{str(exc).splitlines()[0][:120]}", file=path.name) from exc
        yield name, enumerate(frame.iter_rows(), start=first)


def read_answers(path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every answered row of every sheet with a 记录编号 heading in `path` (.xlsx/.xlsm, .xls,
    .ods), and the problems of the file itself (no sheet with a 记录编号 column; a sheet with one
    but no 核实结果 column): rows of ROW_SCHEMA with `problem`."""
    rows: list[dict[str, object]] = []
    trouble: list[dict[str, object]] = []
    keyed_sheets = 0
    with _sheets(path) as (as_text, sheets):
        for title, numbered in sheets:
            header: dict[str, int] | None = None
            for number, values in numbered:
                # A heading row: within the first rows, or a further table on the same sheet.
                if KEY_HEADING in values or (header is None and number <= HEADER_SEARCH_ROWS):
                    texts = [_clean(v) or "" for v in values]
                    if KEY_HEADING in texts:
                        header = {"key": texts.index(KEY_HEADING)}
                        for name, headings in (("verdict", (VERDICT_HEADING,)), ("remark", REMARK_HEADINGS)):
                            hit = [i for i, t in enumerate(texts) if t.startswith(headings)]
                            if hit:
                                header[name] = hit[0]
                        keyed_sheets += 1
                        if "verdict" not in header:
                            trouble.append({"file": path.name, "sheet": title, "row_number": number,
                                            "problem": PROBLEM_NO_VERDICT_COLUMN})
                        continue
                if header is None:
                    if number > HEADER_SEARCH_ROWS:
                        break
                    continue
                if "verdict" not in header and "remark" not in header:
                    continue

                def cell(name: str, values: tuple = values, header: dict = header) -> object:
                    i = header.get(name)
                    return values[i] if i is not None and i < len(values) else None

                verdict, remark = _verdict(cell("verdict")), _clean(cell("remark"))
                if verdict is None and remark is None:
                    continue
                rows.append({"file": path.name, "sheet": title, "row_number": number,
                             "record_key": _key(cell("key"), as_text=as_text), "verdict": verdict, "remark": remark})
    if not keyed_sheets:
        trouble.append({"file": path.name, "sheet": None, "row_number": None, "problem": PROBLEM_NO_KEY_COLUMN})
    # What a village typed (整改情况, 核实结果, a 记录编号 mistyped) masked as it is read: an ID in
    # it is never stored in the history, nor shown in the problems list
    from fanpin_cli.privacy import mask_frame

    problems = pl.DataFrame(trouble, schema={**ROW_SCHEMA, "problem": pl.String})
    return mask_frame(pl.DataFrame(rows, schema=ROW_SCHEMA), skip=()), mask_frame(problems, skip=())  # (a 记录编号 too)


def _known_records(con, county: str) -> pl.DataFrame:  # noqa: ANN001
    """Every record key the history sent to this county, latest run first per (key, kind)."""
    return query(con, """
        WITH known AS (
            SELECT f.record_key, 'flag' AS kind, f.rule_id, f.person_key, f.evidence_key, NULL AS row_key,
                   r.run_id, r.period
            FROM flags f JOIN runs r USING (run_id) WHERE r.county = ? AND f.shown
            UNION ALL
            SELECT i.record_key, 'issue', i.check_id, i.person_key, NULL, NULL, r.run_id, r.period
            FROM issues i JOIN runs r USING (run_id) WHERE r.county = ? AND i.record_key IS NOT NULL
            UNION ALL
            SELECT v.record_key, 'review', NULL, v.person_key, NULL, v.row_key, r.run_id, r.period
            FROM review v JOIN runs r USING (run_id) WHERE r.county = ?
        )
        SELECT * FROM known
        QUALIFY row_number() OVER (PARTITION BY record_key, kind ORDER BY period DESC) = 1
    """, [county, county, county])


def import_feedback(
    history_path: Path,
    county: str,
    files: list[Path],
    *,
    verdict_date: date | None = None,
    wait_seconds: float = 20.0,
) -> FeedbackResult:
    """Read `files` and store their answers in the history (one transaction for all files)."""
    if not history_path.exists():
        raise HistoryError("历史记录文件不存在：请先运行一次月度比对（fanpin run），再导入反馈", file=str(history_path))
    result = FeedbackResult()
    frames = []
    file_problems: list[pl.DataFrame] = []
    for path in files:
        if not path.is_file():
            raise HistoryError("找不到反馈文件", file=str(path))
        answers, trouble = read_answers(path)
        file_problems.append(trouble)
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        when = verdict_date or _file_date(path)
        frames.append(answers.with_columns(pl.lit(sha).alias("file_sha256"), pl.lit(when).alias("verdict_date")))
        result.sheets += sorted(set(answers["sheet"].to_list()))
    rows = pl.concat(frames) if frames else pl.DataFrame(schema=ROW_SCHEMA)
    result.rows_read = rows.height
    problems: list[pl.DataFrame] = [p for p in file_problems if p.height]

    def problem(frame: pl.DataFrame, text: str) -> None:
        if frame.height:
            problems.append(frame.select(*ROW_SCHEMA, pl.lit(text).alias("problem")))

    with connect(history_path, wait_seconds=wait_seconds) as con:
        settle_open(con, history_path)  # a run that died once its lists were in place counts
        known = _known_records(con, county)
        problem(rows.filter(pl.col("record_key").is_null()), PROBLEM_NO_KEY)
        # 整改情况 without 核实结果: no answer to keep (never dropped unsaid)
        problem(rows.filter(pl.col("record_key").is_not_null() & pl.col("verdict").is_null()), PROBLEM_REMARK_ONLY)
        keyed = rows.filter(pl.col("record_key").is_not_null() & pl.col("verdict").is_not_null())
        all_kinds = {kind: list(words) for kind, words in VOCABULARY.items()}
        matched = keyed.join(known, on="record_key", how="inner")
        problem(keyed.join(known, on="record_key", how="anti"), PROBLEM_UNMATCHED)
        # A key known as several kinds: keep the kind whose vocabulary holds the answer.
        fits = pl.col("kind").replace_strict({k: v for k, v in all_kinds.items()}, return_dtype=pl.List(pl.String))
        matched = matched.with_columns(fits.list.contains(pl.col("verdict")).fill_null(False).alias("in_vocabulary"))
        best = matched.sort(["in_vocabulary"], descending=True).unique(
            ["file", "sheet", "row_number"], keep="first", maintain_order=True
        )
        # 是同一人/不是同一人 on a flag or quality row (or 属实… on a match) is not guessed at.
        other_vocab = (~pl.col("in_vocabulary")) & pl.col("verdict").is_in(
            [w for k, ws in all_kinds.items() for w in ws]
        )
        problem(best.filter(other_vocab), PROBLEM_KIND)
        best = best.filter(~other_vocab)
        problem(best.filter(~pl.col("in_vocabulary") & pl.col("verdict").is_not_null()), PROBLEM_VOCABULARY)
        # Different answers for one record (county and township workbooks, two files) → conflict.
        distinct = best.filter(pl.col("verdict").is_not_null()).unique(["record_key", "kind", "verdict"])
        clash = distinct.group_by("record_key", "kind").agg(pl.col("verdict").n_unique().alias("n")).filter(pl.col("n") > 1)
        conflicted = best.join(clash.select("record_key", "kind"), on=["record_key", "kind"], how="semi")
        problem(conflicted, PROBLEM_CONFLICT)
        best = best.join(clash.select("record_key", "kind"), on=["record_key", "kind"], how="anti")
        # Same answer in several files/rows: keep one (the latest file date), remark taken if any.
        chosen = best.sort(["verdict_date", "remark"], descending=True, nulls_last=True).unique(
            ["record_key", "kind"], keep="first", maintain_order=True
        )
        latest = query(con, """
            SELECT record_key, kind, verdict AS _old_verdict, remark AS _old_remark FROM verdicts WHERE county = ?
            QUALIFY row_number() OVER (PARTITION BY record_key, kind ORDER BY verdict_date DESC, imported_at DESC) = 1
        """, [county])
        # an answer a file gave that is stored already (that file imported before, maybe after a
        # later file changed it): importing it again changes nothing
        before = query(con, "SELECT DISTINCT record_key, kind, file_sha256 AS _before_sha FROM verdicts WHERE county = ?",
                       [county]).with_columns(pl.lit(True).alias("_imported"))
        chosen = chosen.join(latest, on=["record_key", "kind"], how="left").join(
            before, left_on=["record_key", "kind", "file_sha256"], right_on=["record_key", "kind", "_before_sha"], how="left")
        same = ((pl.col("_old_verdict").eq_missing(pl.col("verdict")) & pl.col("_old_remark").eq_missing(pl.col("remark")))
                | pl.col("_imported").fill_null(False))
        result.unchanged = chosen.filter(same).height
        new = chosen.filter(~same).with_columns(
            pl.lit(datetime.now()).alias("imported_at"), pl.lit(county).alias("county"),
            pl.col("run_id").alias("sent_run_id"),
        )
        con.execute("BEGIN TRANSACTION")
        try:
            insert_frame(con, "verdicts", new)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        result.stored = new.height
    if problems:
        result.problems = pl.concat(problems, how="vertical_relaxed").sort("file", "sheet", "row_number")
    return result
