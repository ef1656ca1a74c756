"""`fanpin province --engine spark` on Spark `local[2]` (one session for every test): each
county's outputs are exactly `fanpin run`'s, a person found across counties, a broken county
isolated, and the province-wide extract split exactly as the local engine splits it.

Skipped when pyspark (`pip install "fanpin[spark]"`) or Java is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import sys

import polars as pl
import pytest

pytest.importorskip("pyspark")
if shutil.which("java") is None and not __import__("os").environ.get("JAVA_HOME"):
    pytest.skip("Spark needs Java 17", allow_module_level=True)

from fanpin_cli.province import run_province  # noqa: E402

from .data import BROKEN, COUNTIES, MOVED_FILE, PROVINCE_FILE, csv_rows  # noqa: E402

GOOD = [name for name, _ in COUNTIES]
TABLES = ("links.csv", "flags.csv", "quality_issues.csv", "review.csv", "stocktake.csv")


@pytest.fixture(scope="session")
def event_log(tmp_path_factory):
    """Where the test session's Spark event log goes (checked for secrets at the end)."""
    return tmp_path_factory.mktemp("spark-events")


@pytest.fixture(scope="session")
def spark(event_log):
    from pyspark.sql import SparkSession

    # the workers run this very interpreter (as `spark_session` has them), not the `python3`
    # first on PATH: the tests run without the virtualenv activated too
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]").appName("fanpin-tests")
        .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
        .config("spark.eventLog.enabled", "true").config("spark.eventLog.dir", event_log.as_uri())
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.fixture(scope="module")
def spark_run(built, spark):
    out = built["root"] / "out_spark"
    return {"result": run_province(built["config"], out, engine="spark", history=False), "out": out}


@pytest.fixture(scope="module")
def spark_split(built, spark):
    out = built["root"] / "out_split_spark"
    return {"result": run_province(built["with_extract"], out, engine="spark", history=False), "out": out}


@pytest.mark.parametrize("county", GOOD)
def test_spark_county_outputs_are_those_of_fanpin_run_alone(built, spark_run, county):
    mine, alone = spark_run["out"] / county, built["alone"][county]
    assert sorted(p.name for p in mine.iterdir()) == sorted(p.name for p in alone.iterdir())
    for name in TABLES:
        assert csv_rows(mine / name).equals(csv_rows(alone / name)), name


def test_spark_broken_county_does_not_stop_the_others(spark_run):
    summary = spark_run["result"].summary
    status = {c["county"]: c for c in summary["counties"]}
    assert summary["engine"] == "spark"
    assert status[BROKEN]["status"] == "failed" and "监测对象信息.xlsx" in status[BROKEN]["error"]
    assert [status[c]["status"] for c in GOOD] == ["ok"] * 3


def test_spark_finds_a_person_across_counties(built, spark_run):
    cross = pl.read_csv(spark_run["out"] / "cross_county.csv", infer_schema=False)
    hit = cross.filter(pl.col("source_file") == MOVED_FILE)
    assert hit.select("kind", "county", "home_county", "source_row", "roster_row").rows() == [(
        "row_in_other_county", "龙山县", "永顺县", str(built["moved"]["source_row"]), str(built["moved"]["roster_row"]),
    )]


def test_spark_tables_are_partitioned_by_county(spark_run):
    frame = pl.read_parquet(spark_run["out"] / "tables" / "flags" / "**" / "*.parquet", hive_partitioning=True)
    for county in GOOD:
        assert frame.filter(pl.col("county") == county).height == csv_rows(spark_run["out"] / county / "flags.csv").height


def test_spark_splits_the_province_extract_as_the_local_engine_does(spark_split, local_split):
    spark_summary, local_summary = spark_split["result"].summary, local_split["result"].summary
    assert spark_summary["extracts"] == local_summary["extracts"]
    assert spark_summary["extracts"][0]["rows_unassigned"] == 1
    for county in GOOD:
        for name in TABLES:
            a = csv_rows(spark_split["out"] / county / name)
            b = csv_rows(local_split["out"] / county / name)
            assert a.equals(b), (county, name)
        links = csv_rows(spark_split["out"] / county / "links.csv")
        assert links.filter(pl.col("source_file") == PROVINCE_FILE).height >= 1
    assert csv_rows(spark_split["out"] / "unassigned.csv").equals(csv_rows(local_split["out"] / "unassigned.csv"))
    rules = lambda s: [(c["county"], json.dumps(c.get("rules"), ensure_ascii=False)) for c in s["counties"]]  # noqa: E731
    assert rules(spark_summary) == rules(local_summary)


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_spark_reads_a_province_extract_at_a_file_uri(built, spark, kind):
    """`[[extracts]] path = "file:///…"` (Parquet or CSV) is read by Spark itself, not by
    fanpin's loaders: the same rows, row numbers and canonical columns as the local file."""
    from fanpin_cli.province.config import ProvinceExtract, load_province
    from fanpin_cli.province.sources import load_extract
    from fanpin_cli.province.spark import EXTRACT_KEY, _read_extract, from_arrow

    from .data import write_province

    local = built["root"] / PROVINCE_FILE
    target = built["root"] / f"uri_{kind}" / f"全省.{kind}"
    target.parent.mkdir(exist_ok=True)
    frame = pl.read_csv(local, infer_schema=False)
    frame.write_parquet(target) if kind == "parquet" else frame.write_csv(target)
    # written as a clerk writes it: Chinese characters as they are (Hadoop does not decode %XX)
    config = write_province(built["root"], ["永顺县"], [("medical_enrollment", f"file://{target}")],
                            file=f"PROVINCE_uri_{kind}.toml")
    extract = load_province(config).extracts[0]
    assert extract.is_remote and extract.path.startswith("file:///")
    df, headings, columns, origin = _read_extract(spark, 0, extract)
    got = from_arrow(df.toArrow()).drop(EXTRACT_KEY).sort("source_row")
    want = load_extract(ProvinceExtract("medical_enrollment", str(local), PROVINCE_FILE)).frame
    assert origin.rows_in_file == want.height == 5 and origin.sha256 is None
    assert headings["id_number"] == "身份证号码" and set(columns) == set(want.columns) - {"source_file", "source_row"}
    assert got.select(want.columns[1:]).equals(want.drop("source_file").select(want.columns[1:]))


def test_spark_event_log_holds_no_key_and_no_full_id(built, spark_run, spark_split, spark, event_log):
    """Last in this file: stops the session so the event log is complete, then looks in it for
    every county's fanpin.key (raw, hex, base64) and every full roster ID."""
    import base64

    from .data import roster

    spark.stop()
    text = b"".join(p.read_bytes() for p in event_log.rglob("*") if p.is_file())
    assert b"SparkListenerApplicationEnd" in text  # the log is there and complete
    for name in GOOD:
        key = (built["folders"][name] / "fanpin.key").read_bytes()[:32]
        for form in (key, key.hex().encode(), base64.b64encode(key)):
            assert form not in text, name
        ids = roster(built["folders"][name])["id_number"].drop_nulls()
        full = [i for i in ids.to_list() if len(i) == 18]
        assert full and not [i for i in full if i.encode() in text], name
    province_ids = pl.read_csv(built["root"] / PROVINCE_FILE, infer_schema=False)["身份证号码"].drop_nulls()
    assert not [i for i in province_ids.to_list() if i.strip().encode() in text]
