"""`fanpin feedback` / `fanpin history` / `fanpin run --no-history` on the command line: errors
are one Chinese line with exit code 1; --no-history leaves no history file."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from fanpin_cli.cli import app
from fanpin_cli.synth import generate_county

runner = CliRunner()


def test_history_commands_without_history_and_run_without_it(tmp_path: Path) -> None:
    county = tmp_path / "县"
    generate_county(30, 5, county)
    cfg = county / "fanpin.toml"
    result = runner.invoke(app, ["history", str(cfg)])
    assert result.exit_code == 1 and "历史记录文件不存在" in result.output
    book = tmp_path / "返回.xlsx"
    book.write_bytes(b"not a workbook")
    result = runner.invoke(app, ["feedback", str(cfg), str(book)])
    assert result.exit_code == 1 and "历史记录文件不存在" in result.output
    result = runner.invoke(app, ["run", str(cfg), "--out", str(tmp_path / "out"), "--no-history", "-q"])
    assert result.exit_code == 0, result.output
    assert not (county / "fanpin-history.duckdb").exists()
    assert not (tmp_path / "out" / "resolved.csv").exists()
    result = runner.invoke(app, ["run", str(cfg), "--out", str(tmp_path / "out2")])
    assert result.exit_code == 0, result.output
    assert "历史中没有更早的月份：新增" in result.output
    assert (county / "fanpin-history.duckdb").exists() and (tmp_path / "out2" / "resolved.csv").exists()
    result = runner.invoke(app, ["feedback", str(cfg), str(book)])
    assert result.exit_code == 1 and "无法读取工作簿" in result.output and "返回.xlsx" in result.output
    result = runner.invoke(app, ["history", str(cfg), "--id", "12345"])
    assert result.exit_code == 1 and "证件号码不正确" in result.output
    bad = county / "bad.toml"
    bad.write_text(cfg.read_text(encoding="utf-8") + "\n[history]\nexempt_months = \"六个月\"\n", encoding="utf-8")
    result = runner.invoke(app, ["run", str(bad), "--out", str(tmp_path / "out3")])
    assert result.exit_code == 1 and "exempt_months" in result.output


def test_history_opens_the_file_for_writing_only_to_settle_a_staged_run(tmp_path: Path, monkeypatch) -> None:
    import duckdb

    from fanpin_cli.history import commands

    county = tmp_path / "县"
    generate_county(30, 5, county)
    cfg, db = county / "fanpin.toml", county / "fanpin-history.duckdb"
    assert runner.invoke(app, ["run", str(cfg), "--out", str(tmp_path / "out"), "-q"]).exit_code == 0
    settled: list[Path] = []
    real_settle = commands.settle

    def settle(path: Path) -> list[int]:
        settled.append(path)
        return real_settle(path)

    monkeypatch.setattr(commands, "settle", settle)
    shown = runner.invoke(app, ["history", str(cfg)])
    assert shown.exit_code == 0 and "运行记录" in shown.output and settled == []  # nothing staged: read only

    with duckdb.connect(str(db)) as con:  # the rows of a run killed before its swap
        con.execute("INSERT INTO flags (run_id, record_key) VALUES (99, 'F9')")
        con.execute("INSERT INTO staged_runs (run_id) VALUES (99)")

    def failing(path: Path) -> list[int]:  # e.g. the folder is read-only: DuckDB cannot write its WAL
        raise duckdb.IOException("IO Error: Cannot open file \"fanpin-history.duckdb.wal\": Permission denied")

    monkeypatch.setattr(commands, "settle", failing)
    shown = runner.invoke(app, ["history", str(cfg)])
    assert shown.exit_code == 0 and "运行记录" in shown.output, shown.output  # shown as it is

    monkeypatch.setattr(commands, "settle", settle)
    shown = runner.invoke(app, ["history", str(cfg)])
    assert shown.exit_code == 0 and settled == [db]
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM staged_runs").fetchone()[0] == 0
