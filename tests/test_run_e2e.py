"""End-to-end: `fanpin run` (and `fanpin demo`) through Typer's CliRunner on the bundled sample
county, every output checked against the county's ground truth."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from stdnum.cn import ric
from typer.testing import CliRunner

from fanpin_cli.cli import app
from fanpin_cli.resources import resource_dir

SAMPLE = resource_dir("sample_data")
CONFIG = SAMPLE / "fanpin.toml"
TRUTH = SAMPLE / "ground_truth"
OUTPUTS = (
    "links.csv", "flags.csv", "quality_issues.csv", "review.csv", "stocktake.csv", "summary.json", "report.xlsx",
    "fanpin.log",
)
# An 18-character ID: region, a 19xx/20xx birth date, sequence, check character.
ID_LIKE = re.compile(
    r"(?<![0-9])[1-8][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx](?![0-9])"
)

runner = CliRunner()


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()}


@pytest.fixture(scope="module")
def run_out(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, dict[str, str], dict[str, str]]:
    out = tmp_path_factory.mktemp("run") / "out"
    before = _hashes(SAMPLE)
    result = runner.invoke(app, ["run", str(CONFIG), "--out", str(out)])
    after = _hashes(SAMPLE)
    return out, result, before, after


def _csv(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False)


def _truth(name: str) -> pl.DataFrame:
    return pl.read_csv(TRUTH / name, infer_schema=False)


def test_run_exits_zero_and_writes_every_output(run_out):
    out, result, _, _ = run_out
    assert result.exit_code == 0, result.output
    for name in OUTPUTS:
        assert (out / name).is_file(), name
    assert not list(out.glob(".*.tmp")), "temp files left behind"


def test_inputs_are_not_modified(run_out):
    _, _, before, after = run_out
    assert before == after


def test_links_have_every_extract_row_once(run_out):
    out, *_ = run_out
    links = _csv(out / "links.csv")
    truth = _truth("links_truth.csv")
    key = ["source_file", "source_row"]
    assert links.height == truth.height
    assert links.select(key).is_duplicated().sum() == 0
    assert links.select(key).sort(key).equals(truth.select(key).sort(key))
    assert set(links["match_status"].unique()) <= {"linked", "review", "unlinked"}
    assert links["reason"].null_count() == 0


def test_summary_counts_agree_with_links(run_out):
    out, *_ = run_out
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    links = _csv(out / "links.csv")
    for entry in summary["inputs"][1:]:
        rows = links.filter(pl.col("source_file") == entry["file"])
        assert entry["rows_read"] == rows.height
        assert entry["rows_linked"] == rows.filter(pl.col("match_status") == "linked").height
        assert entry["rows_review"] + entry["rows_unlinked"] + entry["rows_linked"] == rows.height
        assert len(entry["sha256"]) == 64
    assert summary["version"] and summary["elapsed_seconds"] > 0


def test_auto_links_point_to_the_true_person(run_out):
    out, *_ = run_out
    links = _csv(out / "links.csv").join(_truth("links_truth.csv"), on=["source_file", "source_row"])
    linked = links.filter(pl.col("match_status") == "linked")
    wrong = linked.filter(pl.col("roster_row") != pl.col("true_roster_row").fill_null(""))
    assert linked.height > 1000
    assert wrong.height <= linked.height // 1000, wrong.select("source_file", "source_row", "reason").head(10)


def test_usable_rows_of_roster_persons_are_found(run_out):
    out, *_ = run_out
    links = _csv(out / "links.csv").join(_truth("links_truth.csv"), on=["source_file", "source_row"])
    usable = links.filter(pl.col("true_roster_row").is_not_null() & (pl.col("usable").str.to_lowercase() == "true"))
    found = usable.filter((pl.col("match_status") == "linked") & (pl.col("roster_row") == pl.col("true_roster_row")))
    assert found.height / usable.height >= 0.99


def _flag_keys(frame: pl.DataFrame) -> pl.DataFrame:
    """Person rules by roster row, household rules by household, 应纳未纳 by source row."""
    candidate = pl.col("rule_id") == "CIV_CANDIDATE"
    return frame.select(
        "rule_id",
        pl.when(candidate).then(pl.lit("")).otherwise(pl.col("household_id").fill_null("")).alias("household_id"),
        pl.when(candidate).then(pl.lit("")).otherwise(pl.col("roster_row").fill_null("")).alias("roster_row"),
        pl.when(candidate).then(pl.col("source_file")).otherwise(pl.lit("")).alias("source_file"),
        pl.when(candidate).then(pl.col("source_row")).otherwise(pl.lit("")).alias("source_row"),
    ).unique()


def test_flags_agree_with_ground_truth(run_out):
    """Recall against the truth; precision on flags whose evidence is settled. A flag that a
    pending review could clear says so in its detail (待核实匹配) and is counted apart: such
    rows are never used silently, so the flag stands until a person confirms the match."""
    out, *_ = run_out
    raw = _csv(out / "flags.csv")
    pending = raw["detail"].str.contains("待核实匹配")
    flags = _flag_keys(raw)
    settled = _flag_keys(raw.filter(~pending))
    truth = _flag_keys(_truth("flags_truth.csv"))
    found = flags.join(truth, on=flags.columns, how="semi").height
    assert found / truth.height >= 0.98, f"recall {found}/{truth.height}"
    right = settled.join(truth, on=flags.columns, how="semi").height
    assert right / settled.height >= 0.99, f"precision {right}/{settled.height}"
    reviews = _csv(out / "links.csv").filter(pl.col("match_status") == "review").height
    assert pending.sum() <= reviews


def test_injected_quality_faults_are_reported(run_out):
    out, *_ = run_out
    issues = _csv(out / "quality_issues.csv")
    truth = _truth("quality_truth.csv").rename({"column": "field"})
    contract = truth.filter(~pl.col("check_id").is_in(["ID_UNKNOWN_REGION"]))
    found = contract.join(issues, on=["source_file", "source_row", "check_id"], how="semi")
    assert found.height / contract.height >= 0.99, contract.join(found, on=["source_file", "source_row", "check_id"], how="anti").head(10)


def test_report_workbook_opens_with_ids_as_text(run_out):
    out, *_ = run_out
    wb = openpyxl.load_workbook(out / "report.xlsx")
    assert wb.sheetnames[0] == "汇总"
    for name in ("应纳未纳", "待核实匹配", "数据质量"):
        assert name in wb.sheetnames
    flags = _csv(out / "flags.csv").filter(pl.col("rule_id") == "MED_UNINSURED")
    title = flags["title"][0]
    sheet = next(ws for ws in wb.worksheets if ws.title.startswith(title[:10].replace("/", "")))
    header = [c.value for c in sheet[1]]
    for col in ("乡镇", "村", "户编号", "姓名", "证件号码", "核实结果", "整改情况"):
        assert col in header, header
    assert sheet.freeze_panes == "A2"
    hh = header.index("户编号") + 1
    assert sheet.cell(row=2, column=hh).data_type == "s"


def _all_output_text(out: Path) -> str:
    parts = [p.read_text(encoding="utf-8-sig") for p in out.iterdir() if p.suffix in (".csv", ".json", ".log")]
    wb = openpyxl.load_workbook(out / "report.xlsx", read_only=True)
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            parts.extend(str(v) for v in row if v is not None)
    return "\n".join(parts)


def _valid_ids(text: str) -> set[str]:
    """18-char strings in `text` whose GB 11643 check character is right (a full ID)."""
    return {m for m in ID_LIKE.findall(text) if ric.calc_check_digit(m.upper()) == m[-1].upper()}


def test_no_full_id_in_outputs_logs_or_console(run_out):
    out, result, _, _ = run_out
    assert not _valid_ids(_all_output_text(out))
    assert not _valid_ids(result.output)


def test_full_ids_flag_shows_them(tmp_path):
    out = tmp_path / "full"
    result = runner.invoke(app, ["run", str(CONFIG), "--out", str(out), "--full-ids", "--quiet"])
    assert result.exit_code == 0, result.output
    assert _valid_ids((out / "links.csv").read_text(encoding="utf-8-sig"))
    assert result.output.strip() == ""  # --quiet prints nothing on success


def test_demo_runs_the_sample(tmp_path):
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "demo"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert {p.name for p in (tmp_path / "demo").iterdir()} >= set(OUTPUTS)


def test_bad_config_is_one_chinese_line_and_exit_1(tmp_path):
    cfg = tmp_path / "fanpin.toml"
    cfg.write_text('[run]\ncounty = "永顺县"\nreference_date = "2026-11-30"\n[roster]\npath = "没有这个文件.xlsx"\n', encoding="utf-8")
    result = runner.invoke(app, ["run", str(cfg), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "没有这个文件.xlsx" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_missing_required_column_names_file_and_column(tmp_path):
    (tmp_path / "roster.csv").write_text("户编号,姓名,证件号码\n1,张三,433127199001011238\n", encoding="utf-8")
    (tmp_path / "police.csv").write_bytes("姓名,身份证号\n李四,433127199001011238\n".encode("gbk"))
    cfg = tmp_path / "fanpin.toml"
    cfg.write_text(
        '[run]\ncounty = "永顺县"\nreference_date = "2026-11-30"\n[roster]\npath = "roster.csv"\n'
        '[[extracts]]\nsector = "police"\npath = "police.csv"\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["run", str(cfg), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "police.csv" in result.output and "注销原因" in result.output


def test_household_flags_show_the_household_head(run_out):
    """Household-level flags keep roster_row empty but show the 户主's (masked) ID, by which a
    village knows the household; person-level flags show the person's own."""
    out, *_ = run_out
    flags = _csv(out / "flags.csv").filter(pl.col("rule_id").is_in(["HOUSE_UNSAFE", "INC_BELOW_LINE"]))
    assert flags.height > 0 and flags["roster_row"].null_count() == flags.height
    shown = flags["id_number"].drop_nulls()
    assert shown.len() >= 0.9 * flags.height
    assert shown.str.contains(r"^[0-9]{6}\*{11}[0-9X]$").all()


def test_the_engine_setting_changes_the_environment_only_while_no_run_thread_lives(tmp_path: Path) -> None:
    # polars keeps its engine choice in the process's environment; polars and DuckDB read the
    # environment from native code at any time, and a change meanwhile can crash them. A small
    # county's run (the sample) sets it before its first thread starts and puts it back after
    # its last has ended: no thread of the run's pools is alive at either change.
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(f"""
        import os, sys, threading
        from pathlib import Path
        from fanpin_cli.config import load_config
        from fanpin_cli.pipeline import run_job
        seen = []
        def record(putenv):
            def changed(key, *value):
                if key in (b"POLARS_ENGINE_AFFINITY", "POLARS_ENGINE_AFFINITY"):
                    seen.append(sorted(t.name.split("_")[0] for t in threading.enumerate()
                                       if t.name.startswith("ThreadPoolExecutor")))
                return putenv(key, *value)
            return changed
        os.putenv, os.unsetenv = record(os.putenv), record(os.unsetenv)
        run_job(load_config(Path({str(CONFIG)!r})), Path({str(tmp_path / "out")!r}), history=False)
        print(seen)
        """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[[], []]"
