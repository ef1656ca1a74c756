"""The monthly loop end to end on three months of a synthetic county (`synth --months`):
run → villages answer (workbooks, one re-saved by LibreOffice) → feedback → next run.

Checks the issue's "done when": the review queue shrinks to new items only, rejected pairs stay
rejected, exempt flags stay away and come back when their evidence changes or the exemption
ends, statuses and resolved lists match the truth of the scripted changes, the history holds
no full ID, and a run killed mid-way leaves the history as it was."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import openpyxl
import polars as pl
import pytest
from typer.testing import CliRunner
from villages import answer_workbook

from fanpin_cli.cli import app
from fanpin_cli.synth.months import generate_months

runner = CliRunner()
PERIODS = ("2026-11", "2026-12", "2027-01")
FULL_ID = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
EXEMPT_RULE_SHORT = "DIS_SEVERE"  # exempt for 1 month only (config), to see an exemption end


def _run(county: Path, period: str, out: Path) -> Path:
    result = runner.invoke(app, ["run", str(county / f"fanpin-{period}.toml"), "--out", str(out / period), "-q"])
    assert result.exit_code == 0, result.output
    return out / period


def _csv(folder: Path, name: str) -> pl.DataFrame:
    return pl.read_csv(folder / name, infer_schema_length=0)


def _resave(files: list[Path], out_dir: Path) -> list[Path]:
    """The files opened and saved again by LibreOffice Calc (one soffice run)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{out_dir}/.lo", "--convert-to", "xlsx",
                    "--outdir", str(out_dir), *map(str, files)], check=True, capture_output=True, timeout=300)
    return [out_dir / f.name for f in files]


def _tables_digest(db: Path) -> str:
    h = hashlib.sha256()
    with duckdb.connect(str(db), read_only=True) as con:
        for (table,) in sorted(con.execute("SHOW TABLES").fetchall()):
            rows = con.execute(f"SELECT * FROM {table}").fetchall()
            for row in sorted(map(repr, rows)):
                h.update(f"{table}|{row}".encode())
    return h.hexdigest()


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> dict:
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice not installed")
    root = tmp_path_factory.mktemp("loop")
    county = root / "county"
    generate_months(200, 11, county, 3)
    for period in PERIODS:  # DIS_SEVERE verdicts hold for one month only
        cfg = county / f"fanpin-{period}.toml"
        cfg.write_text(cfg.read_text(encoding="utf-8")
                       + f"\n[history]\nexempt_months = {{ default = 6, {EXEMPT_RULE_SHORT} = 1 }}\n", encoding="utf-8")
    out = root / "out"
    m1 = _run(county, PERIODS[0], out)
    flags1, review1 = _csv(m1, "flags.csv"), _csv(m1, "review.csv")

    # --- the villages' answers to month 1 -------------------------------------------------
    truth = _csv(county / PERIODS[0] / "ground_truth", "links_truth.csv")
    # the month's files are named "2026-11/…" in its config; the truth names them without folder
    review = review1.with_columns(pl.col("source_file").str.split("/").list.last()).join(
        truth.select("source_file", "source_row", "true_roster_row"), on=["source_file", "source_row"], how="left")
    same = review.filter(pl.col("roster_row") == pl.col("true_roster_row"))["record_key"].to_list()
    other = review.filter(pl.col("roster_row").ne_missing(pl.col("true_roster_row")))["record_key"].to_list()
    assert same and other

    changes = {p: _csv(county / p / "ground_truth", "changes.csv") for p in PERIODS[1:]}
    touched2 = set(changes[PERIODS[1]]["roster_row"].to_list())
    later = changes[PERIODS[2]]
    # flags that do not hang on a review item (answering that item may resolve them)
    med = flags1.filter((pl.col("rule_id") == "MED_UNINSURED") & ~pl.col("detail").str.contains("待核实匹配"))
    changing = set(later.filter(pl.col("effect") == "evidence_changed")["roster_row"].to_list()) - touched2
    evidence_back = med.filter(pl.col("roster_row").is_in(list(changing)))
    assert evidence_back.height >= 1
    untouched = set(changes[PERIODS[1]]["roster_row"].to_list()) | set(later["roster_row"].to_list())
    stays_away = med.filter(~pl.col("roster_row").is_in(list(untouched | changing))).head(2)
    short = flags1.filter(pl.col("rule_id") == EXEMPT_RULE_SHORT).head(1)
    true_ones = flags1.filter(pl.col("rule_id") == EXEMPT_RULE_SHORT).slice(1, 2)  # a rule months do not move
    assert stays_away.height == 2 and short.height == 1 and true_ones.height == 2
    false_keys = [*evidence_back["record_key"], *stays_away["record_key"], *short["record_key"]]

    # The county answers some rows in report.xlsx; the townships answer the others in their own
    # workbooks, which go through LibreOffice (opened and saved again) on their way back.
    feedback = root / "feedback"
    county_answers = {k: ("不属实", "已在外地参保") for k in [*evidence_back["record_key"], *stays_away["record_key"]]}
    county_answers |= {k: ("属实", "已落实残疾人两项补贴") for k in true_ones["record_key"]}
    county_answers |= {k: ("是同一人", None) for k in same}
    town_answers = {k: ("不属实", "已复核等级") for k in short["record_key"]}
    town_answers |= {k: ("不是同一人", None) for k in other}
    county_book = feedback / "county" / "report.xlsx"
    found = answer_workbook(m1 / "report.xlsx", county_book, county_answers)
    assert found == set(county_answers)
    towns, in_towns = [], set()
    for book in sorted((m1 / "乡镇").glob("*.xlsx")):
        got = answer_workbook(book, feedback / "towns" / book.name, town_answers)
        if got:
            towns.append(feedback / "towns" / book.name)
            in_towns |= got
    assert in_towns == set(town_answers) and towns
    resaved = _resave(towns, feedback / "resaved")
    stray = openpyxl.load_workbook(resaved[0])  # a row typed with a 记录编号 fanpin never sent
    ws = next(w for w in stray.worksheets if any("记录编号" in r for r in w.iter_rows(values_only=True)))
    header = next(r for r in ws.iter_rows(values_only=True) if "记录编号" in r)
    row = [None] * len(header)
    row[header.index("记录编号")], row[header.index("核实结果")] = "不存在的编号", "属实"
    ws.append(row)
    stray.save(resaved[0])
    fb = runner.invoke(app, ["feedback", str(county / f"fanpin-{PERIODS[0]}.toml"), str(county_book),
                             *map(str, resaved), "--date", "2026-12-05"])
    assert fb.exit_code == 0, fb.output
    again = runner.invoke(app, ["feedback", str(county / f"fanpin-{PERIODS[0]}.toml"), str(county_book),
                                *map(str, resaved), "--date", "2026-12-06"])
    assert again.exit_code == 0 and "新保存核实结果 0 条" in again.output

    m2 = _run(county, PERIODS[1], out)
    m3 = _run(county, PERIODS[2], out)
    return {"root": root, "county": county, "out": out, "m1": m1, "m2": m2, "m3": m3, "same": same, "other": other,
            "evidence_back": evidence_back, "stays_away": stays_away, "short": short, "true_ones": true_ones,
            "false_keys": false_keys, "feedback_output": fb.output, "changes": changes}


def test_feedback_reports_unmatched_rows(loop: dict) -> None:
    assert "问题 1 行" in loop["feedback_output"] and "记录编号未找到" in loop["feedback_output"]
    report = pl.read_csv(loop["county"] / "feedback-report.csv")
    assert report["记录编号"].to_list() == ["不存在的编号"]


def test_review_queue_shrinks_to_new_items(loop: dict) -> None:
    r1, r2, r3 = (set(_csv(loop[m], "review.csv")["record_key"]) for m in ("m1", "m2", "m3"))
    assert r1 and not (r2 & r1) and not (r3 & r1)
    assert len(r2) < len(r1)


def test_confirmed_pairs_link_and_rejected_stay_rejected(loop: dict) -> None:
    for m in ("m2", "m3"):
        links = _csv(loop[m], "links.csv")
        confirmed = links.filter(pl.col("match_method") == "confirmed")
        assert confirmed.height == len(loop["same"])
        assert confirmed["reason"].str.contains("2026-12-05").all()
        assert confirmed["reason"].str.contains("report.xlsx").all()
        rejected = links.filter(pl.col("reason").str.contains("不是同一人"))
        assert rejected.height == len(loop["other"])
        assert (rejected["match_status"] == "unlinked").all()


def test_exempt_flags_stay_away_and_come_back(loop: dict) -> None:
    ev, away, short = (set(loop[k]["record_key"]) for k in ("evidence_back", "stays_away", "short"))
    f2, e2 = _csv(loop["m2"], "flags.csv"), _csv(loop["m2"], "exempted.csv")
    assert set(e2["record_key"]) == ev | away | short
    assert not (set(f2["record_key"]) & (ev | away | short))
    assert (e2["verdict"] == "不属实").all() and e2["verdict_date"].str.starts_with("2026-12-05").all()
    f3, e3 = _csv(loop["m3"], "flags.csv"), _csv(loop["m3"], "exempted.csv")
    assert set(e3["record_key"]) == away  # evidence changed for `ev`; one month is over for `short`
    back = f3.filter(pl.col("record_key").is_in(list(ev | short)))
    assert set(back["record_key"]) == ev | short
    assert set(back["status"]) == {"复发"} and set(back["last_verdict"]) == {"不属实"}
    assert set(back["first_flagged"]) == {PERIODS[0]}


def test_statuses_and_resolved_match_the_truth(loop: dict) -> None:
    f1, f2 = _csv(loop["m1"], "flags.csv"), _csv(loop["m2"], "flags.csv")
    assert set(f1["status"]) == {"新增"}
    exempt = set(loop["false_keys"])
    # status is 新增 exactly for flags not raised last month, 持续 for the others
    new2 = set(f2.filter(pl.col("status") == "新增")["record_key"])
    assert new2 == set(f2["record_key"]) - set(f1["record_key"])
    assert set(f2.filter(pl.col("status") == "持续")["record_key"]) == set(f2["record_key"]) & set(f1["record_key"])
    changes = loop["changes"][PERIODS[1]]
    new_rows = set(changes.filter(pl.col("effect") == "new")["roster_row"].cast(pl.Int64))
    med2 = f2.filter(pl.col("rule_id") == "MED_UNINSURED").with_columns(pl.col("roster_row").cast(pl.Int64))
    assert new_rows and new_rows == set(med2.filter(pl.col("status") == "新增")["roster_row"])
    resolved = _csv(loop["m2"], "resolved.csv").with_columns(pl.col("roster_row").cast(pl.Int64))
    gone_rows = set(changes.filter(pl.col("effect") == "resolved")["roster_row"].cast(pl.Int64))
    med_resolved = resolved.filter(pl.col("rule_id") == "MED_UNINSURED")
    assert gone_rows and gone_rows <= set(med_resolved["roster_row"])
    # the others hung on a review item that the village confirmed (是同一人): now linked
    others = med_resolved.filter(~pl.col("roster_row").is_in(list(gone_rows)))
    assert others["detail"].str.contains("另有待核实匹配").all()
    assert med_resolved["resolved_reason"].str.contains("已有该人员的关联记录").all()
    assert not (set(resolved["record_key"]) & exempt)  # an exempted flag still fires
    # every resolved flag is resolved in the truth, or hung on a review item the villages answered
    truth = _csv(loop["county"] / PERIODS[1] / "ground_truth", "resolved_truth.csv").with_columns(
        pl.col("roster_row").cast(pl.Int64))
    key = ["rule_id", "household_id", "roster_row"]
    unexplained = resolved.join(truth, on=key, how="anti", nulls_equal=True).filter(
        ~pl.col("detail").str.contains("另有待核实匹配"))
    assert unexplained.height == 0, unexplained.select(key, "detail")
    assert resolved.join(truth, on=key, how="semi", nulls_equal=True).height >= len(gone_rows)
    # answers show on the flags, unanswered flags sent a month ago are overdue
    answered = f2.filter(pl.col("record_key").is_in(list(loop["true_ones"]["record_key"])))
    assert set(answered["last_verdict"]) == {"属实"} and set(answered["overdue"]) == {"false"}
    ongoing = f2.filter((pl.col("status") == "持续") & pl.col("last_verdict").is_null())
    assert ongoing.height and set(ongoing["overdue"]) == {"true"}
    assert set(f2.filter(pl.col("status") == "新增")["overdue"]) == {"false"}
    summary = __import__("json").loads((loop["m2"] / "summary.json").read_text(encoding="utf-8"))
    assert summary["history"]["new"] == len(new2) and summary["history"]["resolved"] == resolved.height


def test_history_command_and_timeline(loop: dict, tmp_path: Path) -> None:
    cfg = str(loop["county"] / f"fanpin-{PERIODS[2]}.toml")
    runs = runner.invoke(app, ["history", cfg])
    assert runs.exit_code == 0 and all(p in runs.output for p in PERIODS)
    hh = loop["evidence_back"]["household_id"][0]
    out = tmp_path / "时间线.xlsx"
    timeline = runner.invoke(app, ["history", cfg, "--household", hh, "--out", str(out)])
    assert timeline.exit_code == 0, timeline.output
    assert "不属实" in timeline.output
    ws = openpyxl.load_workbook(out)["时间线"]
    assert [c.value for c in ws[2]][:3] == ["月份", "事项", "规则/检查/部门"]
    events = {(r[0], r[1]) for r in ws.iter_rows(min_row=3, values_only=True)}
    assert {(PERIODS[0], "预警"), (PERIODS[0], "村（社区）反馈"), (PERIODS[1], "免于重复核实"),
            (PERIODS[2], "预警")} <= events
    persons = _csv(loop["county"] / PERIODS[0] / "ground_truth", "persons.csv")
    roster_row = int(loop["evidence_back"]["roster_row"][0])
    full_id = persons.filter(pl.col("roster_row") == str(roster_row))["id_number"].item()
    by_id = runner.invoke(app, ["history", cfg, "--id", full_id])
    assert by_id.exit_code == 0, by_id.output
    assert full_id not in by_id.output and "免于重复核实" in by_id.output


def test_history_holds_no_full_id(loop: dict) -> None:
    db = loop["county"] / "fanpin-history.duckdb"
    ids = set(_csv(loop["county"] / PERIODS[0] / "ground_truth", "persons.csv")["id_number"].to_list())
    with duckdb.connect(str(db), read_only=True) as con:
        tables = [t for (t,) in con.execute("SHOW TABLES").fetchall()]
        assert {"runs", "links", "flags", "issues", "review", "verdicts"} <= set(tables)
        values = 0
        for table in tables:
            for row in con.execute(f"SELECT * FROM {table}").fetchall():
                for v in row:
                    if isinstance(v, str):
                        values += 1
                        # A file's sha256 (64 hex characters) may hold 18 decimal digits in a row
                        # by chance: it is a digest, not an ID.
                        if not HEX_DIGEST.fullmatch(v):
                            assert not FULL_ID.search(v), (table, v)
                        assert v not in ids
    assert values > 10_000
    raw = db.read_bytes()
    assert not any(i.encode() in raw for i in list(ids)[:500])


def test_history_keeps_only_links_to_roster_persons(loop: dict) -> None:
    """The history keeps a month's links that point at a roster person (linked, or waiting in
    the review queue), each once; rows of people outside the roster are not kept."""
    db = loop["county"] / "fanpin-history.duckdb"
    links = _csv(loop["m3"], "links.csv")
    kept = links.filter(pl.col("match_status").is_in(["linked", "review"]))
    assert kept.height and links.height > kept.height  # the month has both kinds
    with duckdb.connect(str(db), read_only=True) as con:
        rows = pl.DataFrame(con.execute(
            "SELECT l.record_key, l.match_status FROM links l JOIN runs r USING (run_id) WHERE r.period = ?",
            [PERIODS[2]]).fetchall(), schema=["record_key", "match_status"], orient="row")
    assert set(rows["match_status"].to_list()) <= {"linked", "review"}
    assert rows.height == kept.height
    assert sorted(rows["record_key"].to_list()) == sorted(kept["record_key"].to_list())


def _kill_when_held(cfg: Path, out: Path, hold: str) -> None:
    """`fanpin run cfg` in a child process whose `hold` code (run first) prints 'held' and sleeps
    at the point to be tested; killed (SIGKILL) there."""
    code = (f"import sys, time\n{hold}from fanpin_cli.cli import main\n"
            f"sys.argv = ['fanpin', 'run', {str(cfg)!r}, '--out', {str(out)!r}, '-q']\nmain()\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


def test_killed_run_leaves_history_unchanged(loop: dict, tmp_path: Path) -> None:
    db = loop["county"] / "fanpin-history.duckdb"
    before = _tables_digest(db)
    cfg = loop["county"] / f"fanpin-{PERIODS[2]}.toml"
    # A real process killed (SIGKILL) in the middle of writing its history: held after the links
    # table is inserted, so that the kill lands inside the transaction.
    _kill_when_held(cfg, tmp_path / "killed", "from fanpin_cli.history import store as m\n"
                    "real = m.insert_frame\n"
                    "def held(con, table, frame):\n"
                    "    real(con, table, frame)\n"
                    "    if table == 'links':\n"
                    "        print('held', flush=True); time.sleep(60)\n"
                    "m.insert_frame = held\n")
    assert _tables_digest(db) == before
    # and killed early, while computing: held there (a fixed sleep was no longer early enough
    # once a run reached its history within 2 s)
    _kill_when_held(cfg, tmp_path / "k2", "from fanpin_cli import pipeline as m\n"
                    "real = m.compute\n"
                    "def held(*args, **kwargs):\n"
                    "    print('held', flush=True); time.sleep(60)\n"
                    "m.compute = held\n")
    assert _tables_digest(db) == before
    assert runner.invoke(app, ["history", str(cfg)]).exit_code == 0  # the file still opens and reads


def test_workbooks_show_history(loop: dict) -> None:
    wb = openpyxl.load_workbook(loop["m2"] / "report.xlsx", read_only=True)
    summary = [r for r in wb["汇总"].iter_rows(values_only=True)]
    start = next(i for i, r in enumerate(summary) if r[0] and str(r[0]).startswith("七、与上次运行比较"))
    assert summary[start + 1][:7] == ("乡镇", "村", "新增", "持续", "复发", "已解除", "超期未核实")
    total = next(r for r in summary[start:] if r[0] == "合计")
    f2, r2 = _csv(loop["m2"], "flags.csv"), _csv(loop["m2"], "resolved.csv")
    assert total[2:7] == ((f2["status"] == "新增").sum(), (f2["status"] == "持续").sum(),
                          (f2["status"] == "复发").sum(), r2.height, (f2["overdue"] == "true").sum())
    med = wb["未参加基本医疗保险（断保漏保）"]
    header = next(r for r in med.iter_rows(values_only=True) if r and "记录编号" in r)
    assert {"预警状态", "首次预警", "上次核实结果", "超期未核实"} <= set(header)
    # a township's workbook counts only its own rows
    town = sorted((loop["m2"] / "乡镇").glob("*.xlsx"))[0]
    rows = list(openpyxl.load_workbook(town, read_only=True)["汇总"].iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] and str(r[0]).startswith("七、"))
    body = [r for r in rows[start + 2:] if r[0] and r[0] != "合计"][:50]
    assert body and len({r[0] for r in body if not str(r[0]).startswith(("八", "九"))}) == 1
