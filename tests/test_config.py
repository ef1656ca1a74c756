"""The run configuration fanpin.toml (fanpin_cli.config)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from fanpin_cli.config import load_config
from fanpin_cli.errors import ConfigError, FanpinError


def make_dir(tmp_path: Path) -> Path:
    """A county folder with a config subfolder and data files beside it."""
    data = tmp_path / "2026-11" / "data"
    data.mkdir(parents=True)
    (data / "监测对象信息.xlsx").write_bytes(b"placeholder")
    (data / "医保_参保登记.csv").write_text("姓名,身份证件号,参保状态\n", encoding="utf-8")
    (data / "公安_户籍注销.csv").write_text("姓名,身份证号,注销原因\n", encoding="utf-8")
    return tmp_path / "2026-11"


VALID = """
[run]
county = "永顺县"
reference_date = "2026-11-30"

[roster]
path = "data/监测对象信息.xlsx"
sheet = "监测对象"
header_row = 3

[[extracts]]
sector = "medical_enrollment"
path = "data/医保_参保登记.csv"
encoding = "gbk"
columns = { "身份证件号" = "id_number" }

[[extracts]]
sector = "police"
path = "data/公安_户籍注销.csv"

[rules]
income_line = 6900
oop_line = 9342
"""


def write(folder: Path, text: str, name: str = "fanpin.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = make_dir(tmp_path)
    monkeypatch.chdir(tmp_path)  # paths must resolve against the config's folder, not the cwd
    config = load_config(write(folder, VALID))
    assert config.county == "永顺县"
    assert config.reference_date == date(2026, 11, 30)
    assert config.period == "2026-11"  # default from reference_date
    assert config.config_path == (folder / "fanpin.toml").resolve()
    roster = config.roster
    assert roster.sector == "roster"
    assert roster.path == (folder / "data" / "监测对象信息.xlsx").resolve()
    assert roster.source_file == "data/监测对象信息.xlsx"
    assert (roster.sheet, roster.header_row) == ("监测对象", 3)
    assert [e.sector for e in config.extracts] == ["medical_enrollment", "police"]
    enroll = config.extracts[0]
    assert enroll.columns == {"身份证件号": "id_number"}
    assert enroll.encoding == "gbk"
    assert enroll.path.is_file()
    assert config.extracts[1].columns == {}
    assert [i.sector for i in config.inputs] == ["roster", "medical_enrollment", "police"]
    assert config.rules == {"income_line": 6900, "oop_line": 9342}


def test_period_given_and_toml_date(tmp_path: Path) -> None:
    folder = make_dir(tmp_path)
    text = VALID.replace('reference_date = "2026-11-30"', 'period = "2026-10"\nreference_date = 2026-10-31')
    config = load_config(write(folder, text))
    assert config.period == "2026-10"
    assert config.reference_date == date(2026, 10, 31)


def test_config_with_bom_and_relative_path_argument(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = make_dir(tmp_path)
    (folder / "fanpin.toml").write_bytes(b"\xef\xbb\xbf" + VALID.encode("utf-8"))
    monkeypatch.chdir(folder)
    config = load_config(Path("fanpin.toml"))
    assert config.roster.path == (folder / "data" / "监测对象信息.xlsx").resolve()


def test_no_extracts_is_allowed(tmp_path: Path) -> None:
    folder = make_dir(tmp_path)
    text = VALID.split("[[extracts]]")[0]
    config = load_config(write(folder, text))
    assert config.extracts == []
    assert config.rules == {}


def _error(folder: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        load_config(write(folder, text))
    assert isinstance(err.value, FanpinError)
    assert err.value.exit_code == 1
    message = str(err.value)
    assert message.startswith("fanpin.toml：")
    assert "\n" not in message
    return err.value


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        pytest.param(lambda t: t.replace('county = "永顺县"', 'county = "永顺县'), ["格式错误"],
                     id="bad-toml"),
        pytest.param(lambda t: t.replace("[run]", "[job]"), ["缺少 [run]"], id="missing-run"),
        pytest.param(lambda t: t.replace('county = "永顺县"\n', ""), ["county"], id="missing-county"),
        pytest.param(lambda t: t.replace('"2026-11-30"', '"2026-11-31"'), ["reference_date", "2026-11-31"],
                     id="impossible-reference-date"),
        pytest.param(lambda t: t.replace('"2026-11-30"', '"2026年11月30日"'),
                     ["reference_date", "YYYY-MM-DD"], id="chinese-reference-date"),
        pytest.param(lambda t: t.replace('reference_date = "2026-11-30"\n', ""), ["reference_date"],
                     id="missing-reference-date"),
        pytest.param(lambda t: t.replace("[roster]", "[rooster]"), ["缺少 [roster]"], id="missing-roster"),
        pytest.param(lambda t: t.replace('sector = "police"', 'sector = "agriculture"'),
                     ["第2个 [[extracts]]", "agriculture", "police"], id="unknown-sector-second-extract"),
        pytest.param(lambda t: t.replace('sector = "medical_enrollment"', 'sector = "medical"'),
                     ["第1个 [[extracts]]", "medical"], id="unknown-sector-first-extract"),
        pytest.param(lambda t: t.replace('sector = "police"', 'sector = "roster"'),
                     ["第2个 [[extracts]]", "roster"], id="roster-as-extract"),
        pytest.param(lambda t: t.replace('sector = "police"\n', ""),
                     ["第2个 [[extracts]]", "sector"], id="extract-without-sector"),
        pytest.param(lambda t: t.replace("data/公安_户籍注销.csv", "data/公安_户籍注销_11月.csv"),
                     ["第2个 [[extracts]]", "不存在", "data/公安_户籍注销_11月.csv"], id="missing-data-file"),
        pytest.param(lambda t: t.replace("data/监测对象信息.xlsx", "监测对象信息.xlsx"),
                     ["[roster]", "不存在", "监测对象信息.xlsx"], id="roster-relative-to-config-folder"),
        pytest.param(lambda t: t.replace('path = "data/公安_户籍注销.csv"\n', ""),
                     ["第2个 [[extracts]]", "path"], id="extract-without-path"),
        pytest.param(lambda t: t.replace('encoding = "gbk"', 'encodeing = "gbk"'),
                     ["第1个 [[extracts]]", "未知的键", "encodeing"], id="unknown-key"),
        pytest.param(lambda t: t.replace("header_row = 3", "header_rows = 3"),
                     ["[roster]", "未知的键", "header_rows"], id="unknown-key-roster"),
        pytest.param(lambda t: t.replace("header_row = 3", "header_row = 0"), ["[roster]", "header_row"],
                     id="header-row-zero"),
        pytest.param(lambda t: t.replace("header_row = 3", 'header_row = "第三行"'), ["header_row"],
                     id="header-row-text"),
        pytest.param(lambda t: t.replace("header_row = 3", "header_row = 2.5"), ["header_row"],
                     id="header-row-float"),
        pytest.param(lambda t: t.replace('sheet = "监测对象"', "sheet = [1]"), ["sheet"], id="bad-sheet"),
        pytest.param(lambda t: t.replace('{ "身份证件号" = "id_number" }', '{ "身份证件号" = 1 }'),
                     ["columns"], id="bad-columns"),
        pytest.param(lambda t: t.replace('encoding = "gbk"', "encoding = 936"), ["encoding"],
                     id="bad-encoding"),
        pytest.param(lambda t: "rules = 1\n" + t.split("[rules]")[0], ["[rules]"], id="bad-rules"),
        pytest.param(lambda t: t.replace("[[extracts]]", "[[extract]]"), ["未知的表", "extract"],
                     id="typo-extract-table"),
        pytest.param(lambda t: t.replace("[rules]", "[rule]"), ["未知的表", "rule"], id="typo-rules-table"),
        pytest.param(lambda t: t.replace('county = "永顺县"', 'county = "永顺县"\nperiods = "2026-11"'),
                     ["[run]", "未知的键", "periods"], id="unknown-run-key"),
        pytest.param(lambda t: t.replace("[[extracts]]", "[extracts]", 1).split("[[extracts]]")[0],
                     ["[[extracts]]"], id="extracts-not-array"),
    ],
)
def test_config_errors_name_the_problem(tmp_path: Path, change, needles: list[str]) -> None:
    folder = make_dir(tmp_path)
    error = _error(folder, change(VALID))
    for needle in needles:
        assert needle in str(error), (needle, str(error))


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "fanpin.toml")
    assert "找不到配置文件" in str(err.value)
    assert "fanpin.toml" in str(err.value)


def test_config_not_utf8(tmp_path: Path) -> None:
    folder = make_dir(tmp_path)
    (folder / "fanpin.toml").write_bytes(VALID.encode("gbk"))
    error = _error_from_path(folder / "fanpin.toml")
    assert "UTF-8" in str(error)


def _error_from_path(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        load_config(path)
    return err.value


def test_province_extracts_are_checked_as_county_extracts(tmp_path):
    """A province `[[extracts]]` entry takes the same checks as a county's: Chinese sector
    names, columns naming the sector's fields, a path that is a file; a URI is kept for Spark."""
    from fanpin_cli.province.config import load_province

    (tmp_path / "医保.csv").write_text("姓名,身份证号\n", encoding="utf-8")
    (tmp_path / "folder.csv").mkdir()

    def province(extract: str) -> Path:
        path = tmp_path / "PROVINCE.toml"
        path.write_text('[province]\nname="湘西州"\n[[counties]]\nconfig="a/fanpin.toml"\n[[extracts]]\n' + extract,
                        encoding="utf-8")
        return path

    ok = load_province(province('sector = "医保参保登记"\npath = "医保.csv"\ncolumns = { "身份证号" = "id_number" }\n'))
    assert ok.extracts[0].sector == "medical_enrollment" and ok.extracts[0].columns == {"身份证号": "id_number"}
    remote = load_province(province('sector = "police"\npath = "hdfs://nn/公安.csv"\n'))
    assert remote.extracts[0].path == "hdfs://nn/公安.csv" and remote.extracts[0].is_remote
    with pytest.raises(ConfigError, match="不是医保参保登记的字段名"):
        load_province(province('sector = "medical_enrollment"\npath = "医保.csv"\ncolumns = { "x" = "dereg_reason" }\n'))
    with pytest.raises(ConfigError, match="folder.csv"):
        load_province(province('sector = "police"\npath = "folder.csv"\n'))
    with pytest.raises(ConfigError, match="不正确"):
        load_province(province('sector = "roster"\npath = "医保.csv"\n'))
