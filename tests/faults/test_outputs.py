"""Output side: CSV cells safe in a spreadsheet, bad --out targets, a second run on one folder."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fanpin_cli.cli import app
from fanpin_cli.errors import FanpinError
from fanpin_cli.outdir import LOCK_SUFFIX, output_folder

from .hostile import FORMULAS, hostile_county

runner = CliRunner()


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    return hostile_county(tmp_path_factory.mktemp("inj") / "county")[0]


def test_no_csv_cell_starts_a_formula(county, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(county), "--out", str(out)])
    assert result.exit_code == 0, result.output
    seen = []
    for path in out.glob("*.csv"):
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), (path.name, cell)
                    assert cell.lstrip(" ")[:1] not in ("=", "+", "@") or cell.startswith("'"), (path.name, cell)
                    seen.append(cell)
    for formula in FORMULAS:  # each hostile name is there, as text, with its apostrophe
        assert "'" + formula.strip("\t").strip(" ") in {c.lstrip("'").strip() and c.replace("'\t", "'") .replace("' ", "'") for c in seen} or \
            any(c.startswith("'") and formula.strip() in c for c in seen), formula


@pytest.mark.parametrize("kind", ["file", "fifo", "under_file"])
def test_bad_out_is_one_chinese_line(county, tmp_path, kind):
    target = tmp_path / "target"
    if kind == "file":
        target.write_text("x")
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        (tmp_path / "plain").write_text("x")
        target = tmp_path / "plain" / "out"
    result = runner.invoke(app, ["run", str(county), "--out", str(target)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误：") and "Traceback" not in result.output


def test_symlink_loop_is_one_chinese_line(county, tmp_path):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    result = runner.invoke(app, ["run", str(county), "--out", str(loop)])
    assert result.exit_code == 1 and result.output.startswith("错误：") and "符号链接" in result.output


def test_read_only_folder_is_one_chinese_line(county, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    result = runner.invoke(app, ["run", str(county), "--out", str(ro / "out")])
    assert result.exit_code == 1 and result.output.startswith("错误：")


def test_a_second_run_on_the_same_folder_stops(county, tmp_path):
    out = tmp_path / "out"
    with output_folder(out):
        result = runner.invoke(app, ["run", str(county), "--out", str(out)])
    assert result.exit_code == 1 and "另一个 fanpin 正在写入" in result.output
    assert (tmp_path / f".out{LOCK_SUFFIX}").exists()


def test_leftover_temp_files_are_removed(county, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".links.csv.abc123.tmp").write_text("433127199001011238")
    (out / "乡镇").mkdir()
    (out / "乡镇" / ".x.xlsx.zz.tmp").write_text("x")
    result = runner.invoke(app, ["run", str(county), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert not list(Path(out).rglob("*.tmp"))


@pytest.mark.parametrize("existed", [False, True])
def test_a_failed_run_leaves_no_empty_output_folder_where_there_was_none(county, tmp_path, existed):
    import shutil

    from fanpin_cli.config import load_config

    broken = tmp_path / "broken"
    shutil.copytree(county.parent, broken)
    roster = load_config(broken / county.name).inputs[0].path
    roster.write_bytes(b"not a workbook")  # the run fails reading it, before any output exists
    out = tmp_path / "new" / "out"
    if existed:
        out.mkdir(parents=True)
    result = runner.invoke(app, ["run", str(broken / county.name), "--out", str(out)])
    assert result.exit_code == 1 and result.output.strip().startswith("错误：") and roster.name in result.output
    if existed:  # the clerk's own (empty) folder stays
        assert out.is_dir() and not list(out.iterdir())
    else:  # no empty folder left behind where none was
        assert not out.exists()


def test_a_run_that_finds_the_folder_locked_leaves_the_other_runs_new_folder(tmp_path, monkeypatch):
    import fanpin_cli.outdir as outdir

    out = tmp_path / "new"
    first = outdir.output_folder(out)
    real_check = outdir.check_output_folder

    def check(path):  # the second run saw the folder missing; the first makes it and locks it now
        monkeypatch.setattr(outdir, "check_output_folder", real_check)
        first.__enter__()
        return real_check(path)

    monkeypatch.setattr(outdir, "check_output_folder", check)
    with pytest.raises(FanpinError, match="另一个 fanpin 正在写入"), outdir.output_folder(out):
        pass
    assert out.is_dir()  # the second run's failure did not remove the first run's folder
    first.__exit__(None, None, None)
    assert not out.exists()  # the first run left it empty: removed as it ends
