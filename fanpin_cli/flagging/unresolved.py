"""Flags that fire for lack of a record, while an unresolved extract row may be that record.

A rule of an absence kind (`engine.ABSENCE_KINDS`: MED_UNINSURED, EDU_DROPOUT,
CIV_NO_SAFETY_NET…) proves nothing about a roster person while a row of a sector it reads is
neither linked nor rejected and may be that person's: an ID a spreadsheet held as a number
(`id_lo`..`id_hi`, the IDs it may have come from) whose range holds the person's ID, on a row
with no name or with the person's name (or its pinyin). The linker could not say whose row it
is (a nameless row, namesakes born the same day in one range) and put it in review under one
candidate or left it unlinked; every other person it may belong to is just as unsure. Such
flags become `pending_review` with a note naming the row; rows that would not count even if
they were the person's (the rule's `where`, e.g. 参保状态 终止参保) are left out.

>>> import polars as pl
>>> row = pl.DataFrame({"match_status": ["unlinked"], "name_key": [None], "name_pinyin": [None],
...     "id_lo": [433127195809181400], "id_hi": [433127195809183031], "source_file": ["医保.xlsx"],
...     "source_row": [7]})
>>> people = pl.DataFrame({"_roster_row": [3, 4], "id18": ["433127195809181522", "433127195809191522"],
...     "name_key": ["毛小艳", "毛小艳"], "name_pinyin": ["maoxiaoyan", "maoxiaoyan"]})
>>> candidates(unresolved_rows(row), roster_side(people))["_roster_row"].to_list()
[3]
"""

from __future__ import annotations

import polars as pl

from fanpin_cli.flagging.exprs import all_conditions, keep
from fanpin_cli.flagging.kinds import KINDS, Context
from fanpin_cli.flagging.model import Condition, Rule
from fanpin_cli.linking.candidates import range_pairs
from fanpin_cli.tables import C

UNRESOLVED: tuple[str, ...] = ("review", "unlinked")
NOTE = "（{}：证件号码被存为数字、后几位已丢失，该行可能是此人的记录，核实后确定）"
_NOTE_HEAD, _NOTE_TAIL = NOTE.split("{}")


_NO_PAIRS = {"_open": pl.Int64, "_roster_row": pl.Int64, "_where": pl.String}


def roster_side(persons: pl.DataFrame) -> pl.DataFrame | None:
    """The roster side of `candidates`: persons with an ID, its first 17 digits as a number
    (None without an ID column)."""
    if "id18" not in persons.columns:
        return None
    return persons.filter(pl.col("id18").is_not_null()).select(
        pl.col("_roster_row").alias("idx"),
        pl.col("id18").str.slice(0, 17).cast(pl.Int64, strict=False).alias("value"),
        (pl.col("name_key") if "name_key" in persons.columns else pl.lit(None, dtype=pl.String)).alias("r_key"),
        (pl.col("name_pinyin") if "name_pinyin" in persons.columns else pl.lit(None, dtype=pl.String)).alias("r_py"),
    )


def candidates(open_rows: pl.DataFrame, people: pl.DataFrame | None) -> pl.DataFrame:
    """(`_open`: position in `open_rows`, `_roster_row`, `_where`) for every roster person
    (`roster_side`) an unresolved number row (`unresolved_rows`) may be: the person's ID lies
    in the row's range and the row has no name or the person's name."""
    cols = open_rows.columns
    if not {"id_lo", "id_hi", C.match_status} <= set(cols) or people is None or open_rows.is_empty():
        return pl.DataFrame(schema=_NO_PAIRS)
    name_key = pl.col("name_key") if "name_key" in cols else pl.lit(None, dtype=pl.String)
    pinyin = pl.col("name_pinyin") if "name_pinyin" in cols else pl.lit(None, dtype=pl.String)
    ranges = open_rows.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("idx"),
        (pl.col("id_lo").cast(pl.Int64) // 10).alias("lo"),
        (pl.col("id_hi").cast(pl.Int64) // 10).alias("hi"),
        name_key.alias("e_key"),
        pinyin.alias("e_py"),
        pl.format("{}第{}行", pl.col("source_file"), pl.col("source_row")).alias("_where"),
    )
    pairs = range_pairs(ranges, people)
    if pairs.is_empty():
        return pl.DataFrame(schema=_NO_PAIRS)
    pairs = pairs.join(ranges.rename({"idx": "eidx"}), on="eidx").join(people.rename({"idx": "ridx"}), on="ridx")
    nameless = pl.col("e_key").is_null() & pl.col("e_py").is_null()
    same = (pl.col("e_key") == pl.col("r_key")).fill_null(False) | (pl.col("e_py") == pl.col("r_py")).fill_null(False)
    return pairs.filter(nameless | same).select(
        pl.col("eidx").cast(pl.Int64).alias("_open"), pl.col("ridx").cast(pl.Int64).alias("_roster_row"), "_where"
    )


def unresolved_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """The rows `candidates` reads: unresolved (review or unlinked), not rejected, with an ID
    range (`rows` itself when it lacks the columns to tell)."""
    cols = rows.columns
    if not {"id_lo", C.match_status} <= set(cols):
        return rows
    rejected = pl.col(C.rejected).fill_null(False) if C.rejected in cols else pl.lit(False)
    return rows.filter(pl.col(C.match_status).is_in(list(UNRESOLVED)) & pl.col("id_lo").is_not_null() & ~rejected)


def _qualifying(frame: pl.DataFrame, where: tuple[Condition, ...], params: dict) -> pl.DataFrame:
    return keep(frame, all_conditions(where, params, frame)) if where else frame


def possible_records(flags: pl.DataFrame, rules: list[Rule], params: dict, ctx: Context,
                     absence_kinds: tuple[str, ...]) -> pl.DataFrame:
    """`flags` with the absence flags of persons an unresolved number row may belong to made
    `pending_review` (see module docstring); household flags when any member is such a person.
    The search runs once per sector; each rule then keeps the rows its `where` counts."""
    absence = [r for r in rules if r.kind in absence_kinds]
    if not absence or flags.height == 0:
        return flags
    found = []
    people = roster_side(ctx.persons)
    searched: dict[str, tuple[pl.DataFrame, pl.DataFrame]] = {}  # sector → (open rows, their pairs)
    for rule in absence:
        for sector, where in KINDS[rule.kind].absence_sources(rule):
            frame = ctx.evidence.get(sector)
            if frame is None or frame.height == 0:
                continue
            if sector not in searched:
                open_rows = unresolved_rows(frame)
                searched[sector] = (open_rows, candidates(open_rows, people))
            open_rows, pairs = searched[sector]
            if pairs.height and where:
                kept = _qualifying(open_rows.with_row_index("_open"), where, params[rule.id])["_open"]
                pairs = pairs.filter(pl.col("_open").is_in(kept.cast(pl.Int64).implode()))
            if pairs.height:
                found.append(pairs.select("_roster_row", "_where", pl.lit(rule.id).alias("rule_id")))
    if not found:
        return flags
    hits = pl.concat(found).join(ctx.persons.select("_roster_row", "_hh"), on="_roster_row", how="left")
    per_person = hits.group_by("rule_id", "_roster_row").agg(pl.col("_where").unique().sort().str.join("、"))
    per_household = hits.filter(pl.col("_hh").is_not_null()).group_by("rule_id", "_hh").agg(
        pl.col("_where").unique().sort().str.join("、").alias("_where_hh"))
    out = flags.with_row_index("_i").join(
        per_person.rename({"_roster_row": "roster_row"}), on=["rule_id", "roster_row"], how="left"
    ).join(
        per_household.rename({"_hh": "household_id"}), on=["rule_id", "household_id"], how="left"
    ).with_columns(
        pl.when(pl.col("roster_row").is_not_null()).then(pl.col("_where")).otherwise(pl.col("_where_hh")).alias("_where")
    )
    doubtful = pl.col("_where").is_not_null()
    return out.with_columns(
        pl.when(doubtful).then(pl.lit("pending_review")).otherwise(pl.col("evidence_status")).alias("evidence_status"),
        pl.when(doubtful).then(pl.col("detail") + pl.lit(_NOTE_HEAD) + pl.col("_where") + pl.lit(_NOTE_TAIL))
        .otherwise(pl.col("detail")).alias("detail"),
    ).sort("_i").select(flags.columns)
