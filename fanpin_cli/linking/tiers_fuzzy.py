"""Tiers for rows the ID join leaves open: `id_repaired`, `name_birth`, and the name-only
review queue.

Each tier scores candidate pairs (from `candidates.py`) in batch, then keeps per extract row
the best candidate: linked only when it is clearly better than the runner-up, else review.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from fanpin_cli.linking import candidates
from fanpin_cli.linking.digits import compare
from fanpin_cli.linking.frames import DECISION_SCHEMA, USABLE, empty_decisions
from fanpin_cli.linking.name_similarity import (
    NAME_MISSING,
    NAME_ONE_CHAR,
    NAME_SAME,
    NAME_VARIANT,
    name_category,
    name_note,
)
from fanpin_cli.linking.reasons import id_part, position, status_zh

TIE_MARGIN = 2.0  # a runner-up within this many points makes the choice a review
MAX_NAME_ONLY = 3  # name-only matches with more equally good namesakes are not worth a review


@dataclass
class Readings:
    """Digit matrices and known-digit counts of both sides (from `digits.digit_matrix`)."""

    e_mat: np.ndarray
    r_mat: np.ndarray
    e_known: np.ndarray
    r_known: np.ndarray


_E_COLS = ("status", "lo", "hi", "known", "name_key", "name_pinyin", "name_norm", "birth", "birth_any", "township", "village", "digits")
_R_COLS = ("status", "value", "digits", "known", "name_key", "name_pinyin", "name_norm", "birth_any", "township", "village", "row",
           "household_id")


def pair_frame(pairs: pl.DataFrame, e: pl.DataFrame, r: pl.DataFrame, rd: Readings) -> pl.DataFrame:
    """Pairs with both sides' attributes (`e_*`, `r_*`), digit comparison and name category."""
    ei = pairs["eidx"].to_numpy()
    ri = pairs["ridx"].to_numpy()
    feats = compare(rd.e_mat, rd.r_mat, rd.e_known, rd.r_known, ei, ri)
    cols = [pairs["eidx"], pairs["ridx"]]
    cols += [e[c].gather(ei).alias(f"e_{c}") for c in _E_COLS]
    cols += [r[c].gather(ri).alias(f"r_{c}") for c in _R_COLS]
    frame = pl.DataFrame(cols).with_columns(
        *(pl.Series(name, values) for name, values in feats.columns().items())
    )
    return frame.with_columns(name_category(frame, "e_name_key", "r_name_key", "e_name_pinyin", "r_name_pinyin")
                              .alias("cat"))


def _agree(a: str, b: str) -> pl.Expr:
    """True/False when both sides have the value, null otherwise."""
    return pl.col(a) == pl.col(b)


def _in_range() -> pl.Expr:
    """The roster ID lies in the extract's spreadsheet-number range (null: no range or no ID)."""
    return (pl.col("r_value") >= pl.col("e_lo")) & (pl.col("r_value") <= pl.col("e_hi"))


def _digit(side: str, pos: pl.Expr) -> pl.Expr:
    """The digit at 0-based `pos` of a side's reading (`e_digits` / `r_digits`)."""
    return pl.col(f"{side}_digits").str.slice(pos, 1).cast(pl.Int64, strict=False)


def _place(pos: pl.Expr) -> pl.Expr:
    """10^(16 − pos): the weight of digit `pos` in a 17-digit value."""
    return pl.lit(10, dtype=pl.Int64).pow((pl.lit(16) - pos).clip(0, 16).cast(pl.Int64))


def _range_holds(value: pl.Expr) -> pl.Expr:
    return (value >= pl.col("e_lo")) & (value <= pl.col("e_hi"))


def _typo_in_range() -> pl.Expr:
    """A spreadsheet number that was also mistyped: the roster ID, with the extract's digit at
    the one certain position where they differ (or with two adjacent digits swapped), lies in
    the range the number may have come from. One typo explains the difference; a namesake
    born the same day would also need the rest of his sequence number in that range."""
    q1, q2, ham = pl.col("q1"), pl.col("q2"), pl.col("ham")
    value = pl.col("r_value")
    one = value + (_digit("e", q1) - _digit("r", q1)) * _place(q1)
    swap_seen = value + (_digit("e", q1) - _digit("r", q1)) * _place(q1) + (_digit("e", q2) - _digit("r", q2)) * _place(q2)
    # a swap of the last certain digit with the first uncertain one shows as one difference
    r_next = pl.col("r_digits").str.slice(q1 + 1, 1).cast(pl.Int64, strict=False)
    swap_edge = value + (r_next - _digit("r", q1)) * _place(q1) + (_digit("r", q1) - r_next) * _place(q1 + 1)
    return (
        pl.col("e_lo").is_not_null() & (q1 >= 0) & (q1 < 17)
        & (((ham == 1) & (_range_holds(one) | ((q1 == pl.col("k") - 1) & _range_holds(swap_edge))))
           | ((ham == 2) & pl.col("swapped") & (q2 < 17) & _range_holds(swap_seen)))
    ).fill_null(False)


def _tail_typo_possible() -> pl.Expr:
    """One wrong digit (or one adjacent swap) among the digits a spreadsheet number lost would
    bring the roster ID into its range: the two cannot be told apart from a namesake."""
    lo, hi, value, k = pl.col("e_lo"), pl.col("e_hi"), pl.col("r_value"), pl.col("k")
    options = []
    for pos in range(6, 17):
        weight = 10 ** (16 - pos)
        digit = pl.col("r_digits").str.slice(pos, 1).cast(pl.Int64, strict=False)
        base = value - digit * weight
        low = pl.max_horizontal(pl.lit(0), -((base - lo) // weight))  # ceil((lo − base) / w)
        high = pl.min_horizontal(pl.lit(9), (hi - base) // weight)
        options.append((k <= pos) & (low <= high))
        if pos < 16:
            following = pl.col("r_digits").str.slice(pos + 1, 1).cast(pl.Int64, strict=False)
            swapped = value + (following - digit) * weight + (digit - following) * (weight // 10)
            options.append((k <= pos + 1) & _range_holds(swapped))
    return pl.any_horizontal(options).fill_null(False)


def _out_of_range() -> pl.Expr:
    """The extract's spreadsheet-number range excludes the roster's valid ID: someone else's
    (a typo in the digits the number lost cannot be told from a namesake born the same day)."""
    return (
        pl.col("e_lo").is_not_null() & pl.col("r_value").is_not_null() & pl.col("r_status").is_in(USABLE)
        & ~_in_range().fill_null(False)
    )


def _resolve(scored: pl.DataFrame, ambiguous_reason: pl.Expr) -> pl.DataFrame:
    """Best pair per extract row. `scored` has eidx, ridx, method, score, accept, reason, weak.

    An accepted best pair is linked unless another accepted pair is within `TIE_MARGIN`
    points; then, and when only review-grade pairs exist, the row goes to review.
    """
    if scored.is_empty():
        return empty_decisions()
    ranked = scored.sort(["eidx", "accept", "score", "ridx"], descending=[False, True, True, False])
    best = ranked.group_by("eidx", maintain_order=True).agg(
        pl.all().first(),
        pl.col("score").filter(pl.col("accept")).slice(1, 1).first().alias("second"),
        pl.col("accept").sum().alias("n_accept"),
        pl.len().alias("n"),
    )
    tie = pl.col("accept") & (pl.col("second") >= pl.col("score") - TIE_MARGIN).fill_null(False)
    linked = pl.col("accept") & ~tie
    return best.select(
        "eidx",
        "ridx",
        "method",
        pl.when(linked).then(pl.col("score")).when(tie).then(60.0).otherwise(pl.col("score")).alias("score"),
        pl.when(linked).then(pl.lit("linked")).otherwise(pl.lit("review")).alias("status"),
        pl.when(tie).then(ambiguous_reason).otherwise(pl.col("reason")).alias("reason"),
        pl.lit(False).alias("conflict"),
        "weak",
    ).cast(DECISION_SCHEMA)


def repair_tier(e_open: pl.DataFrame, e: pl.DataFrame, r: pl.DataFrame, rd: Readings) -> pl.DataFrame:
    """`id_repaired`: a faulty ID on either side, confirmed by name and birth date."""
    pairs = pl.concat([
        candidates.repair_pairs(e_open.filter(pl.col("known") >= 14), r),
        candidates.range_pairs(e_open, r),
    ]).unique()
    if pairs.is_empty():
        return empty_decisions()
    p = pair_frame(pairs, e, r, rd)
    cat, ham, hamb, k = pl.col("cat"), pl.col("ham"), pl.col("ham_body"), pl.col("k")
    q1 = pl.col("q1")
    e_use = pl.col("e_status").is_in(USABLE)
    r_use = pl.col("r_status").is_in(USABLE)
    full = k >= 18
    has_range = pl.col("e_lo").is_not_null()
    birth_ok = pl.col("e_birth").is_null() | _agree("e_birth", "r_birth_any").fill_null(False)
    swap18 = pl.col("swapped") & (ham == 2)
    swap_body = pl.col("swapped") & (hamb == 2)
    # A: both IDs pass the check yet differ. Two valid IDs always differ in at least two
    # places, so this is never linked: a typo that kept the check character valid (two wrong
    # digits) and a namesake born the same day look alike. Plausible ones go to review.
    case_a = full & e_use & r_use & ((ham <= 2) | swap_body) & birth_ok & (cat >= NAME_VARIANT)
    in_birth = ((q1 >= 6) & (q1 < 14)) | ((pl.col("q2") >= 6) & (pl.col("q2") < 14))
    # B: a faulty 18-digit ID on either side, one digit wrong or two adjacent digits swapped.
    case_b = full & ~(e_use & r_use) & ((ham <= 1) | swap18) & birth_ok
    # R: the extract's ID was held as a spreadsheet number: the roster ID lies in the range of
    # values it may have come from (`idnum.number_range`; rounding may carry into earlier digits).
    has_value = pl.col("r_value").is_not_null()  # an 18-digit roster ID, valid or not
    case_r = has_range & _in_range().fill_null(False) & has_value & birth_ok
    # C: only leading digits known on the roster side (or in an extract ID without a range).
    case_c = ~has_range & ~full & (k >= 14) & birth_ok
    birth_fault = (q1 >= 6) & (q1 < 14) & pl.col("e_birth").is_null()
    one_char_ok = (cat == NAME_ONE_CHAR) & (ham >= 1) & (pl.col("q2").fill_null(-1) < 17) & (q1 < 17)
    one_char_ok = one_char_ok & ((ham == 1) | swap18)
    name_pen = pl.when(cat == NAME_SAME).then(0.0).when(cat == NAME_VARIANT).then(2.0).otherwise(7.0)
    # R': a number whose range holds the roster ID once one typo in its certain digits is undone.
    case_t = has_range & _typo_in_range() & has_value & birth_ok
    # A number without a name, or with one character different: accepted only from a narrow
    # range (a double: a few sequence numbers), never from 15 digits (~100 sequence numbers).
    narrow = (pl.col("e_hi") - pl.col("e_lo")) <= 10
    score = (
        pl.when(case_r & (cat >= NAME_VARIANT)).then(92.0 - name_pen)
        .when(case_r & ((cat == NAME_MISSING) | (cat == NAME_ONE_CHAR)) & narrow).then(84.0)
        .when(case_r & ((cat == NAME_ONE_CHAR) | (cat == NAME_MISSING))).then(70.0)
        .when(case_t & (cat >= NAME_VARIANT)).then(86.0 - name_pen)
        .when(case_t & (cat == NAME_ONE_CHAR)).then(65.0)
        # two certain digits differ (a valid ID would go to review too: case A)
        .when(has_range & has_value & (ham == 2) & (cat >= NAME_VARIANT) & birth_ok).then(65.0 - name_pen)
        .when(has_range).then(None)
        .when(case_a).then(pl.when(in_birth).then(75.0).otherwise(65.0) - name_pen)
        .when(case_b & (cat >= NAME_VARIANT)).then(95.0 - name_pen - pl.when(birth_fault).then(2.0).otherwise(0.0))
        .when(case_b & one_char_ok).then(88.0)
        # A near ID with a different name is another person (a county-wide extract has dozens of
        # people per birth date): no candidate. One differing character is still worth a look.
        .when(case_b & (cat == NAME_ONE_CHAR)).then(70.0)
        .when(case_c & (ham == 0) & (cat >= NAME_VARIANT)).then(pl.when(k >= 15).then(92.0).otherwise(90.0) - name_pen)
        .when(case_c & ((ham <= 1) | swap18) & (cat >= NAME_VARIANT)).then(65.0)
    )
    # One wrong ID digit plus one wrong name character: accepted only when the check character
    # agrees with the roster's (the typo is in the body); a wrong check character with an equal
    # body is how a stranger's typo can land on a roster ID.
    accept = (
        (case_r & ((cat >= NAME_VARIANT) | (((cat == NAME_MISSING) | (cat == NAME_ONE_CHAR)) & narrow)))
        | (case_t & (cat >= NAME_VARIANT))
        | (case_b & ((cat >= NAME_VARIANT) | one_char_ok))
        | (case_c & (ham == 0) & (cat >= NAME_VARIANT))
    )
    p = p.with_columns(score.cast(pl.Float64).alias("score")).filter(pl.col("score").is_not_null())
    if p.is_empty():
        return empty_decisions()
    p = p.with_columns(accept.alias("accept"), (~full).alias("weak"), pl.lit("id_repaired").alias("method"))
    p = p.with_columns(_repair_reason().alias("reason"))
    return _resolve(p, pl.format("证件号码有误，花名册中有多名人员同样符合（{}人），需人工核实", pl.col("n_accept")))


def _repair_reason() -> pl.Expr:
    """Why a repair pair was accepted or queued, naming the digit and the fault."""
    e_use = pl.col("e_status").is_in(USABLE)
    r_use = pl.col("r_status").is_in(USABLE)
    q1, q2, ham, k = pl.col("q1"), pl.col("q2"), pl.col("ham"), pl.col("k")
    who = (
        pl.when(e_use & ~r_use).then(pl.lit("花名册证件号码"))
        .when(~e_use & r_use).then(pl.lit("证件号码"))
        .when(~e_use & ~r_use).then(pl.lit("两边证件号码"))
        .otherwise(pl.lit("证件号码"))
    )
    names = name_note(pl.col("cat"), pl.col("e_name_norm"), pl.col("r_name_norm"))
    birth_seen = pl.col("e_birth").is_not_null() | (q1 < 6) | (q1 >= 14)
    evidence = (
        pl.when(birth_seen & (pl.col("cat") == NAME_SAME)).then(pl.lit("姓名、出生日期一致"))
        .when(birth_seen).then(pl.format("{}，出生日期一致", names))
        .when(pl.col("cat") == NAME_SAME).then(pl.lit("姓名及其余各位一致"))
        .otherwise(pl.format("{}，其余各位一致", names))
    )
    fault = (
        pl.when(pl.col("e_lo").is_not_null() & (ham > 0))
        .then(pl.format("证件号码{}，且第{}位（{}）疑似录入错误，改正后花名册证件号码在其可能取值范围内",
                        status_zh(pl.col("e_status")), position(q1), id_part(q1)))
        .when(pl.col("e_lo").is_not_null())
        .then(pl.format("证件号码{}，花名册证件号码在其可能取值范围内（前{}位可信）",
                        status_zh(pl.col("e_status")), pl.col("e_known")))
        .when((k >= 18) & e_use & r_use & pl.col("swapped") & (pl.col("ham_body") == 2))
        .then(pl.format("证件号码校验位正确但不在花名册中，与花名册人员第{}、{}位前后颠倒（疑似录入后重算校验位）",
                        position(q1), position(q2)))
        .when((k >= 18) & e_use & r_use & (ham == 2) & (q2 < 17))
        .then(pl.format("证件号码校验位正确但不在花名册中，与花名册人员第{}位（{}）、第{}位（{}）不同（两位同时录错时校验位仍可能正确）",
                        position(q1), id_part(q1), position(q2), id_part(q2)))
        .when((k >= 18) & e_use & r_use)
        .then(pl.format("证件号码校验位正确但不在花名册中，与花名册人员第{}位（{}）及校验位不同",
                        position(q1), id_part(q1)))
        .when((k >= 18) & pl.col("swapped") & (ham == 2))
        .then(pl.format("{}第{}、{}位疑似前后颠倒", who, position(q1), position(q2)))
        .when((k >= 18) & (ham == 1))
        .then(pl.format("{}第{}位（{}）疑似录入错误", who, position(q1), id_part(q1)))
        .when(k >= 18)
        .then(pl.format("{}与花名册相差{}位", who, ham))
        .when((pl.col("e_known") < 18) & (ham > 0))
        .then(pl.format("证件号码{}，前{}位中有{}位与花名册不同", status_zh(pl.col("e_status")), k, ham))
        .when(pl.col("e_known") < 18)
        .then(pl.format("证件号码{}，前{}位与花名册一致", status_zh(pl.col("e_status")), k))
        .when(ham > 0)
        .then(pl.format("花名册证件号码{}，前{}位中有{}位不同", status_zh(pl.col("r_status")), k, ham))
        .otherwise(pl.format("花名册证件号码{}，前{}位一致", status_zh(pl.col("r_status")), k))
    )
    tail = (
        pl.when(~pl.col("accept") & (pl.col("cat") == NAME_ONE_CHAR))
        .then(pl.lit("；证件号码和姓名各有一处不同，需人工核实"))
        .when(~pl.col("accept") & (k >= 18) & e_use & r_use)
        .then(pl.lit("；两个有效证件号码不同，可能是另一人（同名同生日），不自动匹配，需人工核实"))
        .when(~pl.col("accept") & (pl.col("cat") <= 0))
        .then(pl.lit("；姓名无法确认，需人工核实"))
        .when(~pl.col("accept"))
        .then(pl.lit("；证据不足，需人工核实"))
        .otherwise(pl.lit(""))
    )
    return pl.format("{}，{}{}", fault, evidence, tail)


def name_birth_tier(e_open: pl.DataFrame, e: pl.DataFrame, r: pl.DataFrame, rd: Readings) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`name_birth`: same name (or pinyin) and birth date; the ID, where both sides have one,
    must not contradict. Returns the decisions and, for rows left open, the number of
    namesakes born the same day whose IDs show they are different people."""
    pairs = candidates.name_birth_pairs(e_open, r)
    none = pl.DataFrame(schema={"eidx": pl.Int64, "n_diff": pl.UInt32})
    if pairs.is_empty():
        return empty_decisions(), none
    p = pair_frame(pairs, e, r, rd)
    k, ham = pl.col("k"), pl.col("ham")
    e_use = pl.col("e_status").is_in(USABLE)
    has_both = k >= 6
    # A valid ID that differs, or a spreadsheet number whose range excludes the roster ID and
    # that no single typo in its lost digits explains; one that could be a typo goes to review.
    tail_typo = _out_of_range() & (ham == 0) & _tail_typo_possible()
    different = (has_both & (ham > 0) & e_use) | (_out_of_range() & ~tail_typo)
    id_review = (has_both & (ham > 0) & ~e_use & ~different) | tail_typo
    prefix_ok = has_both & (ham == 0)
    vil = _agree("e_village", "r_village")
    town = _agree("e_township", "r_township")
    place_conflict = vil.not_().fill_null(False) | town.not_().fill_null(False)  # null: unknown
    place_bonus = pl.when(vil.fill_null(False)).then(5.0).when(town.fill_null(False)).then(2.0).otherwise(0.0)
    name_pen = pl.when(pl.col("cat") == NAME_SAME).then(0.0).otherwise(3.0)
    accept = ~different & ~id_review & ~place_conflict
    p = p.with_columns(
        different.alias("different"),
        accept.alias("accept"),
        pl.when(id_review).then(60.0).when(~accept).then(65.0).otherwise(85.0 + place_bonus - name_pen).alias("score"),
        pl.when(prefix_ok & (pl.col("e_known") < 18) & ~e_use).then(pl.lit("id_repaired"))
        .otherwise(pl.lit("name_birth")).alias("method"),
        pl.lit(True).alias("weak"),
    )
    diff_counts = p.group_by("eidx").agg(pl.col("different").all().alias("all_diff"), pl.len().alias("n_diff")).filter(
        pl.col("all_diff")).select("eidx", pl.col("n_diff").cast(pl.UInt32))
    p = p.filter(~pl.col("different"))
    if p.is_empty():
        return empty_decisions(), diff_counts
    names = name_note(pl.col("cat"), pl.col("e_name_norm"), pl.col("r_name_norm"))
    facts = pl.when(pl.col("cat") == NAME_SAME).then(pl.lit("姓名、出生日期一致")).otherwise(
        pl.format("{}，出生日期一致", names))
    place = (
        pl.when(vil.fill_null(False)).then(pl.lit("，村一致"))
        .when(town.fill_null(False)).then(pl.lit("，乡镇一致"))
        .otherwise(pl.lit(""))
    )
    id_text = (
        pl.when(prefix_ok & (pl.col("e_known") < 18) & ~e_use)
        .then(pl.format("证件号码{}，前{}位一致，", status_zh(pl.col("e_status")), k))
        .when(pl.col("e_known") < 6)
        .then(pl.format("证件号码{}，", status_zh(pl.col("e_status"))))
        .when(pl.col("r_known") == 0)
        .then(pl.lit("花名册无可用证件号码，"))
        .when(prefix_ok)
        .then(pl.format("证件号码前{}位一致，", k))
        .otherwise(pl.lit(""))
    )
    reason = (
        pl.when(tail_typo)
        .then(pl.format("{}，证件号码（{}）前{}位一致，但后几位与花名册不符：已丢失的几位中若有一位录错即为同一人，"
                        "也可能是同名同生日的另一人，需人工核实", facts, status_zh(pl.col("e_status")), k))
        .when(id_review)
        .then(pl.format("{}，但证件号码（{}）与花名册相差{}位，需人工核实", facts,
                        status_zh(pl.col("e_status")), ham))
        .when(place_conflict)
        .then(pl.format("{}，但乡镇/村不一致（{}/{}），需人工核实", facts,
                        pl.col("e_village").fill_null(pl.col("e_township")).fill_null(""),
                        pl.col("r_village").fill_null(pl.col("r_township")).fill_null("")))
        .otherwise(pl.format("{}{}{}", id_text, facts, place))
    )
    p = p.with_columns(reason.alias("reason"))
    decided = _resolve(p, pl.format("花名册中同名同出生日期的人员有{}人，无法区分，需人工核实", pl.col("n_accept")))
    return decided, diff_counts


def name_only_tier(
    e_open: pl.DataFrame,
    e: pl.DataFrame,
    r: pl.DataFrame,
    rd: Readings,
    decided: pl.DataFrame,
    *,
    skip_linked: bool,
) -> pl.DataFrame:
    """Name only (no usable ID, no birth date): at most a review with the best candidate, and
    only when the names are equal (a homophone alone is too weak) and at most `MAX_NAME_ONLY`
    namesakes are equally good. With `skip_linked` (sectors where a person has one row), roster
    persons another row of this file already links to are not proposed again."""
    rows = e_open.filter(pl.col("birth_any").is_null() & pl.col("name_pinyin").is_not_null())
    pairs = candidates.name_only_pairs(rows, r)
    if skip_linked and not pairs.is_empty():
        taken = decided.filter(pl.col("status") == "linked").select("ridx").unique()
        pairs = pairs.join(taken, on="ridx", how="anti")
    if pairs.is_empty():
        return empty_decisions()
    p = pair_frame(pairs, e, r, rd).filter(pl.col("cat") >= NAME_SAME)
    # A spreadsheet number still says who it is not: its certain digits and its range must
    # allow the candidate (up to one typo in the digits it lost).
    number = pl.col("e_lo").is_not_null()
    p = p.filter(~number | ((pl.col("ham") == 0) & (~_out_of_range() | _tail_typo_possible())))
    if p.is_empty():
        return empty_decisions()
    prefix = (pl.col("k") >= 6) & (pl.col("ham") == 0)
    p = p.with_columns(
        (30.0 + pl.col("cat").cast(pl.Float64) * 3 + _place_bonus() + pl.when(prefix).then(3.0).otherwise(0.0))
        .alias("score")
    )
    best = (
        p.sort(["eidx", "score", "ridx"], descending=[False, True, False])
        .group_by("eidx", maintain_order=True)
        .agg(pl.all().first(), pl.len().alias("n"), (pl.col("score") == pl.col("score").max()).sum().alias("n_best"))
        .filter(pl.col("n_best") <= MAX_NAME_ONLY)
    )
    return _review_only(
        best,
        pl.format("仅姓名相同（{}），缺少证件号码和出生日期，花名册中候选{}人，需人工核实",
                  name_note(pl.col("cat"), pl.col("e_name_norm"), pl.col("r_name_norm")), pl.col("n")),
    )


def _place_bonus() -> pl.Expr:
    """Score points for the same village (6) or township (3)."""
    vil = _agree("e_village", "r_village").fill_null(False)
    town = _agree("e_township", "r_township").fill_null(False)
    return pl.when(vil).then(6.0).when(town).then(3.0).otherwise(0.0)


def _review_only(best: pl.DataFrame, reason: pl.Expr) -> pl.DataFrame:
    """Decisions that put each row's best pair (eidx, ridx, score) in the review queue."""
    return best.select(
        "eidx",
        "ridx",
        pl.lit("none").alias("method"),
        "score",
        pl.lit("review").alias("status"),
        reason.alias("reason"),
        pl.lit(False).alias("conflict"),
        pl.lit(True).alias("weak"),
    ).cast(DECISION_SCHEMA)


# A roster person without a usable ID can only be proposed for review when few extract rows
# carry that name; beyond this, the name says nothing (a county-wide extract has many namesakes).
MAX_GAP_CLAIMS = 2


def roster_gap_tier(
    e_open: pl.DataFrame, e: pl.DataFrame, r: pl.DataFrame, rd: Readings, decided: pl.DataFrame
) -> pl.DataFrame:
    """Open rows whose name matches a roster person whose own ID is missing, unusable or shared
    with another roster row: the roster cannot confirm them, so at most `review`.

    A name alone is weak, so the candidate must be the only roster person with that name, its
    name carried by at most `MAX_GAP_CLAIMS` extract rows not linked to someone else (`decided`
    holds the earlier tiers' decisions), with no disagreement on sex or village.
    """
    shared = pl.col("idkey").is_not_null() & (pl.len().over("idkey") > 1)
    unique_name = pl.len().over("name_pinyin") == 1
    gaps = r.filter((~pl.col("status").is_in(USABLE) | shared) & unique_name)
    rows = e_open.filter(pl.col("name_pinyin").is_not_null())
    if gaps.is_empty() or rows.is_empty():
        return empty_decisions()
    pairs = candidates.name_only_pairs(rows, gaps)
    if pairs.is_empty():
        return empty_decisions()
    p = pair_frame(pairs, e, r, rd).join(
        r.select(pl.col("idx").alias("ridx"), pl.col("row").alias("r_row"), pl.col("status").alias("r_status"),
                 pl.col("sex").alias("r_sex")),
        on="ridx",
    ).join(e.select(pl.col("idx").alias("eidx"), pl.col("sex").alias("e_sex")), on="eidx")
    p = p.filter(
        (pl.col("e_sex") == pl.col("r_sex")).fill_null(True)
        & _agree("e_village", "r_village").fill_null(True)
        & _agree("e_township", "r_township").fill_null(True)
    )
    linked = decided.filter(pl.col("status") == "linked").select(pl.col("eidx").alias("idx"))
    carriers = e.join(linked, on="idx", how="anti").group_by("name_pinyin").len("carriers")
    p = p.join(carriers, left_on="e_name_pinyin", right_on="name_pinyin", how="left").filter(
        (pl.col("carriers") <= MAX_GAP_CLAIMS) & (pl.len().over("eidx") <= MAX_NAME_ONLY)
    )
    if p.is_empty():
        return empty_decisions()
    what = pl.when(pl.col("r_status").is_in(USABLE)).then(pl.lit("与他人重复")).otherwise(pl.lit("缺失或无效"))
    best = (
        p.with_columns(
            (35.0 + pl.col("cat").cast(pl.Float64) * 3 + _place_bonus()).alias("score")
        )
        .sort(["eidx", "score", "ridx"], descending=[False, True, False])
        .group_by("eidx", maintain_order=True)
        .agg(pl.all().first(), pl.len().alias("n"))
    )
    return _review_only(
        best,
        pl.format(
            "花名册第{}行同名人员的证件号码{}，无法用证件号码确认（{}），需人工核实并补正花名册",
            pl.col("r_row"), what, name_note(pl.col("cat"), pl.col("e_name_norm"), pl.col("r_name_norm")),
        ),
    )
