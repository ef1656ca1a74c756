"""A county's unexpected error in `fanpin province` (local engine): a polars error while linking,
a panic in Rust code while the county's outputs are written. The county fails with one masked
line naming the file and stage where known and its crash report (the masked traceback, in the
province's output folder, named after the county); the other county finishes, the province
command exits 0 as with any failed county. Ctrl-C still stops everything."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from typer.testing import CliRunner

from fanpin_cli import outputs, pipeline
from fanpin_cli.cli import app
from fanpin_cli.outdir import STAGE_MARK

from .data import write_province

runner = CliRunner()
FAILING, FINE = "永顺县", "龙山县"
EXTRACT = "医保_参保登记.csv"
# A valid 18-digit ID as a polars error quotes a cell; its middle digits must be shown nowhere.
ID = "433127198805140017"
HIDDEN = ID[6:17]
MASKED = ID[:6] + "*" * 11 + ID[-1]


@pytest.fixture(scope="module")
def two_counties(built: dict[str, object]) -> Path:
    """PROVINCE.toml of two of the synthetic counties (run with --no-history: the county folders
    are shared by the session's tests)."""
    return write_province(built["root"], [FAILING, FINE], file="PROVINCE_errors.toml")


@pytest.fixture
def county_now(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Which county `compute` is working on (the local engine runs them one after another)."""
    now: dict[str, str] = {}
    real = pipeline.compute

    def compute(config, **kwargs):
        now["county"] = config.county
        return real(config, **kwargs)

    monkeypatch.setattr(pipeline, "compute", compute)
    return now


def _province(config: Path, out: Path, *options: str):
    return runner.invoke(app, ["province", str(config), "--out", str(out), "--no-history", *options])


def _entries(out: Path) -> dict[str, dict[str, object]]:
    summary = json.loads((out / "province_summary.json").read_text(encoding="utf-8"))
    assert summary["totals"]["counties_ok"] == 1 and summary["totals"]["counties_failed"] == 1
    return {e["county"]: e for e in summary["counties"]}


def _the_report(out: Path, line: str) -> str:
    """The failing county's one crash report, named in its line; its text."""
    reports = sorted(out.glob(f"fanpin-error-{FAILING}_*.txt"))
    assert len(reports) == 1, reports
    assert f"详细信息已写入 {reports[0]}，请把这个文件发给技术支持" in line
    assert not list(out.glob(f"fanpin-error-{FINE}_*")) and not list(out.parent.glob("fanpin-error-*"))
    return reports[0].read_text(encoding="utf-8")


def _the_others_finish(out: Path, entries: dict[str, dict[str, object]]) -> None:
    assert entries[FINE]["status"] == "ok"
    assert pl.read_csv(out / FINE / "links.csv", infer_schema=False).height > 0
    assert not (out / FAILING).exists()  # its folder is never half written
    assert not list(out.glob(f".{FAILING}{STAGE_MARK}*"))


@pytest.mark.parametrize("full_ids", [False, True], ids=["masked", "full_ids"])
def test_linking_error_fails_the_county_with_its_crash_report(full_ids, two_counties, county_now, tmp_path,
                                                              monkeypatch):
    import fanpin_cli.linking as linking

    real = linking.link_files

    def link_files(roster, extracts, **kwargs):  # (`link` links one file through it too)
        if county_now.get("county") == FAILING and any(sector == "medical_enrollment" for _, sector in extracts):
            raise pl.exceptions.ComputeError(
                f"conversion from `str` to `i64` failed in column '证件号码' for 1 out of 9 values: [\"{ID}\"]")
        return real(roster, extracts, **kwargs)

    monkeypatch.setattr(linking, "link_files", link_files)
    out = tmp_path / "out"
    result = _province(two_counties, out, *(["--full-ids"] if full_ids else []))
    assert result.exit_code == 0, result.output
    assert "1 个县完成，1 个县失败" in result.output
    assert "Traceback" not in result.output and HIDDEN not in result.output
    entries = _entries(out)
    _the_others_finish(out, entries)
    line = entries[FAILING]["error"]
    assert entries[FAILING]["status"] == "failed" and "\n" not in line
    assert line.startswith(f"{EXTRACT}（比对关联）：程序内部错误（polars ComputeError）。详细信息已写入 "), line
    text = _the_report(out, line)
    assert "Traceback (most recent call last)" in text and "ComputeError" in text and FAILING in text
    assert "fanpin 0." in text and "polars " in text
    assert MASKED in text and HIDDEN not in text  # under --full-ids too: the report is meant to be sent
    for name in ("province_summary.json",):
        assert HIDDEN not in (out / name).read_text(encoding="utf-8")
    wb = openpyxl.load_workbook(out / "province.xlsx", read_only=True)
    cells = [str(v) for row in wb["全省汇总"].iter_rows(values_only=True) for v in row if v]
    assert any(f"fanpin-error-{FAILING}_" in c and "（比对关联）" in c for c in cells)


def test_panic_while_a_countys_outputs_are_written_fails_that_county_only(two_counties, tmp_path, monkeypatch):
    """pyo3's PanicException is no Exception: raised outside `compute` (the county's outputs
    being written), it once ended the whole province with a traceback."""
    real = outputs.write_outputs

    def write_outputs(artifacts, stage, **kwargs):
        if stage.name.startswith(f".{FAILING}"):
            raise pl.exceptions.PanicException("called `Option::unwrap()` on a `None` value")
        return real(artifacts, stage, **kwargs)

    monkeypatch.setattr(outputs, "write_outputs", write_outputs)
    out = tmp_path / "out"
    result = _province(two_counties, out)
    assert result.exit_code == 0, result.output
    assert "1 个县完成，1 个县失败" in result.output and "Traceback" not in result.output
    entries = _entries(out)
    _the_others_finish(out, entries)
    line = entries[FAILING]["error"]
    assert entries[FAILING]["status"] == "failed" and "\n" not in line
    assert line.startswith("写出结果：程序内部错误（pyo3_runtime PanicException）。详细信息已写入 "), line
    text = _the_report(out, line)
    assert "PanicException" in text and "Option::unwrap()" in text


def test_ctrl_c_in_a_county_stops_the_province(two_counties, tmp_path, monkeypatch):
    """KeyboardInterrupt is no county's failure: 已中断, exit 130, no other county run, no report."""
    def write_outputs(artifacts, stage, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(outputs, "write_outputs", write_outputs)
    out = tmp_path / "out"
    result = _province(two_counties, out)
    assert result.exit_code == 130, result.output
    assert result.output.strip().splitlines()[-1] == "已中断"
    assert not (out / FINE).exists() and not (out / "province_summary.json").exists()
    assert not list(tmp_path.rglob("fanpin-error-*"))


def test_panic_reading_a_countys_roster_fails_that_county_only(two_counties, tmp_path, monkeypatch):
    """The roster index, made before any county runs (the province extracts are split by it):
    a panic in the workbook reader there once ended the whole province."""
    from fanpin_cli.province import local

    real = local.load_input

    def load_input(spec):
        if spec.path.parent.name == FAILING:
            raise pl.exceptions.PanicException(f"index out of bounds: {ID}")
        return real(spec)

    monkeypatch.setattr(local, "load_input", load_input)
    out = tmp_path / "out"
    result = _province(two_counties, out)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and HIDDEN not in result.output
    entries = _entries(out)
    _the_others_finish(out, entries)
    line = entries[FAILING]["error"]
    assert line.startswith("监测对象信息.xlsx（读取数据）：程序内部错误（pyo3_runtime PanicException）。详细信息已写入 "), line
    text = _the_report(out, line)
    assert "PanicException" in text and MASKED in text and HIDDEN not in text


def test_unexpected_error_reading_a_countys_history_fails_that_county_only(built, tmp_path, monkeypatch):
    """The history views are read on the driver before the province's folder exists: the county
    fails with its line and a report (in the folder, made for it); the other's view is read."""
    from fanpin_cli.config import load_config
    from fanpin_cli.history import runner as history_runner
    from fanpin_cli.province.county import CountyJob, with_history

    real = history_runner.open_for_run

    def open_for_run(config, **kwargs):
        if config.county == FAILING:
            raise pl.exceptions.ComputeError(f"bad key {ID}")
        return real(config, **kwargs)

    monkeypatch.setattr(history_runner, "open_for_run", open_for_run)
    out = tmp_path / "not yet made"
    jobs = {name: CountyJob(name, f"{name}/fanpin.toml", load_config(built["folders"][name] / "fanpin.toml"))
            for name in (FAILING, FINE)}
    failed, fine = with_history(jobs[FAILING], out), with_history(jobs[FINE], out)
    assert fine.config is not None and fine.history is not None and fine.error is None
    assert failed.config is None and failed.history is None
    assert failed.error.startswith("读取历史记录：程序内部错误（polars ComputeError）。详细信息已写入 "), failed.error
    text = _the_report(out, failed.error)
    assert "ComputeError" in text and MASKED in text and HIDDEN not in text
