"""One definition each of household head, sex and place key: the stages that use them agree.

Each test feeds the same odd record to two stages that once defined the thing apart (flagging
vs the flag list's 户主 columns; linking vs stock-take; linking vs quality) and asserts that
they see the same person, sex or place.
"""

from __future__ import annotations

import polars as pl
from test_quality_checks import HEAD, REF, SON, SPOUSE, evidence, roster

from fanpin_cli.domain import household_heads, is_head, person_sex, place_key
from fanpin_cli.flagging.engine import build_context
from fanpin_cli.linking.frames import view
from fanpin_cli.pipeline import _with_person
from fanpin_cli.quality import check_file, stocktake


def _odd_roster() -> pl.DataFrame:
    """Household 1: the 户主 (written 本人) is not the first row; household 2 has no 户主."""
    return pl.DataFrame({
        "source_row": [3, 4, 5, 6, 7],
        "household_id": ["1", "1", "1", "2", "2"],
        "name": ["李秀英", "张大山", "张小明", "王五", "王六"],
        "relation": ["配偶", "本人", "之子", "之子", "之女"],
        "id_number": [SPOUSE, HEAD, SON, "433127200103030330", "433127200304040440"],
        "group": ["一组"] * 5,
    })


def test_household_head_is_the_same_in_flagging_and_in_the_flag_list():
    ros = _odd_roster()
    heads = dict(household_heads(ros).rows())
    assert heads == {"1": 4, "2": 6}
    # flagging: household-level flags are shown by this person's name
    ctx = build_context(ros, {}, REF)
    engine_heads = dict(ctx.households.select("_hh", "_head_row").rows())
    assert engine_heads == heads
    # the flag list: a household-level flag shows the name flagging gives it and that same
    # person's ID, 组 and 与户主关系 — the head's, or the member its evidence names
    ctx_names = dict(ctx.households.select("_hh", "_head_name").rows())
    assert ctx_names == {"1": "张大山", "2": "王五"}
    flags = pl.DataFrame({"household_id": ["1", "2", "1"], "roster_row": [None, None, None],
                          "person_name": [ctx_names["1"], ctx_names["2"], "李秀英"],
                          "source_file": [None, None, None], "source_row": [None, None, None]},
                         schema={"household_id": pl.String, "roster_row": pl.Int64, "person_name": pl.String,
                                 "source_file": pl.String, "source_row": pl.Int64})
    shown = _with_person(flags, ros)
    assert shown["id_number"].to_list() == [HEAD, "433127200103030330", SPOUSE]
    assert shown["relation"].to_list() == ["本人", "之子", "配偶"]


def test_household_head_variants_count_as_heads_in_quality():
    frame = pl.DataFrame({"source_file": ["r.xlsx"] * 3, "source_row": [3, 4, 5], "household_id": ["1", "1", "2"],
                          "relation": ["本人(户主)", "配偶", "户主本人"]})
    assert frame.select(is_head(pl.col("relation"))).to_series().to_list() == [True, False, True]
    issues = check_file(frame, "roster", reference_date=REF)
    assert not issues.filter(pl.col("check_id").is_in(["HH_NO_HEAD", "HH_MULTI_HEAD"])).height


def test_place_key_is_the_same_in_linking_and_stocktake():
    committee = pl.DataFrame({"v": ["司城村民委员会", "司城村", "城关居民委员会", "城关社区"]})
    keys = committee.select(place_key(pl.col("v"))).to_series().to_list()
    assert keys == ["司城", "司城", "城关", "城关"]
    # linking compares villages on the key ...
    ros = roster(village=["司城村民委员会"] * 4)
    assert view(ros)["village"].unique().to_list() == ["司城"]
    # ... and stock-take does not call 司城村 vs 司城村民委员会 (or 城关居民委员会 vs 城关社区) a mismatch
    enr = evidence("medical_enrollment", [3, 4], ["linked", "linked"], name=["张大山", "李秀英"],
                   id_number=[HEAD, SPOUSE], village=["司城村", "司城村民委员会"], enroll_status=["参保缴费"] * 2)
    _, lists = stocktake(ros, {"medical_enrollment": enr})
    assert lists["mismatch"].filter(pl.col("field") == "village").is_empty()
    ros = roster(village=["城关社区"] * 4)
    enr = enr.with_columns(pl.lit("城关居民委员会").alias("village"))
    _, lists = stocktake(ros, {"medical_enrollment": enr})
    assert lists["mismatch"].filter(pl.col("field") == "village").is_empty()


def test_sex_is_the_same_in_linking_quality_and_stocktake():
    # The 性别 column says 女 but the ID (17th digit) says 男: every stage takes the ID's.
    ros = roster(sex={0: "女"})
    assert ros.select(person_sex(ros)).to_series()[0] == "男"
    assert view(ros)["sex"][0] == "男"
    issues = check_file(ros, "roster", reference_date=REF)
    assert issues.filter(pl.col("check_id") == "SEX_ID_CONFLICT")["source_row"].to_list() == [3]
    # a linked extract row writing 男性 for him is no stock-take mismatch (the roster person is 男)
    enr = evidence("medical_enrollment", [3], ["linked"], name=["张大山"], id_number=[HEAD], sex=["男性"],
                   enroll_status=["参保缴费"])
    _, lists = stocktake(ros, {"medical_enrollment": enr})
    assert lists["mismatch"].filter(pl.col("field") == "sex").is_empty()
    # without a usable 17th digit the column decides
    no_id = roster(id_number={0: ""}, sex={0: "2"})
    assert no_id.select(person_sex(no_id)).to_series()[0] == "女"
    assert view(no_id)["sex"][0] == "女"
