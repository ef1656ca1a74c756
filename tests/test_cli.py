"""The `fanpin` command line: `ids`, `--version`, and the error paths of `validate` and `run`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fanpin_cli import __version__
from fanpin_cli.cli import app

runner = CliRunner()
REF = ["--reference-date", "2026-11-30"]
VALID_IDS = ["433127199001011238", "11010519491231002X", "433101197608123006"]
FULL_ID = re.compile(r"\d{17}[\dXx]")


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"fanpin {__version__}"


def test_ids_prints_masked_ids_and_verdicts() -> None:
    values = [*VALID_IDS, "433127900101123", "433127199001011239", "4.33127E+17", "433101197608123000"]
    result = invoke("ids", *values, *REF)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "（7 个，基准日 2026-11-30）" in out
    assert not FULL_ID.search(out), out  # no full ID anywhere, upgraded 15→18 included
    lines = out.strip().splitlines()[1:]
    assert len(lines) == 7
    assert lines[0].startswith("433127***********8  有效")
    assert "1990-01-01" in lines[0] and "男" in lines[0] and "年龄36" in lines[0] and "湖南省永顺县" in lines[0]
    assert lines[1].startswith("110105***********X  有效") and "女" in lines[1]
    assert lines[3].startswith("433127*********  15位旧号码") and "18位：433127***********8" in lines[3]  # no sequence digit
    assert "校验位错误" in lines[4] and "第18位校验位应为 8" in lines[4]
    assert "科学计数法" in lines[5] and "仅前5位可信" in lines[5]  # the 6th may be rounded
    assert "存为数字" in lines[6] and "15位有效数字" in lines[6]


def test_ids_full_ids_shows_them() -> None:
    result = invoke("ids", "433127900101123", VALID_IDS[0], "--full-ids", *REF)
    assert result.exit_code == 0, result.output
    assert "18位：433127199001011238" in result.output  # the upgrade, in full
    assert VALID_IDS[0] + "  有效" in result.output


@pytest.mark.parametrize(
    ("value", "verdict"),
    [
        ("'11010519491231002x", "有效"),
        ("[433127199001011238]", "格式错误"),
        ("999999199001011234", "占位号码"),
        ("43312719900101", "格式错误"),
        (" ", "为空"),
        ("43312720990101123X", "出生日期不存在或晚于基准日"),
    ],
)
def test_ids_verdicts(value: str, verdict: str) -> None:
    result = invoke("ids", value, *REF)
    assert result.exit_code == 0, result.output
    assert verdict in result.output
    assert not FULL_ID.search(result.output)


def test_ids_age_uses_the_reference_date() -> None:
    before = invoke("ids", "433127201012010011", "--reference-date", "2026-11-30")
    on = invoke("ids", "433127201012010011", "--reference-date", "2026-12-01")
    assert "年龄15" in before.output
    assert "年龄16" in on.output


def test_ids_file_gbk_csv(tmp_path: Path) -> None:
    path = tmp_path / "待查证件号.csv"
    text = (
        "灵溪镇待核实人员名单\n"
        "序号,姓名,证件号码\n"
        f"1,张伟,{VALID_IDS[0]}\n"
        "2,張偉,433127199001011239\n"  # 同名同姓 (traditional), typo in the ID
        "3,劉麗華,4.33127E+17\n"
        ",,\n"
    )
    path.write_bytes(text.encode("gbk"))
    result = invoke("ids", str(path), *REF)
    assert result.exit_code == 0, result.output
    assert "（3 个，" in result.output
    assert "433127***********8  有效" in result.output
    assert "校验位错误" in result.output
    assert "科学计数法" in result.output
    assert not FULL_ID.search(result.output)


def test_ids_text_file_one_per_line(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    path.write_bytes(("\r\n".join(VALID_IDS) + "\r\n\r\n").encode("gbk"))
    result = invoke("ids", str(path), *REF)
    assert result.exit_code == 0, result.output
    assert result.output.count("有效") == 3
    assert not FULL_ID.search(result.output)


def test_ids_file_without_id_column_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "名单.csv"
    path.write_text("姓名,住址\n张伟,司城村\n", encoding="utf-8")
    result = invoke("ids", str(path))
    assert result.exit_code == 1
    assert "名单.csv" in result.output and "证件号码" in result.output
    assert "Traceback" not in result.output


def test_ids_bad_reference_date_is_usage_error() -> None:
    result = invoke("ids", VALID_IDS[0], "--reference-date", "2026/11/30")
    assert result.exit_code == 2


def _one_line_chinese_error(result, *needles: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    text = result.stderr.strip()
    assert "Traceback" not in result.output
    assert len(text.splitlines()) == 1, text
    assert text.startswith("错误：")
    assert re.search(r"[\u4e00-\u9fff]{2,}", text)
    for needle in needles:
        assert needle in text, (needle, text)


def test_validate_missing_file_exits_1(tmp_path: Path) -> None:
    result = invoke("validate", str(tmp_path / "民政_低保.csv"), "--sector", "civil_affairs")
    _one_line_chinese_error(result, "民政_低保.csv", "找不到文件")


@pytest.mark.parametrize("sector", ["civil", "医保", "Roster"])
def test_validate_unknown_sector_exits_2(sector: str, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("姓名,身份证号码\n", encoding="utf-8")
    result = invoke("validate", str(path), "--sector", sector)
    assert result.exit_code == 2
    assert "--sector" in result.output
    assert not (tmp_path / "quality_issues.csv").exists()


def test_validate_without_sector_exits_2(tmp_path: Path) -> None:
    result = invoke("validate", str(tmp_path / "x.csv"))
    assert result.exit_code == 2


def test_validate_missing_required_column_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "民政_低保.csv"
    path.write_bytes("乡镇,村,姓名,身份证号码\n灵溪镇,司城村,张伟,433127199001011238\n".encode("gbk"))
    result = invoke("validate", str(path), "--sector", "civil_affairs")
    _one_line_chinese_error(result, "民政_低保.csv", "救助类型")


def _config_folder(tmp_path: Path) -> Path:
    (tmp_path / "监测对象信息.csv").write_text("户编号,姓名,证件号码\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        pytest.param('[run]\ncounty = "永顺县\n', ["fanpin.toml", "格式错误"], id="bad-toml"),
        pytest.param('[run]\ncounty = "永顺县"\nreference_date = "2026-11-31"\n[roster]\npath = "监测对象信息.csv"\n',
                     ["reference_date"], id="bad-date"),
        pytest.param('[run]\ncounty = "永顺县"\nreference_date = "2026-11-30"\n[roster]\npath = "监测对象信息.csv"\n'
                     '[[extracts]]\nsector = "agriculture"\npath = "监测对象信息.csv"\n',
                     ["第1个 [[extracts]]", "agriculture"], id="unknown-sector"),
        pytest.param('[run]\ncounty = "永顺县"\nreference_date = "2026-11-30"\n[roster]\npath = "没有这个文件.xlsx"\n',
                     ["不存在", "没有这个文件.xlsx"], id="missing-roster-file"),
    ],
)
def test_run_bad_config_exits_1(text: str, needles: list[str], tmp_path: Path) -> None:
    folder = _config_folder(tmp_path)
    (folder / "fanpin.toml").write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = invoke("run", str(folder / "fanpin.toml"), "--out", str(out))
    _one_line_chinese_error(result, *needles)
    assert not out.exists()


def test_run_missing_config_exits_1(tmp_path: Path) -> None:
    result = invoke("run", str(tmp_path / "fanpin.toml"))
    _one_line_chinese_error(result, "找不到配置文件")


def test_run_failing_before_it_reads_ends_the_report_process_it_started(tmp_path: Path) -> None:
    # `run` starts report.xlsx's process before it reads the config: a config that fails
    # ends that process too (none is left waiting for data), as a finished run does.
    import multiprocessing

    before = set(multiprocessing.active_children())
    result = invoke("run", str(tmp_path / "fanpin.toml"), "--out", str(tmp_path / "out"))
    _one_line_chinese_error(result, "找不到配置文件")
    assert set(multiprocessing.active_children()) <= before
    assert not (tmp_path / "out").exists()


def test_run_with_an_unreadable_roster_names_it_once_and_no_extract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every extract's linking needs the roster: its error is said once, under the roster's name
    (not once per extract, nor under an extract's), even with the extracts linked one after
    another and one of them unreadable too."""
    from fanpin_cli import pipeline
    from fanpin_cli.resources import resource_dir

    monkeypatch.setattr(pipeline, "LINK_APART_BYTES", 0)  # every extract counts as big: one chain
    county = tmp_path / "county"
    county.mkdir()
    sample = resource_dir("sample_data")
    for f in sample.iterdir():
        if f.is_file():
            (county / f.name).write_bytes(f.read_bytes())
    (county / "监测对象信息.xlsx").write_bytes(b"\x50\x4b\x03\x04 not a workbook")
    (county / "医保_参保登记.csv").write_bytes("甲,乙\n1,2\n".encode("gbk"))
    out = tmp_path / "out"
    result = invoke("run", str(county / "fanpin.toml"), "--out", str(out))
    _one_line_chinese_error(result, "监测对象信息.xlsx")
    assert result.stderr.count("监测对象信息.xlsx") == 1
    extracts = [f.name for f in sample.iterdir() if f.suffix in (".csv", ".xlsx") and f.name != "监测对象信息.xlsx"]
    assert len(extracts) == 7 and not [name for name in extracts if name in result.stdout + result.stderr]
    assert not out.exists() or not any(out.iterdir())  # no output written


class _FakeReportProcess:
    def __init__(self) -> None:
        self.aborted = 0

    def abort(self) -> None:
        self.aborted += 1


@pytest.mark.parametrize("args, starts", [
    (("run", "{cfg}", "--out", "{out}"), 1),  # started, then ended by the failing config
    (("demo", "--help"), 0),
    (("run", "--help"), 0),
    (("run",), 0),  # a usage error (CONFIG missing): exit 2 before any process starts
])
def test_report_process_starts_only_for_a_run_that_reads_its_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], starts: int
) -> None:
    import fanpin_cli.outputs as outputs

    started: list[_FakeReportProcess] = []

    def fake(out_dir=None):  # noqa: ANN001, ANN202
        started.append(_FakeReportProcess())
        return started[-1]

    monkeypatch.setattr(outputs, "prestart_workbook", fake)
    invoke(*[a.format(cfg=tmp_path / "fanpin.toml", out=tmp_path / "out") for a in args])
    assert len(started) == starts
    assert all(p.aborted == 1 for p in started)  # ended when the command ended


def test_an_id_quoted_in_an_error_is_masked(tmp_path):
    """A parser error may quote the offending row; the console still never shows a full ID."""
    from fanpin_cli.errors import InputFileError

    err = InputFileError("无法解析：'张三,433127199001011238,死亡'", file="公安.csv", row=3)
    assert "433127199001011238" not in str(err)
    assert "433127***********8" in str(err) and "公安.csv" in str(err)
