"""The pandera sector schemas: one model per contract sector key, failures → check ids."""

from __future__ import annotations

import pandera.errors as pa_errors
import polars as pl
import pytest
from fanpin_cli.schemas import DOMAINS, SCHEMAS, required_fields

from fanpin_cli.fields import SECTORS
from fanpin_cli.quality.schema import failure_cases


def test_one_schema_per_sector():
    assert set(SCHEMAS) == set(SECTORS)


def test_required_fields_are_not_name_or_id():
    for sector in SECTORS:
        assert not {"name", "id_number"} & set(required_fields(sector))
    assert "household_id" in required_fields("roster")
    assert required_fields("police") == ("dereg_reason",)


@pytest.mark.parametrize(
    "sector,column,bad,good,check",
    [
        ("roster", "sex", "男性", "女", "isin"),
        ("roster", "relation", "儿子", "之子", "isin"),
        ("roster", "health", "残疾,良好", "残疾，长期慢性病", "VALUE_NOT_ALLOWED"),
        ("roster", "household_size", "0", "12", "HH_SIZE_INVALID"),
        ("roster", "income_per_capita", "-1", "0", "AMOUNT_INVALID"),
        ("housing", "safety_grade", "C", "C级", "isin"),
        ("housing", "assess_date", "2026-13-01", "2026.1.5", "DATE_INVALID"),
        ("disability", "disability_grade", "5级", "四级", "isin"),
        ("medical_enrollment", "enroll_year", "二〇二六", "2026", "YEAR_INVALID"),
        ("civil_affairs", "aid_status", "正常", "在保", "isin"),
        ("police", "dereg_reason", None, "服刑", "not_nullable"),
    ],
)
def test_schema_rejects_and_accepts(sector, column, bad, good, check):
    model = SCHEMAS[sector]
    frame = pl.DataFrame({column: [good, bad]}, schema={column: pl.String})
    with pytest.raises(pa_errors.SchemaErrors) as err:
        model.validate(frame, lazy=True)
    cases = err.value.failure_cases
    assert cases["index"].to_list() == [1]
    assert cases["check"][0].startswith(check)
    model.validate(frame.head(1), lazy=True)


def test_failure_cases_map_to_frame_positions():
    frame = pl.DataFrame({"safety_grade": ["A级", None, "X级"], "renovation": ["已改造", "拆除", None]})
    cases = failure_cases(frame, "housing").sort("index")
    assert cases.select("index", "column").rows() == [(1, "safety_grade"), (1, "renovation"), (2, "safety_grade")]


def test_a_repeated_bad_text_fails_on_every_row_it_is_on():
    # Years, counts and 健康状况 are tested once per distinct text: each is still reported on
    # every row that holds it, in row order, beside the rows that pass and the empty ones.
    years = ["2026", "二〇二六", None, "2025年度", "二〇二六", "", "二〇二六"]
    cases = failure_cases(pl.DataFrame({"enroll_status": ["参保缴费"] * 7, "enroll_year": years}), "medical_enrollment")
    assert cases.select("index", "failure_case", "check").rows() == [
        (1, "二〇二六", "YEAR_INVALID"), (4, "二〇二六", "YEAR_INVALID"), (5, "", "YEAR_INVALID"), (6, "二〇二六", "YEAR_INVALID")]
    roster = pl.DataFrame({"household_size": ["3", "0", "3", None, "0", "三"],
                           "health": ["健康", "残疾,良好", None, "残疾,良好", "健康", "残疾，长期慢性病"]})
    cases = failure_cases(roster, "roster").filter(pl.col("column").is_in(["household_size", "health"]))
    assert cases.select("column", "check", "index").rows() == [
        ("household_size", "not_nullable", 3), ("household_size", "HH_SIZE_INVALID", 1),
        ("household_size", "HH_SIZE_INVALID", 4), ("household_size", "HH_SIZE_INVALID", 5),
        ("health", "VALUE_NOT_ALLOWED", 1), ("health", "VALUE_NOT_ALLOWED", 3)]


def test_unmapped_columns_and_absent_optional_columns_are_fine():
    frame = pl.DataFrame({"dereg_reason": ["死亡"], "备注": ["x"]})
    assert SCHEMAS["police"].validate(frame, lazy=True).height == 1
    assert "死亡" in DOMAINS["dereg_reason"]


_LIGHT_IMPORT = """
import json, sys
import polars as pl
from fanpin_cli.quality.schema import failure_cases
frame = pl.DataFrame({"source_row": [2, 3, 4], "household_id": ["1", None, "3"], "relation": ["户主", "儿子", None],
                      "household_size": ["3", "0", "x"], "health": ["健康", "残疾,良好", None],
                      "income_per_capita": ["12,000元", "-1", "约3000"]})
print(json.dumps({"cases": failure_cases(frame, "roster").sort("column", "index").rows(),
                  "pandas": "pandas" in sys.modules, "hypothesis": "hypothesis" in sys.modules}))
import hypothesis  # still importable for everyone else afterwards
"""


def test_schemas_validate_the_same_without_pandas_loaded():
    # A fresh process imports pandera without its pandas layer (schemas/_pandera.py); this test
    # process imported pandera normally (with pandas where installed). Same failure cases.
    import json
    import subprocess
    import sys

    out = json.loads(subprocess.run([sys.executable, "-c", _LIGHT_IMPORT], capture_output=True, text=True,
                                    check=True).stdout)
    frame = pl.DataFrame({"source_row": [2, 3, 4], "household_id": ["1", None, "3"], "relation": ["户主", "儿子", None],
                          "household_size": ["3", "0", "x"], "health": ["健康", "残疾,良好", None],
                          "income_per_capita": ["12,000元", "-1", "约3000"]})
    here = failure_cases(frame, "roster").sort("column", "index").rows()
    assert [tuple(r) for r in out["cases"]] == here
    assert {r[2] for r in here} >= {"not_nullable", "HH_SIZE_INVALID", "AMOUNT_INVALID", "VALUE_NOT_ALLOWED"}
    assert out["pandas"] is False
    assert out["hypothesis"] is False  # pandera's data synthesis (the test extra) not loaded either


@pytest.mark.parametrize("sector", SECTORS)
def test_an_inherited_check_keeps_its_id_after_other_models_are_built(sector):
    """出生日期's DATE_INVALID is declared once, on the base model: once pandera had built one
    sector's model, the others reported it as `date_check` and `fanpin run` dropped every case
    (`fanpin validate`, one model, kept them)."""
    from fanpin_cli.quality.schema import schema_issues

    for other in SECTORS:  # every model built first, the sector's own too
        failure_cases(pl.DataFrame({"name": ["张伟"], "id_number": ["1"]}), other)
    frame = pl.DataFrame({"source_file": ["a.csv"] * 2, "source_row": [2, 3], "name": ["张伟", "李娜"],
                          "id_number": ["1", "2"], "birth_date": ["2007-13-45", "2007-01-02"]})
    issues = pl.concat([lf.collect() for lf in schema_issues(frame, sector, {"birth_date": "出生日期"})])
    dates = issues.filter(pl.col("column") == "出生日期")
    assert dates.select("source_row", "check_id").rows() == [(2, "DATE_INVALID")]
