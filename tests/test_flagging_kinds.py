"""Rule kinds (`flagging/kinds.py`): the placeholders a kind's evaluation fills are the ones it
declares (so the loader accepts exactly what the engine can fill), and the engine takes each
kind's evaluation from its declaration."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from make_ids import make_id

from fanpin_cli.fields import SECTORS, aliases
from fanpin_cli.flagging import KINDS, effective_parameters, evaluate, load_rules
from fanpin_cli.flagging.engine import build_context
from fanpin_cli.flagging.exprs import condition_expr
from fanpin_cli.flagging.model import Condition
from fanpin_cli.prepare import prepare

R = date(2026, 11, 30)
RULES = load_rules()


def pid(birth: str, seq: int) -> str:
    return make_id(birth, f"{seq:03d}")


ROSTER = prepare(
    pl.DataFrame(
        {
            "source_file": ["监测对象.xlsx"] * 2, "source_row": [3, 4], "township": ["城关镇"] * 2,
            "village": ["东村"] * 2, "household_id": ["H1", "H1"], "name": ["张三", "张小"],
            "id_number": [pid("19600101", 101), pid("20150101", 102)], "relation": ["户主", "之子"],
            "labor_skill": ["丧失劳动力", "无劳动力"], "income_per_capita": ["3000", "3000"],
        },
        schema_overrides={"source_row": pl.Int64},
    ),
    R,
)


def evidence(sector: str) -> pl.DataFrame:
    """One row linked to 张三 and one stranger's unlinked row, every field of the sector present."""
    fields = [f for f in aliases(sector) if f not in ("name", "id_number", "household_id")]
    raw = pl.DataFrame(
        {
            "source_file": [f"{sector}.csv"] * 2, "source_row": [2, 3], "name": ["张三", "外县人"],
            "id_number": [pid("19600101", 101), pid("19750505", 999)], "roster_row": [3, None],
            "household_id": ["H1", None], "match_status": ["linked", "unlinked"],
            **{f: [None, None] for f in fields},
        },
        schema_overrides={"source_row": pl.Int64, "roster_row": pl.Int64} | {f: pl.String for f in fields},
    )
    return prepare(raw, R)


EVIDENCE = {s: evidence(s) for s in SECTORS[1:]}


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_a_kind_fills_only_the_placeholders_it_declares(rule):
    ctx = build_context(ROSTER, EVIDENCE, R)
    kind = KINDS[rule.kind]
    hits = kind.evaluate(rule, effective_parameters([rule], None)[rule.id], ctx)
    filled = {c.removeprefix("_ph_") for c in hits.collect_schema().names() if c.startswith("_ph_")}
    assert filled <= set(kind.placeholders), (rule.kind, filled - set(kind.placeholders))


def test_the_engine_evaluates_a_kind_by_its_declaration(monkeypatch):
    """Swapping a kind's evaluation changes what the engine does: nothing else dispatches on kinds."""
    from dataclasses import replace

    rule = next(r for r in RULES if r.kind == "household_all")  # CIV_NO_SAFETY_NET: 张三's household
    assert evaluate([rule], ROSTER, EVIDENCE, reference_date=R).height == 1
    kind = KINDS[rule.kind]
    monkeypatch.setitem(KINDS, rule.kind, replace(kind, evaluate=lambda rule, params, ctx: pl.LazyFrame()))
    assert evaluate([rule], ROSTER, EVIDENCE, reference_date=R).height == 0


def test_a_detail_names_a_sector_field_the_rule_neither_filters_nor_shows():
    # The engine keeps only the sector fields the rules read (kinds.evidence_fields): a field
    # named only in the detail template is one of them.
    from fanpin_cli.flagging import parse_rules_text

    text = """
id: EDU_SCHOOL_SHOWN
title: 在读学校
level: blue
scope: person
kind: linked_match
sector: education
where:
  - field: roll_status
    in: [在读]
detail: "就读于{school}（{grade}）"
"""
    (rule,) = parse_rules_text(text, "EDU_SCHOOL_SHOWN.yaml")
    edu = EVIDENCE["education"].with_columns(
        pl.Series("roll_status", ["在读", None]), pl.Series("school", ["城关小学", None]), pl.Series("grade", ["三年级", None])
    )
    flags = evaluate([rule], ROSTER, {"education": edu}, reference_date=R)
    assert flags["detail"].to_list() == ["就读于城关小学（三年级）"]


def test_window_parsed_once_per_distinct_day_agrees_with_the_expression():
    # kinds._filtered uses exprs.window_mask (each distinct date text parsed once); the rule
    # language's definition is exprs.window_expr: the same rows on every form a date comes in.
    from fanpin_cli.flagging.exprs import window_expr, window_mask
    from fanpin_cli.flagging.model import Window

    texts = ["2026-11-30 08:00", "2026-11-30 17:45:10", None, "去年", "20260101", "２０２６年１月５日", "2026-02-30",
             "46000", " 2026/6/6 ", "2025-11-30", "2025-12-01T09:00", "2026.11.31"]
    frame = pl.DataFrame({"settle_date": texts})
    window = Window("settle_date", 365)
    expected = frame.select(window_expr(window, {}, frame.columns, R)).to_series().to_list()
    assert window_mask(frame, window, {}, R).to_list() == expected
    assert expected.count(True) == 7
    # a file without the date column: no row is inside
    assert window_mask(pl.DataFrame({"x": [1, 2]}), window, {}, R).to_list() == [False, False]


@pytest.mark.parametrize("cond", [
    Condition(field="s", op="in", values=("参保缴费", "C级")),
    Condition(field="s", op="not_in", values=("参保缴费",)),
    Condition(field="s", op="empty", empty=True),
    Condition(field="s", op="empty", empty=False),
    Condition(field="missing", op="in", values=("参保缴费",)),
    Condition(any_of=(Condition(field="s", op="in", values=("C级",)), Condition(field="s", op="empty", empty=True))),
])
@pytest.mark.parametrize("distinct", [5, 2000])
def test_text_conditions_looked_up_per_value_match_every_row(cond, distinct):
    # a frame large enough for the per-value lookup (few distinct values), and one with so many
    # distinct values that every row is worked out: both as the row-by-row expression says
    written = ["参保缴费", " 参保缴费", "ｃ 级", "暂停", None, "", "\u3000"]
    values = [written[i % len(written)] if i % 3 else f"其他{i % distinct}" for i in range(3000)]
    frame = pl.DataFrame({"s": values}, schema={"s": pl.String})
    by_frame = frame.select(condition_expr(cond, {}, frame)).to_series()
    by_rows = frame.select(condition_expr(cond, {}, frame.columns)).to_series()
    assert by_frame.null_count() == 0
    assert by_frame.equals(by_rows)
