"""Codes as they are written (values.py): the checks and rules see canonical words.

性别 coded 1/2/0/9 (GB/T 2261.1), 是/否 as 1/0, Y/N, √/×, 户类型 variants; a value no
vocabulary knows is kept and reported (VALUE_NOT_ALLOWED), never silently dropped.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from make_ids import make_id

from fanpin_cli.prepare import prepare
from fanpin_cli.quality import check_file
from fanpin_cli.values import normalize_codes

REF = date(2026, 11, 30)



@pytest.mark.parametrize(
    ("field", "written", "canonical"),
    [
        ("sex", "1", "男"), ("sex", "2", "女"), ("sex", " 男 ", "男"), ("sex", "女性", "女"), ("sex", "Ｍ", "男"),
        ("sex", "0", None), ("sex", "9", None), ("sex", "未知", None), ("sex", "x", "x"),
        ("insured", "1", "是"), ("insured", "0", "否"), ("insured", "Y", "是"), ("insured", "n", "否"),
        ("insured", "√", "是"), ("insured", "×", "否"), ("insured", "已参保", "是"), ("insured", "不详", "不详"),
        ("risk_eliminated", "已消除", "是"), ("risk_eliminated", "未消除", "否"), ("risk_eliminated", "Ｙ", "是"),
        ("household_type", "一般户", "一般农户"), ("household_type", "已脱贫户", "脱贫户"),
        ("household_type", "监测对象", "监测户"),
        ("relation", "本人", "户主"), ("relation", "妻子", "配偶"), ("relation", "之子", "之子"),
        # 民政's names as 社会救助暂行办法 writes them, beside the short ones the rules use
        ("aid_type", "农村最低生活保障", "农村低保"), ("aid_type", "特困人员救助供养", "特困供养"),
        ("aid_type", "城镇低保", "城市低保"), ("aid_type", "农村五保", "特困供养"), ("aid_type", "低保", "低保"),
        ("aid_status", "正常", "在保"), ("aid_status", "终止", "停保"), ("safety_grade", "C级危房", "C级"),
        ("safety_grade", "d", "D级"),
        ("name", "1", "1"),  # only code fields are rewritten
    ],
)
def test_code_vocabularies(field: str, written: str, canonical: str | None) -> None:
    out = normalize_codes(pl.DataFrame({field: [written]}, schema={field: pl.String}))
    assert out[field].item() == canonical


HEAD, WIFE, SON, DAUGHTER = (make_id("19700101", "011"), make_id("19720202", "022"),
                             make_id("20000303", "033"), make_id("20120404", "044"))


def coded_roster(sexes: list[str], ids: list[str | None]) -> pl.DataFrame:
    n = len(sexes)
    data = {
        "source_file": ["r.csv"] * n, "source_row": list(range(4, 4 + n)),
        "township": ["灵溪镇"] * n, "village": ["司城村"] * n, "household_id": ["4331270100100001"] * n,
        "name": ["张大山", "李秀英", "张小明", "张小红"][:n], "id_number": ids, "sex": sexes,
        "relation": ["户主", "配偶", "之子", "之女"][:n], "household_size": [str(n)] * n,
        "insured": ["1", "0", "√", "Y"][:n], "risk_eliminated": ["N"] * n,
    }
    return prepare(pl.DataFrame(data, schema_overrides={k: pl.String for k in data if k != "source_row"}), REF)


def checks(frame: pl.DataFrame) -> dict[str, list[int]]:
    issues = check_file(frame, "roster", reference_date=REF)
    out: dict[str, list[int]] = {}
    for check_id, row in issues.select("check_id", "source_row").iter_rows():
        out.setdefault(check_id, []).append(row)
    return out


def test_sex_codes_one_two_agree_with_the_ids() -> None:
    found = checks(coded_roster(["1", "2", "1", "2"], [HEAD, WIFE, SON, DAUGHTER]))
    assert "SEX_ID_CONFLICT" not in found
    assert "VALUE_NOT_ALLOWED" not in found  # 1/2, 1/0, √, Y, N are codes, not errors
    assert "REL_SEX_CONFLICT" not in found


def test_sex_code_contradicting_the_id_is_reported() -> None:
    found = checks(coded_roster(["1", "1", "1", "2"], [HEAD, WIFE, SON, DAUGHTER]))
    assert found.get("SEX_ID_CONFLICT") == [5]  # 配偶 coded 1 (男), ID says female


def test_rel_sex_without_ids_uses_the_coded_sex() -> None:
    found = checks(coded_roster(["1", "2", "1", "2"], [None, None, None, None]))
    assert "REL_SEX_CONFLICT" not in found
    found = checks(coded_roster(["1", "2", "2", "2"], [None, None, None, None]))
    assert found.get("REL_SEX_CONFLICT") == [6]  # 之子 coded 2 (女)


def test_unreadable_code_is_reported_once_per_cell() -> None:
    found = checks(coded_roster(["1", "2", "男的", "2"], [HEAD, WIFE, SON, DAUGHTER]))
    assert found.get("VALUE_NOT_ALLOWED") == [6]


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        # GB/T 4761-2008 two-digit codes, a column holding them
        (["02", "10", "20", "30", "41", "52"], ["户主", "配偶", "之子", "之女", "之孙子", "之母"]),
        # the leading zero of 01/02 dropped by a spreadsheet: still 户主 beside two-digit codes
        (["2", "12", "23", "38"], ["户主", "配偶", "之子", "之儿媳"]),
        # a column of the standard's one-digit codes
        (["0", "1", "2", "3", "5", "8"], ["户主", "配偶", "之子", "之女", "之父母", "其他"]),
        # a code neither table has is kept and reported
        (["02", "9"], ["户主", "9"]),
    ],
)
def test_relation_codes(written: list[str], canonical: list[str]) -> None:
    out = normalize_codes(pl.DataFrame({"relation": written}))
    assert out["relation"].to_list() == canonical


def test_relation_codes_feed_the_household_and_sex_checks() -> None:
    roster = coded_roster(["1", "2", "1", "2"], [HEAD, WIFE, SON, DAUGHTER]).drop("relation")
    raw = roster.with_columns(pl.Series("relation", ["2", "12", "30", "30"]))  # the son coded 女 (30)
    found = checks(prepare(raw, REF))
    assert found.get("REL_SEX_CONFLICT") == [6]
    assert "HH_NO_HEAD" not in found and "VALUE_NOT_ALLOWED" not in found


_WRITTEN = ["1", "2", "0", "9", "10", "30", " 男 ", "女性", "ｙ", "N", "√", "×", "是", "否", "户主", "x", "", None]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(*[st.sampled_from(_WRITTEN)] * 3), min_size=1, max_size=30))
def test_codes_looked_up_per_distinct_value_read_as_row_by_row(rows) -> None:
    """normalize_codes works once per distinct written value; every cell reads as the
    row-by-row expression reads it (the relation's one-digit rule looks at the whole column)."""
    from fanpin_cli.values import CODES, _relation_code, code_key

    frame = pl.DataFrame(rows, schema={"sex": pl.String, "relation": pl.String, "insured": pl.String}, orient="row")
    expected = []
    for field in frame.columns:
        key = code_key(pl.col(field))
        key = _relation_code(key) if field == "relation" else key
        known = CODES[field]
        mapped = key.replace_strict(known, default=None, return_dtype=pl.String)
        expected.append(pl.when(key.is_in(list(known))).then(mapped).otherwise(pl.col(field)).alias(field))
    assert normalize_codes(frame).equals(frame.with_columns(expected))
