"""What a run does with its history, on in-memory tables: confirmed and rejected review pairs,
exemptions that hold while evidence is unchanged and end, statuses and resolved flags."""

from __future__ import annotations

from datetime import date

import polars as pl
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fanpin_cli.history import HistoryView, apply_flag_history, apply_link_verdicts
from fanpin_cli.history.view import FIRST_SCHEMA, FLAG_SCHEMA, PAIR_SCHEMA, VERDICT_SCHEMA

ROSTER = pl.DataFrame({
    "source_row": [3, 4, 5], "household_id": ["H1", "H1", "H2"], "person_key": ["pkA", "pkB", "pkC"],
})


def _view(**frames: pl.DataFrame) -> HistoryView:
    base = HistoryView.empty("县", "2026-12")
    schemas = {"confirmed_pairs": PAIR_SCHEMA, "rejected_pairs": PAIR_SCHEMA, "verdicts": VERDICT_SCHEMA,
               "previous_flags": FLAG_SCHEMA, "first_flagged": FIRST_SCHEMA}
    kw = {name: getattr(base, name) for name in schemas}
    for name, frame in frames.items():
        kw[name] = frame.select([
            (pl.col(c) if c in frame.columns else pl.lit(None)).cast(t).alias(c) for c, t in schemas[name].items()
        ])
    return HistoryView("县", "2026-12", "2026-11" if "previous_flags" in frames else None, **kw)


def test_confirmed_pair_links_and_rejected_pair_is_not_proposed() -> None:
    links = pl.DataFrame({
        "record_key": ["E1", "E2", "E3", "E4"], "sector": ["medical_enrollment"] * 4,
        "roster_row": [4, 5, None, 3], "household_id": ["H1", "H2", None, "H1"],
        "match_method": ["name_birth", "name_birth", "none", "id_exact"],
        "match_status": ["review", "review", "unlinked", "linked"], "match_score": [80.0, 75.0, 0.0, 100.0],
        "reason": ["姓名一致"] * 4,
    }, schema_overrides={"roster_row": pl.Int64})
    view = _view(
        confirmed_pairs=pl.DataFrame({"record_key": ["E1", "E3"], "person_key": ["pkB", "pkC"],
                                      "verdict_date": [date(2026, 12, 3)] * 2, "file": ["大坝乡.xlsx"] * 2}),
        rejected_pairs=pl.DataFrame({"record_key": ["E2", "E4"], "person_key": ["pkC", "pkA"],
                                     "verdict_date": [date(2026, 12, 4)] * 2, "file": ["新村.xlsx"] * 2}),
    )
    out = apply_link_verdicts(links, ROSTER, view)
    assert out.columns == links.columns and out["record_key"].to_list() == ["E1", "E2", "E3", "E4"]
    rows = {r["record_key"]: r for r in out.to_dicts()}
    assert (rows["E1"]["match_status"], rows["E1"]["match_method"], rows["E1"]["roster_row"]) == ("linked", "confirmed", 4)
    assert "2026-12-03" in rows["E1"]["reason"] and "大坝乡.xlsx" in rows["E1"]["reason"]
    # confirmed though this month's linking found no candidate: the verdict links it
    assert (rows["E3"]["match_status"], rows["E3"]["roster_row"], rows["E3"]["household_id"]) == ("linked", 5, "H2")
    assert (rows["E2"]["match_status"], rows["E2"]["roster_row"]) == ("unlinked", None)
    assert "不是同一人" in rows["E2"]["reason"]
    # an automatic ID link is not undone by a rejection of a review pair
    assert rows["E4"]["match_status"] == "linked" and rows["E4"]["match_method"] == "id_exact"


def _flags(*items: tuple[str, str, str]) -> pl.DataFrame:
    schema = {"record_key": pl.String, "rule_id": pl.String, "detail": pl.String, "household_id": pl.String,
              "roster_row": pl.Int64, "sector": pl.String, "person_key": pl.String}
    return pl.DataFrame([{"record_key": k, "rule_id": r, "detail": d, "household_id": "H1", "roster_row": 3,
                          "sector": "medical_enrollment", "person_key": "pkA"} for k, r, d in items], schema=schema)


def test_statuses_first_flagged_and_overdue() -> None:
    prev = _flags(("F1", "MED_UNINSURED", "无参保"), ("F9", "DIS_SEVERE", "一级"))
    view = _view(
        previous_flags=prev,
        first_flagged=pl.DataFrame({"record_key": ["F1", "F2", "F9"], "first_flagged": ["2026-10", "2026-10", "2026-11"],
                                    "first_sent": [date(2026, 10, 31), date(2026, 10, 31), date(2026, 11, 30)]}),
        verdicts=pl.DataFrame({"record_key": ["F1"], "kind": ["flag"], "verdict": ["属实"],
                               "verdict_date": [date(2026, 11, 5)], "file": ["a.xlsx"]}),
    )
    now = _flags(("F1", "MED_UNINSURED", "无参保"), ("F2", "EDU_DROPOUT", "未在读"), ("F3", "DIS_SEVERE", "二级"))
    # the declared (empty) history columns may already be there: they are filled, not doubled
    now = now.with_columns(pl.lit(None, pl.String).alias("status"), pl.lit(None, pl.String).alias("last_verdict"))
    out = apply_flag_history(now, view, reference_date=date(2026, 12, 31), roster=ROSTER)
    got = {r["record_key"]: (r["status"], r["first_flagged"], r["last_verdict"], r["overdue"]) for r in out.flags.to_dicts()}
    assert got == {
        "F1": ("持续", "2026-10", "属实", False),
        "F2": ("复发", "2026-10", None, True),     # sent 2026-10-31, no answer after 61 days
        "F3": ("新增", "2026-12", None, False),
    }
    assert out.resolved["record_key"].to_list() == ["F9"]
    assert out.resolved["resolved_reason"].item() == "本月数据不再满足预警条件"


def test_exemption_holds_while_evidence_unchanged_and_ends() -> None:
    first = _flags(("F1", "MED_UNINSURED", "参保状态：暂停参保"), ("F2", "MED_HIGH_OOP", "自付 12000 元"))
    first = apply_flag_history(first, _view(), reference_date=date(2026, 10, 31)).flags
    evidence = dict(first.select("record_key", "evidence_key").iter_rows())
    verdicts = pl.DataFrame({"record_key": ["F1", "F2"], "kind": ["flag", "flag"], "verdict": ["不属实", "不属实"],
                             "verdict_date": [date(2026, 11, 10)] * 2, "file": ["大坝乡.xlsx"] * 2,
                             "evidence_key": [evidence["F1"], evidence["F2"]]})
    view = _view(previous_flags=first, verdicts=verdicts,
                 first_flagged=pl.DataFrame({"record_key": ["F1", "F2"], "first_flagged": ["2026-10"] * 2,
                                             "first_sent": [date(2026, 10, 31)] * 2}))
    # Next month: F1 unchanged → exempt; F2's amount changed → back.
    now = _flags(("F1", "MED_UNINSURED", "参保状态：暂停参保"), ("F2", "MED_HIGH_OOP", "自付 15000 元"))
    out = apply_flag_history(now, view, reference_date=date(2026, 11, 30))
    assert out.exempted["record_key"].to_list() == ["F1"]
    assert out.exempted.select("verdict", "verdict_file").row(0) == ("不属实", "大坝乡.xlsx")
    assert out.exempted["exempt_until"].item() == date(2027, 5, 10)
    assert out.flags.select("record_key", "last_verdict").rows() == [("F2", "不属实")]
    assert out.resolved.height == 0  # an exempted flag still fires: it is not 已解除
    # After exempt_months the flag comes back; per-rule months apply.
    later = apply_flag_history(now.filter(pl.col("record_key") == "F1"), view, reference_date=date(2027, 5, 31))
    assert later.flags["record_key"].to_list() == ["F1"] and later.exempted.height == 0
    short = apply_flag_history(now, view, reference_date=date(2027, 1, 31),
                               exempt_months={"default": 6, "MED_UNINSURED": 2})
    assert short.exempted.height == 0


def test_resolved_reasons() -> None:
    prev = _flags(("F1", "MED_UNINSURED", "无参保"), ("F2", "EDU_DROPOUT", "未在读"), ("F3", "DIS_SEVERE", "一级"))
    prev = prev.with_columns(pl.Series("person_key", ["pkA", "pkB", "pkGone"]))
    view = _view(previous_flags=prev, verdicts=pl.DataFrame({
        "record_key": ["F2"], "kind": ["flag"], "verdict": ["已整改"], "verdict_date": [date(2026, 12, 2)], "file": ["x"]}))
    links = pl.DataFrame({"sector": ["medical_enrollment"], "roster_row": [3], "match_status": ["linked"]},
                         schema_overrides={"roster_row": pl.Int64})
    out = apply_flag_history(_flags(), view, reference_date=date(2026, 12, 31), roster=ROSTER, links=links,
                             missing_rules={"MED_UNINSURED"})
    reasons = dict(out.resolved.select("record_key", "resolved_reason").iter_rows())
    assert reasons["F1"] == "本月医保参保登记数据已有该人员的关联记录"
    assert reasons["F2"] == "村（社区）反馈已整改（2026-12-02）"
    assert reasons["F3"] == "该人员已不在监测对象名单"


# Pieces of flag details (file names, row references, review notes, items) and the characters
# where the two regex engines could part: whitespace Python's `\s` takes and Unicode's does not
# (\x1c–\x1f; \x1f separates rule, sector and detail in the key's text), full-width space,
# digits of other scripts, separators at the ends.
_PIECES = ["住建.xlsx", "医保 参保.csv", " 第", "第", "12", "行", "，", ",", "：", "；", "（另有待核实匹配：",
           "张三", "）", "（", "鉴定等级", "D级", "\x1f", "\x1c", " ", "\u3000", "\t", "٣", "无参保", ""]


@settings(max_examples=400, deadline=None)
@example(["MED\x1fmedical\x1f无参保：医保.csv 第12行", "张三\x1c住建.xlsx 第3行，鉴定等级：D级；\u3000 第٣行"])
@given(st.lists(st.lists(st.sampled_from(_PIECES), max_size=14).map("".join), min_size=1, max_size=20))
def test_evidence_texts_equal_evidence_text(details: list[str]) -> None:
    """The vectorised reduction of flag details (polars regex) gives what the documented
    per-value one (Python re) gives, so evidence keys — and the exemptions that compare them
    across months — do not change."""
    from fanpin_cli.history.apply import evidence_text, evidence_texts

    assert evidence_texts(pl.Series(details)).to_list() == [evidence_text(d) for d in details]
