"""`fanpin province` with the local engine on three small synthetic counties (plus a broken
one): each county's outputs are exactly `fanpin run`'s, a person of one county found in another
county's data, the broken county reported while the others finish, the province outputs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from typer.testing import CliRunner

from fanpin_cli.cli import app
from fanpin_cli.errors import ConfigError
from fanpin_cli.idnum import mask_id
from fanpin_cli.province import run_province
from fanpin_cli.province.config import load_province
from fanpin_cli.province.cross import cross_matches

from .data import BROKEN, COUNTIES, MOVED_FILE, PROVINCE_FILE, csv_rows, write_province

runner = CliRunner()
GOOD = [name for name, _ in COUNTIES]
COMPARED = ("links.csv", "flags.csv", "quality_issues.csv", "review.csv", "stocktake.csv")
ID_LIKE = re.compile(r"(?<![0-9])[1-8][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx](?![0-9])")


@pytest.fixture(scope="module")
def province(built: dict[str, object]) -> dict[str, object]:
    out = built["root"] / "out_local"
    result = runner.invoke(app, ["province", str(built["config"]), "--out", str(out), "--no-history"])
    return {**built, "out": out, "result": result}


def test_province_command_exits_zero_and_lists_counties(province):
    result = province["result"]
    assert result.exit_code == 0, result.output
    assert "3 个县完成，1 个县失败" in result.output
    for name in [*GOOD, BROKEN]:
        assert name in result.output


@pytest.mark.parametrize("county", GOOD)
def test_county_outputs_are_those_of_fanpin_run_alone(province, county):
    mine, alone = province["out"] / county, province["alone"][county]
    assert sorted(p.name for p in mine.iterdir()) == sorted(p.name for p in alone.iterdir())
    for name in COMPARED:
        a, b = csv_rows(mine / name), csv_rows(alone / name)
        assert a.columns == b.columns, name
        assert a.height == b.height and a.equals(b), name
    assert json.loads((mine / "summary.json").read_text(encoding="utf-8"))["rules"] == \
        json.loads((alone / "summary.json").read_text(encoding="utf-8"))["rules"]


def test_broken_county_has_its_error_and_the_others_finish(province):
    summary = json.loads((province["out"] / "province_summary.json").read_text(encoding="utf-8"))
    status = {c["county"]: c for c in summary["counties"]}
    assert [c["county"] for c in summary["counties"]] == ["永顺县", "龙山县", BROKEN, "保靖县"]
    assert status[BROKEN]["status"] == "failed"
    assert "监测对象信息.xlsx" in status[BROKEN]["error"]
    assert all(status[c]["status"] == "ok" for c in GOOD)
    assert not (province["out"] / BROKEN).exists()
    assert summary["totals"]["counties_ok"] == 3 and summary["totals"]["counties_failed"] == 1


def test_person_of_one_county_found_in_another_countys_data(province):
    moved = province["moved"]
    cross = pl.read_csv(province["out"] / "cross_county.csv", infer_schema=False)
    hit = cross.filter((pl.col("kind") == "row_in_other_county") & (pl.col("source_file") == MOVED_FILE))
    assert hit.height == 1
    row = hit.row(0, named=True)
    assert row["county"] == "龙山县" and row["home_county"] == "永顺县"
    assert int(row["source_row"]) == moved["source_row"]
    assert int(row["roster_row"]) == moved["roster_row"] and row["household_id"] == moved["household_id"]
    assert row["id_number"] != moved["id_number"] and row["id_number"][:6] == moved["id_number"][:6]
    # The county run alone cannot see it: that row is unlinked in 龙山县's own links.
    links = csv_rows(province["out"] / "龙山县" / "links.csv")
    own = links.filter((pl.col("source_file") == MOVED_FILE) & (pl.col("source_row") == str(moved["source_row"])))
    assert own["match_status"].to_list() == ["unlinked"]


def test_cross_matches_find_a_person_on_two_rosters():
    index = pl.DataFrame({"county": ["乙县", "甲县"], "id18": ["433127199001011238"] * 2, "household_id": ["B", "A"],
                          "roster_row": [4, 9], "township": [None, None]},
                         schema_overrides={"township": pl.String})
    none = pl.DataFrame(schema={"county": pl.String, "sector": pl.String, "source_file": pl.String,
                                "source_row": pl.Int64, "id18": pl.String, "match_status": pl.String})
    out = cross_matches(none, index)
    assert out.select("kind", "county", "source_row", "home_county", "roster_row").rows() == [
        ("roster_in_two_counties", "乙县", 4, "甲县", 9)
    ]


def test_tables_are_parquet_partitioned_by_county(province):
    out = province["out"]
    for table, file in (("links", "links.csv"), ("flags", "flags.csv"), ("issues", "quality_issues.csv")):
        frame = pl.read_parquet(out / "tables" / table / "**" / "*.parquet", hive_partitioning=True)
        assert sorted(frame["county"].unique().to_list()) == sorted(GOOD)
        for county in GOOD:
            assert frame.filter(pl.col("county") == county).height == csv_rows(out / county / file).height


def test_province_workbook_lists_counties_rules_and_matches(province):
    wb = openpyxl.load_workbook(province["out"] / "province.xlsx", read_only=True)
    assert wb.sheetnames[:3] == ["全省汇总", "关联率", "跨县匹配"]
    rows = list(wb["全省汇总"].iter_rows(min_row=3, values_only=True))
    header, body = rows[0], rows[1:]
    assert header[0] == "县" and any(h and "（红）" in h for h in header)
    by_county = {r[0]: r for r in body}
    assert set(by_county) == {*GOOD, BROKEN}
    assert by_county[BROKEN][1] == "失败"
    summary = json.loads((province["out"] / "province_summary.json").read_text(encoding="utf-8"))
    first = next(c for c in summary["counties"] if c["county"] == "永顺县")
    rule = first["rules"][0]
    column = next(i for i, h in enumerate(header) if h and h.startswith(rule["title"]))
    assert by_county["永顺县"][column] == rule["text"]
    cross = list(wb["跨县匹配"].iter_rows(min_row=4, values_only=True))
    assert any(r[1] == "龙山县" and r[6] == "永顺县" for r in cross)


def test_no_full_id_in_province_outputs(province):
    out = province["out"]
    texts = [(out / n).read_text(encoding="utf-8-sig") for n in ("province_summary.json", "cross_county.csv")]
    wb = openpyxl.load_workbook(out / "province.xlsx", read_only=True)
    texts += [str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v]
    for text in texts:
        assert not ID_LIKE.search(text)


def test_bad_province_config_is_a_one_line_chinese_error(tmp_path: Path):
    path = tmp_path / "PROVINCE.toml"
    path.write_text('[province]\nname = "湘西州"\n[[county]]\nconfig = "a/fanpin.toml"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="未知的表或键：county"):
        load_province(path)
    result = runner.invoke(app, ["province", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "PROVINCE.toml" in result.output and "Traceback" not in result.output


def test_missing_county_config_fails_that_county_only(province, tmp_path: Path):
    root = province["root"]
    config = root / "PROVINCE_missing.toml"
    config.write_text('[province]\nname = "湘西州"\n[[counties]]\nconfig = "永顺县/fanpin.toml"\n'
                      '[[counties]]\nconfig = "不存在县/fanpin.toml"\n', encoding="utf-8")
    result = run_province(config, tmp_path / "out", history=False)
    status = {c["county"]: c for c in result.summary["counties"]}
    assert status["永顺县"]["status"] == "ok"
    assert status["不存在县"]["status"] == "failed" and "找不到配置文件" in status["不存在县"]["error"]


def test_spark_engine_without_pyspark_says_how_to_install(province, monkeypatch, tmp_path: Path):
    import sys

    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark → ImportError
    result = runner.invoke(app, ["province", str(province["config"]), "--out", str(tmp_path / "o"), "--engine", "spark"])
    assert result.exit_code == 1
    assert 'pip install "fanpin[spark]"' in result.output and "Traceback" not in result.output


def test_province_extract_rows_reach_their_counties(built, local_split):
    cases, out = built["cases"], local_split["out"]
    stats = local_split["result"].summary["extracts"][0]
    assert stats["error"] is None and stats["rows_read"] == 5
    assert stats["rows_assigned"] == {"id": 2, "region": 1, "township": 1}
    assert stats["rows_unassigned"] == 1 and stats["rows_in_two_counties"] == 0
    placed = 0
    for name in GOOD:
        links = csv_rows(out / name / "links.csv").filter(pl.col("source_file") == PROVINCE_FILE)
        placed += links.height
        for case, c in cases.items():
            row = links.filter(pl.col("source_row") == str(c["source_row"]))
            assert row.height == (1 if c["county"] == name else 0), (case, name)
            if c["county"] == name and case in ("id", "normalised"):
                assert row["match_status"].to_list() == ["linked"]
                assert row["roster_row"].to_list() == [str(c["roster_row"])]
                assert row["match_method"].to_list() == ["id_exact" if case == "id" else "id_normalized"]
    assert placed == 4  # every placed row in exactly one county, with the province file's row number


def test_unassigned_province_rows_are_listed_not_lost(built, local_split):
    out = local_split["out"]
    lost = pl.read_csv(out / "unassigned.csv", infer_schema=False)
    assert lost["source_row"].to_list() == [str(built["cases"]["unassigned"]["source_row"])]
    assert lost["source_file"].to_list() == [PROVINCE_FILE]
    shown = pl.select(mask_id(pl.lit("110101199001011237"))).item()
    assert shown != "110101199001011237" and lost["id_number"].to_list() == [shown]
    wb = openpyxl.load_workbook(out / "province.xlsx", read_only=True)
    assert "全省数据分县" in wb.sheetnames


def test_unassigned_rows_are_masked_in_every_column(built, tmp_path: Path):
    """A province-wide extract whose columns shifted put IDs under 姓名 and 乡镇: those rows
    reach no county and are listed in unassigned.csv — every text masked there, not the ID
    column alone (they were written in full)."""
    import shutil

    for name in GOOD:
        shutil.copytree(built["folders"][name], tmp_path / name, ignore=shutil.ignore_patterns("fanpin-history*"))
    pl.DataFrame({"姓名": ["433127198212278173", "张三", "李四433127198310290408"],
                  "身份证号码": [None, None, None], "乡镇": [None, "110105199003078835", "不存在乡"],
                  "参保状态": ["参保缴费"] * 3, "险种类型": ["城乡居民基本医疗保险"] * 3}).write_csv(tmp_path / "全省.csv")
    config = write_province(tmp_path, GOOD, [("medical_enrollment", "全省.csv")])
    run_province(config, tmp_path / "out", history=False)
    text = (tmp_path / "out" / "unassigned.csv").read_text(encoding="utf-8-sig")
    lost = pl.read_csv(tmp_path / "out" / "unassigned.csv", infer_schema=False)
    assert lost.height == 3
    for full in ("433127198212278173", "110105199003078835", "433127198310290408"):
        assert full not in text
        assert pl.select(mask_id(pl.lit(full))).item() in text


def test_ids_in_province_county_and_file_names_are_masked_everywhere(built, tmp_path: Path):
    """A province's name, a county's name and an input file's name holding IDs: they were in
    full in province_summary.json, province.xlsx, cross_county.csv, the console and the county's
    folder name. Masked everywhere; the county's folder named with `_` for the mask's `*`."""
    import shutil

    from faults.hostile import full_ids_in, output_texts

    ids = {"433127198212278173", "433127198310290408", "433127199509300479"}
    for name in GOOD:
        shutil.copytree(built["folders"][name], tmp_path / name, ignore=shutil.ignore_patterns("fanpin-history*"))
    first = tmp_path / GOOD[0]
    (first / "公安_户籍注销.csv").rename(first / "公安_433127199509300479.csv")
    text = (first / "fanpin.toml").read_text(encoding="utf-8").replace("公安_户籍注销.csv", "公安_433127199509300479.csv")
    (first / "fanpin.toml").write_text(re.sub(r'county = "[^"]*"', 'county = "永顺县433127198212278173"', text),
                                       encoding="utf-8")
    config = write_province(tmp_path, GOOD)
    config.write_text(config.read_text(encoding="utf-8").replace('name = "湘西州"', 'name = "湘西州433127198310290408"'),
                      encoding="utf-8")
    result = CliRunner().invoke(app, ["province", str(config), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert not full_ids_in(result.output, ids)
    out = tmp_path / "out"
    assert (out / "永顺县433127___________3" / "summary.json").is_file()
    assert not full_ids_in("\n".join(str(p.relative_to(out)) for p in out.rglob("*")), ids)
    for path, text in output_texts(out).items():
        assert not full_ids_in(text, ids), path


def test_monthly_history_is_kept_as_fanpin_run_keeps_it(built, tmp_path: Path):
    """Province (history on) and `fanpin run` (history on) on two copies of one county, twice:
    the same outputs, statuses included, and each county's history file beside its config."""
    import shutil

    alone, inside = tmp_path / "alone" / "永顺县", tmp_path / "inside" / "永顺县"
    for copy in (alone, inside):
        shutil.copytree(built["folders"]["永顺县"], copy, ignore=shutil.ignore_patterns("fanpin-history.duckdb"))
    shutil.copy(alone / "fanpin.key", inside / "fanpin.key")  # same key: same record keys
    config = write_province(tmp_path / "inside", ["永顺县"])
    for month in (1, 2):
        result = runner.invoke(app, ["run", str(alone / "fanpin.toml"), "--out", str(tmp_path / f"a{month}"), "-q"])
        assert result.exit_code == 0, result.output
        run_province(config, tmp_path / f"p{month}")
        for name in COMPARED:
            a, b = csv_rows(tmp_path / f"a{month}" / name), csv_rows(tmp_path / f"p{month}" / "永顺县" / name)
            assert a.equals(b), (month, name)
        flags = csv_rows(tmp_path / f"p{month}" / "永顺县" / "flags.csv")
        assert "status" in flags.columns and flags["status"].drop_nulls().len() == flags.height
    assert (inside / "fanpin-history.duckdb").is_file()


def test_slice_summary_names_the_province_file_its_sha256_and_rows(built, local_split):
    """A county's summary.json and fanpin.log say what was read for its slice: the province
    file as written, that file's sha256 (not the temporary slice's), its rows and this
    county's rows of it."""
    import hashlib

    digest = hashlib.sha256((built["root"] / PROVINCE_FILE).read_bytes()).hexdigest()
    rows: dict[str, list[int]] = {}
    for case in built["cases"].values():
        if case["county"]:
            rows.setdefault(case["county"], []).append(case["source_row"])
    for name in GOOD:
        folder = local_split["out"] / name
        inputs = json.loads((folder / "summary.json").read_text(encoding="utf-8"))["inputs"]
        mine = [e for e in inputs if e["file"] == PROVINCE_FILE]
        assert len(mine) == 1, name
        assert mine[0]["sha256"] == digest and mine[0]["encoding"] == "utf-8"
        assert mine[0]["province_extract"] == {
            "path": PROVINCE_FILE, "sha256": digest, "rows_in_file": 5, "rows": len(rows[name]),
            "first_row": min(rows[name]), "last_row": max(rows[name]),
        }
        assert all(e["province_extract"] is None for e in inputs if e["file"] != PROVINCE_FILE)
        log = (folder / "fanpin.log").read_text(encoding="utf-8")
        assert f"全省数据 5 行中本县 {len(rows[name])} 行" in log and f"sha256 {digest[:16]}" in log


def test_county_key_stays_home_only_its_fingerprint_travels(built, tmp_path: Path):
    """The job a county task gets holds no key bytes; a task that reads another fanpin.key than
    the driver did fails that county with a one-line Chinese reason."""
    import pickle
    import shutil

    from fanpin_cli.province.county import key_fingerprint, run_county
    from fanpin_cli.province.plan import make_plan

    plan = make_plan(load_province(built["config"]), tmp_path / "out")
    jobs = [j for j in plan.jobs if j.config is not None]
    assert set(GOOD) <= {j.county for j in jobs}
    for job in jobs:
        key = (job.config.config_path.parent / "fanpin.key").read_bytes()[:32]
        blob = pickle.dumps(job)
        assert key not in blob and key.hex().encode() not in blob
        assert job.key_check == key_fingerprint(key)

    folder = tmp_path / "永顺县"
    shutil.copytree(built["folders"]["永顺县"], folder, ignore=shutil.ignore_patterns("fanpin-history.duckdb"))
    config = write_province(tmp_path, ["永顺县"])
    job = make_plan(load_province(config), tmp_path / "out").jobs[0]
    (folder / "fanpin.key").write_bytes(bytes(range(32)))  # the executor sees another key file
    outcome = run_county(job, tmp_path / "out")
    assert outcome.error is not None and "fanpin.key" in outcome.error and "不同" in outcome.error
    assert not (tmp_path / "out" / "永顺县").exists()


def test_history_is_read_on_the_driver_and_a_bad_file_fails_its_county_only(built, tmp_path: Path):
    import shutil

    from fanpin_cli.province.plan import make_plan, read_histories

    for name in ("永顺县", "龙山县"):
        shutil.copytree(built["folders"][name], tmp_path / name, ignore=shutil.ignore_patterns("fanpin-history.duckdb"))
    (tmp_path / "龙山县" / "fanpin-history.duckdb").write_bytes(b"not a database at all")
    plan = read_histories(make_plan(load_province(write_province(tmp_path, ["永顺县", "龙山县"])), tmp_path / "o"),
                          tmp_path / "o")
    good, bad = plan.jobs
    assert good.history is not None and good.history.view.county == "永顺县"
    assert good.history.view.previous_period is None  # no earlier month yet
    assert bad.config is None and "历史记录" in bad.error and "fanpin-history.duckdb" in bad.error
