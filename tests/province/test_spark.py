"""`fanpin province --engine spark` on Spark `local[2]` (one session for every test): each
county's outputs are exactly `fanpin run`'s, a person found across counties, a broken county
isolated, and the province-wide extract split exactly as the local engine splits it.

Skipped when pyspark (`pip install "fanpin[spark]"`) or Java is missing.
"""

from __future__ import annotations

import json
import shutil

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
def spark():
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]").appName("fanpin-tests")
        .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
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
