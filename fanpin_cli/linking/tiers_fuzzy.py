"""Tiers for rows the ID join leaves open: `id_repaired`, `name_birth`, and the review queue
for a name alone (`name_only`, `roster_gap`).

Each tier is an object holding its `cases` (`linking.cases`: condition, score, reason, declared
once, strongest first). It scores candidate pairs (from `candidates.py`) in batch, then keeps
per extract row the best candidate: linked only when it is clearly better than the runner-up,
else review. A village or township agreement counts the same everywhere (`PLACE`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from fanpin_cli.linking import candidates, typos
from fanpin_cli.linking.cases import Case, accepted, case_of, first, note, reason, score, scored
from fanpin_cli.linking.digits import compare, near
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
from fanpin_cli.linking.tier import FILE, REPEATING_SECTORS, LinkRun, Outcome, Readings

TIE_MARGIN = 2.0  # a runner-up within this many points makes the choice a review
# Certain leading digits an extract reading needs for the repair tier's blocking: region, year,
# month and the first day digit (a spreadsheet number rounded across its 14th digit keeps 13).
MIN_REPAIR_KNOWN = 13
MAX_NAME_ONLY = 3  # name-only matches with more equally good namesakes are not worth a review


_E_COLS = ("status", "lo", "hi", "known", "name_key", "name_pinyin", "name_norm", "birth", "birth_any", "township", "village", "digits")
_R_COLS = ("status", "value", "digits", "known", "name_key", "name_pinyin", "name_norm", "birth_any", "township", "village", "row",
           "household_id")


def pair_frame(pairs: pl.DataFrame, e: pl.DataFrame, r: pl.DataFrame, rd: Readings) -> pl.DataFrame:
    """Pairs with both sides' attributes (`e_*`, `r_*`), digit comparison, name category and
    `TYPO_IN_RANGE`."""
    ei = pairs["eidx"].to_numpy()
    ri = pairs["ridx"].to_numpy()
    feats = compare(rd.e_mat, rd.r_mat, rd.e_known, rd.r_known, ei, ri)
    # one gather per side (a polars call per column cost more than the gathers on small files)
    frame = pl.concat([
        pairs.select("eidx", "ridx"),
        e.select([pl.col(c).gather(pairs["eidx"]).alias(f"e_{c}") for c in _E_COLS]),
        r.select([pl.col(c).gather(pairs["ridx"]).alias(f"r_{c}") for c in _R_COLS]),
        pl.DataFrame(feats.columns()),
    ], how="horizontal")
    return frame.with_columns(name_category(frame, "e_name_key", "r_name_key", "e_name_pinyin", "r_name_pinyin")
                              .alias("cat"), pl.Series(TYPO_IN_RANGE, typos.typo_in_range(frame)))


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


# The column the repair tier adds to its pairs: `_typo_in_range()` of each pair, computed once
# (in numpy: `typos.typo_in_range`) and read by its cases.
TYPO_IN_RANGE = "typo_in_range"


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


TAIL_TYPO = "tail_typo"  # the column `with_tail_typo` adds: `_tail_typo_possible()` of each pair


def with_tail_typo(p: pl.DataFrame) -> pl.DataFrame:
    """Pairs with column `tail_typo` (`_tail_typo_possible`: a large expression, read by several
    cases), computed once (in numpy: `typos.tail_typo_possible`) and only on pairs whose extract
    ID was a spreadsheet number; False on
    the others, where every case reading it is settled without it (`_TAIL_TYPO` needs
    `_out_of_range`, `_NUMBER_ALLOWS` holds by `~_HAS_RANGE`: both need a range).

    >>> f = pl.DataFrame({"e_lo": [None, 43312720130818240], "e_hi": [None, 43312720130818403],
    ...                   "r_value": [43312720130818145] * 2, "k": [14, 14], "r_digits": ["433127201308181450"] * 2})
    >>> with_tail_typo(f)["tail_typo"].to_list()
    [False, True]
    """
    return p.with_columns(pl.Series(TAIL_TYPO, typos.tail_typo_possible(p)))


def _out_of_range() -> pl.Expr:
    """The extract's spreadsheet-number range excludes the roster's valid ID: someone else's
    (a typo in the digits the number lost cannot be told from a namesake born the same day)."""
    return (
        pl.col("e_lo").is_not_null() & pl.col("r_value").is_not_null() & pl.col("r_status").is_in(USABLE)
        & ~_in_range().fill_null(False)
    )


# Among equally good candidates, the one proposed is chosen by what it is (its ID, household,
# name), not by where it stands in the roster: the same files in another order give the same answer.
_TIE_BREAK = ("r_value", "r_household_id", "r_name_norm", "ridx")
_TIE_ORDER = (False,) * len(_TIE_BREAK)


def _resolve(scored: pl.DataFrame, ambiguous_reason: pl.Expr) -> pl.DataFrame:
    """Best pair per extract row. `scored` has eidx, ridx, method, score, accept, reason, weak.

    An accepted best pair is linked unless another accepted pair is within `TIE_MARGIN`
    points; then, and when only review-grade pairs exist, the row goes to review.
    """
    if scored.is_empty():
        return empty_decisions()
    ranked = scored.sort(["eidx", "accept", "score", *_TIE_BREAK], descending=[False, True, True, *_TIE_ORDER],
                         nulls_last=True)
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


# -- the facts of a pair that several cases read (columns of `pair_frame`) -------------------

_cat, _ham, _k, _q1, _q2 = pl.col("cat"), pl.col("ham"), pl.col("k"), pl.col("q1"), pl.col("q2")
_E_USE = pl.col("e_status").is_in(USABLE)
_R_USE = pl.col("r_status").is_in(USABLE)
_FULL = _k >= 18  # both sides' 18 digits compared
_HAS_RANGE = pl.col("e_lo").is_not_null()  # the extract's ID was held as a spreadsheet number
_HAS_VALUE = pl.col("r_value").is_not_null()  # an 18-digit roster ID, valid or not
_BIRTH_OK = pl.col("e_birth").is_null() | _agree("e_birth", "r_birth_any").fill_null(False)
_NAME_OK = _cat >= NAME_VARIANT  # same name, or a homophone / truncated variant
_SWAP18 = pl.col("swapped") & (_ham == 2)


def _name_penalty(other: float) -> pl.Expr:
    """Points off for a variant name (2) or anything weaker (`other`)."""
    return pl.when(_cat == NAME_SAME).then(0.0).when(_cat == NAME_VARIANT).then(2.0).otherwise(other)


# -- place: one definition of the village / township agreement, its points and its words ----

PLACE: tuple[Case, ...] = (
    Case("village", _agree("e_village", "r_village").fill_null(False), 6.0, reason="，村一致"),
    Case("township", _agree("e_township", "r_township").fill_null(False), 3.0, reason="，乡镇一致"),
)
# Either side's place differs (null: unknown, no conflict).
_PLACE_CONFLICT = _agree("e_village", "r_village").not_().fill_null(False) | _agree(
    "e_township", "r_township").not_().fill_null(False)


def place_points() -> pl.Expr:
    """Score points for the same village, else the same township (`PLACE`)."""
    return first(PLACE, "score", default=0.0)


def place_words() -> pl.Expr:
    """"，村一致" / "，乡镇一致" / "" (`PLACE`)."""
    return first(PLACE, "reason", default="")


# -- id_repaired -----------------------------------------------------------------------------

# A: both IDs pass the check yet differ. Two valid IDs always differ in at least two places, so
# this is never linked: a typo that kept the check character valid (two wrong digits) and a
# namesake born the same day look alike. Plausible ones go to review.
_CASE_A = _FULL & _E_USE & _R_USE & ((_ham <= 2) | (pl.col("swapped") & (pl.col("ham_body") == 2))) & _BIRTH_OK & _NAME_OK
# B: a faulty 18-digit ID on either side, one digit wrong or two adjacent digits swapped.
_CASE_B = _FULL & ~(_E_USE & _R_USE) & ((_ham <= 1) | _SWAP18) & _BIRTH_OK
# R: the extract's ID was held as a spreadsheet number: the roster ID lies in the range of values
# it may have come from (`idnum.number_range`; rounding may carry into earlier digits).
_CASE_R = _HAS_RANGE & _in_range().fill_null(False) & _HAS_VALUE & _BIRTH_OK
# T: a number whose range holds the roster ID once one typo in its certain digits is undone.
_CASE_T = _HAS_RANGE & pl.col(TYPO_IN_RANGE) & _HAS_VALUE & _BIRTH_OK
# C: only leading digits known on the roster side (or in an extract ID without a range).
_CASE_C = ~_HAS_RANGE & ~_FULL & (_k >= 14) & _BIRTH_OK
# A number without a name, or with one character different: accepted only from a narrow range (a
# double: a few sequence numbers), never from 15 digits (~100 sequence numbers).
_NARROW = (pl.col("e_hi") - pl.col("e_lo")) <= 10
_WEAK_NAME = (_cat == NAME_MISSING) | (_cat == NAME_ONE_CHAR)
# One wrong ID digit plus one wrong name character: accepted only when the check character agrees
# with the roster's (the typo is in the body); a wrong check character with an equal body is how
# a stranger's typo can land on a roster ID.
_ONE_CHAR_OK = (_cat == NAME_ONE_CHAR) & (_ham >= 1) & (_q2.fill_null(-1) < 17) & (_q1 < 17) & ((_ham == 1) | _SWAP18)
_BIRTH_FAULT = (_q1 >= 6) & (_q1 < 14) & pl.col("e_birth").is_null()
_IN_BIRTH = ((_q1 >= 6) & (_q1 < 14)) | ((_q2 >= 6) & (_q2 < 14))
_PEN = _name_penalty(7.0)

# What is wrong with the ID, in the clerk's words: one text per kind of fault.
_WHO = (
    pl.when(_E_USE & ~_R_USE).then(pl.lit("花名册证件号码"))
    .when(~_E_USE & _R_USE).then(pl.lit("证件号码"))
    .when(~_E_USE & ~_R_USE).then(pl.lit("两边证件号码"))
    .otherwise(pl.lit("证件号码"))
)
_NUMBER_FAULT = (  # R, T: a spreadsheet number
    pl.when((_ham == 2) & pl.col("swapped") & pl.col(TYPO_IN_RANGE))
    .then(pl.format("证件号码{}，且第{}、{}位疑似前后颠倒，改正后花名册证件号码在其可能取值范围内",
                    status_zh(pl.col("e_status")), position(_q1), position(_q2)))
    .when((_ham > 0) & pl.col(TYPO_IN_RANGE))
    .then(pl.format("证件号码{}，且第{}位（{}）疑似录入错误，改正后花名册证件号码在其可能取值范围内",
                    status_zh(pl.col("e_status")), position(_q1), id_part(_q1)))
    .when(_ham == 1)
    .then(pl.format("证件号码{}，前{}位中第{}位（{}）与花名册不同，已丢失的几位也与花名册不符",
                    status_zh(pl.col("e_status")), _k, position(_q1), id_part(_q1)))
    .when(_ham > 1)
    .then(pl.format("证件号码{}，前{}位中第{}位（{}）、第{}位（{}）与花名册不同",
                    status_zh(pl.col("e_status")), _k, position(_q1), id_part(_q1), position(_q2), id_part(_q2)))
    .otherwise(pl.format("证件号码{}，花名册证件号码在其可能取值范围内（前{}位可信）",
                         status_zh(pl.col("e_status")), pl.col("e_known")))
)
_BOTH_VALID_FAULT = (  # A
    pl.when(pl.col("swapped") & (pl.col("ham_body") == 2))
    .then(pl.format("证件号码校验位正确但不在花名册中，与花名册人员第{}、{}位前后颠倒（疑似录入后重算校验位）",
                    position(_q1), position(_q2)))
    .when((_ham == 2) & (_q2 < 17))
    .then(pl.format("证件号码校验位正确但不在花名册中，与花名册人员第{}位（{}）、第{}位（{}）不同（两位同时录错时校验位仍可能正确）",
                    position(_q1), id_part(_q1), position(_q2), id_part(_q2)))
    .otherwise(pl.format("证件号码校验位正确但不在花名册中，与花名册人员第{}位（{}）及校验位不同",
                         position(_q1), id_part(_q1)))
)
_FAULTY_FULL_FAULT = (  # B
    pl.when(_SWAP18).then(pl.format("{}第{}、{}位疑似前后颠倒", _WHO, position(_q1), position(_q2)))
    .when(_ham == 1).then(pl.format("{}第{}位（{}）疑似录入错误", _WHO, position(_q1), id_part(_q1)))
    .otherwise(pl.format("{}与花名册相差{}位", _WHO, _ham))
)
_PARTIAL_FAULT = (  # C
    pl.when((pl.col("e_known") < 18) & (_ham > 0))
    .then(pl.format("证件号码{}，前{}位中有{}位与花名册不同", status_zh(pl.col("e_status")), _k, _ham))
    .when(pl.col("e_known") < 18)
    .then(pl.format("证件号码{}，前{}位与花名册一致", status_zh(pl.col("e_status")), _k))
    .when(_ham > 0)
    .then(pl.format("花名册证件号码{}，前{}位中有{}位不同", status_zh(pl.col("r_status")), _k, _ham))
    .otherwise(pl.format("花名册证件号码{}，前{}位一致", status_zh(pl.col("r_status")), _k))
)
# Why a pair the cases hold is not linked outright.
_DOUBT = (
    pl.when(_cat == NAME_ONE_CHAR).then(pl.lit("；证件号码和姓名各有一处不同，需人工核实"))
    .when(_cat <= 0).then(pl.lit("；姓名无法确认，需人工核实"))
    .otherwise(pl.lit("；证据不足，需人工核实"))
)

REPAIR_CASES: tuple[Case, ...] = (
    Case("number_in_range", _CASE_R & _NAME_OK, 92.0 - _PEN, accept=True, reason=_NUMBER_FAULT),
    Case("number_in_narrow_range_weak_name", _CASE_R & _WEAK_NAME & _NARROW, 84.0, accept=True, reason=_NUMBER_FAULT),
    Case("number_in_range_weak_name", _CASE_R & _WEAK_NAME, 70.0, reason=_NUMBER_FAULT, note=_DOUBT),
    Case("number_typo", _CASE_T & _NAME_OK, 86.0 - _PEN, accept=True, reason=_NUMBER_FAULT),
    Case("number_typo_one_char", _CASE_T & (_cat == NAME_ONE_CHAR), 65.0, reason=_NUMBER_FAULT, note=_DOUBT),
    # two certain digits differ (a valid ID would go to review too: case A)
    Case("number_two_digits", _HAS_RANGE & _HAS_VALUE & (_ham == 2) & _NAME_OK & _BIRTH_OK, 65.0 - _PEN,
         reason=_NUMBER_FAULT, note=_DOUBT),
    # one certain digit of region or birth date differs and the lost digits do not fit either: as
    # with two valid IDs differing in two places, a typo and a namesake look alike (a different
    # certain sequence digit is a namesake born the same day: no candidate)
    Case("number_one_digit_and_tail", _HAS_RANGE & _HAS_VALUE & (_ham == 1) & (_q1 < 14) & _NAME_OK & _BIRTH_OK,
         62.0 - _PEN, reason=_NUMBER_FAULT, note=_DOUBT),
    Case("number_other", _HAS_RANGE, None),  # a number fitting none of the above: no candidate
    Case("both_valid", _CASE_A, pl.when(_IN_BIRTH).then(75.0).otherwise(65.0) - _PEN, reason=_BOTH_VALID_FAULT,
         note="；两个有效证件号码不同，可能是另一人（同名同生日），不自动匹配，需人工核实"),
    Case("faulty_full", _CASE_B & _NAME_OK, 95.0 - _PEN - pl.when(_BIRTH_FAULT).then(2.0).otherwise(0.0), accept=True,
         reason=_FAULTY_FULL_FAULT),
    Case("faulty_full_one_char", _CASE_B & _ONE_CHAR_OK, 88.0, accept=True, reason=_FAULTY_FULL_FAULT),
    # A near ID with a different name is another person (a county-wide extract has dozens of
    # people per birth date): no candidate. One differing character is still worth a look.
    Case("faulty_full_one_char_check", _CASE_B & (_cat == NAME_ONE_CHAR), 70.0, reason=_FAULTY_FULL_FAULT, note=_DOUBT),
    Case("partial_equal", _CASE_C & (_ham == 0) & _NAME_OK, pl.when(_k >= 15).then(92.0).otherwise(90.0) - _PEN,
         accept=True, reason=_PARTIAL_FAULT),
    Case("partial_near", _CASE_C & ((_ham <= 1) | _SWAP18) & _NAME_OK, 65.0, reason=_PARTIAL_FAULT, note=_DOUBT),
)
# The evidence that confirms the repair: name and birth date (or the other digits).
_BIRTH_SEEN = pl.col("e_birth").is_not_null() | (_q1 < 6) | (_q1 >= 14)
_REPAIR_EVIDENCE = (
    pl.when(_BIRTH_SEEN & (_cat == NAME_SAME)).then(pl.lit("姓名、出生日期一致"))
    .when(_BIRTH_SEEN).then(pl.format("{}，出生日期一致", name_note(_cat, pl.col("e_name_norm"), pl.col("r_name_norm"))))
    .when(_cat == NAME_SAME).then(pl.lit("姓名及其余各位一致"))
    .otherwise(pl.format("{}，其余各位一致", name_note(_cat, pl.col("e_name_norm"), pl.col("r_name_norm"))))
)


def _may_repair(
    k: np.ndarray, ham: np.ndarray, has_range: np.ndarray, both_usable: np.ndarray, in_range: np.ndarray,
    has_value: np.ndarray,
) -> np.ndarray:
    """Pairs some scoring case of `REPAIR_CASES` may hold for, from what numpy tells cheaply (`k`
    positions compared, `ham` differences: `digits.near`; both IDs usable; the roster's value in
    the extract's range; a roster value): the rest (most blocking candidates) are never scored.

    - a spreadsheet number (`_HAS_RANGE`): every case needs a roster value, and the value in its
      range (R) or one or two differing certain digits (T, two digits, one digit and the tail);
    - else A needs both IDs usable and at most three differences (two, or a swap in the body plus
      the check character); B and C need 14+ digits compared and at most two (one, or a swap).
    """
    ranged = has_value & (in_range | (ham == 1) | (ham == 2))
    plain = (k >= 14) & ((ham <= 2) | ((ham == 3) & both_usable))
    return np.where(has_range, ranged, plain)


def _repair_filter(run: LinkRun) -> Callable[[pl.DataFrame], pl.Series]:
    """`_may_repair` of a frame of pairs (`eidx`, `ridx`) of `run`, as a boolean Series: applied to
    each blocking join's pairs as they are made, so the many it drops are never kept together."""
    rd, e, r = run.rd, run.e, run.r
    usable = pl.col("status").is_in(USABLE).fill_null(False)
    e_use = e.select(usable).to_series().to_numpy()
    has_range = e["lo"].is_not_null().to_numpy()
    lo, hi = e["lo"].fill_null(0).to_numpy(), e["hi"].fill_null(-1).to_numpy()
    # the roster's side, once per run
    r_use, has_value, value = run.memo.get("repair.filter", lambda: (
        r.select(usable).to_series().to_numpy(), r["value"].is_not_null().to_numpy(),
        r["value"].fill_null(0).to_numpy()))

    def keep(pairs: pl.DataFrame) -> pl.Series:
        ei, ri = pairs["eidx"].to_numpy(), pairs["ridx"].to_numpy()
        k, ham = near(rd.e_mat, rd.r_mat, rd.e_known, rd.r_known, ei, ri)
        v = value[ri]
        return pl.Series(_may_repair(k, ham, has_range[ei], e_use[ei] & r_use[ri], (v >= lo[ei]) & (v <= hi[ei]),
                                     has_value[ri]))

    return keep


@dataclass(frozen=True)
class RepairTier:
    """`id_repaired`: a faulty ID on either side, confirmed by name and birth date
    (`REPAIR_CASES`, strongest first; reason = the case's fault, the evidence, its note)."""

    name: str = "id_repaired"
    cases: tuple[Case, ...] = REPAIR_CASES

    def decide(self, run: LinkRun) -> Outcome:
        e_open = run.open_rows("idx", "status", "lo", "hi", "known", "digits", "name_pinyin", FILE,
                               where=pl.col("known") > 0)
        # range pairs all have a range (`_may_repair` keeps them)
        pairs = pl.concat([
            candidates.repair_pairs(e_open.filter(pl.col("known") >= MIN_REPAIR_KNOWN), run.r, run.memo,
                                    keep=_repair_filter(run)),
            candidates.range_pairs(e_open, run.r, run.memo),
        ]).unique()
        if pairs.is_empty():
            return Outcome(empty_decisions())
        p = scored(pair_frame(pairs, run.e, run.r, run.rd), self.cases)
        if p.is_empty():
            return Outcome(empty_decisions())
        p = p.with_columns(
            accepted(self.cases), (~_FULL).alias("weak"), pl.lit(self.name).alias("method"),
            pl.format("{}，{}{}", reason(self.cases), _REPAIR_EVIDENCE, note(self.cases)).alias("reason"),
        )
        ambiguous = pl.format("证件号码有误，花名册中有多名人员同样符合（{}人），需人工核实", pl.col("n_accept"))
        return Outcome(_resolve(p, ambiguous))


# -- name_birth --------------------------------------------------------------------------------

_HAS_BOTH = _k >= 6  # both sides have at least the region code
_PREFIX_OK = _HAS_BOTH & (_ham == 0)
# A spreadsheet number whose range excludes the roster ID but a typo in the digits it lost explains.
_TAIL_TYPO = _out_of_range() & (_ham == 0) & pl.col(TAIL_TYPO)
# A valid ID that differs, or a number whose range excludes the roster ID and no such typo explains.
_DIFFERENT = (_HAS_BOTH & (_ham > 0) & _E_USE) | (_out_of_range() & ~_TAIL_TYPO)
# A faulty ID (not a number) that differs in a few digits.
_ID_REVIEW = _HAS_BOTH & (_ham > 0) & ~_E_USE & ~_DIFFERENT
# The extract's own partial ID agrees with the roster's leading digits: the link repairs it.
_PARTIAL_AGREES = _PREFIX_OK & (pl.col("e_known") < 18) & ~_E_USE
_FACTS = pl.when(_cat == NAME_SAME).then(pl.lit("姓名、出生日期一致")).otherwise(
    pl.format("{}，出生日期一致", name_note(_cat, pl.col("e_name_norm"), pl.col("r_name_norm"))))
_ID_TEXT = (
    pl.when(_PARTIAL_AGREES).then(pl.format("证件号码{}，前{}位一致，", status_zh(pl.col("e_status")), _k))
    .when(pl.col("e_known") < 6).then(pl.format("证件号码{}，", status_zh(pl.col("e_status"))))
    .when(pl.col("r_known") == 0).then(pl.lit("花名册无可用证件号码，"))
    .when(_PREFIX_OK).then(pl.format("证件号码前{}位一致，", _k))
    .otherwise(pl.lit(""))
)

NAME_BIRTH_CASES: tuple[Case, ...] = (
    Case("different_id", _DIFFERENT, None),  # another person: counted for the unlinked reason
    Case("lost_digit_typo", _TAIL_TYPO, 60.0, reason=pl.format(
        "{}，证件号码（{}）前{}位一致，但后几位与花名册不符：已丢失的几位中若有一位录错即为同一人，"
        "也可能是同名同生日的另一人，需人工核实", _FACTS, status_zh(pl.col("e_status")), _k)),
    Case("faulty_id_differs", _ID_REVIEW, 60.0, reason=pl.format(
        "{}，但证件号码（{}）与花名册相差{}位，需人工核实", _FACTS, status_zh(pl.col("e_status")), _ham)),
    Case("place_differs", _PLACE_CONFLICT, 65.0, reason=pl.format(
        "{}，但乡镇/村不一致（{}/{}），需人工核实", _FACTS,
        pl.col("e_village").fill_null(pl.col("e_township")).fill_null(""),
        pl.col("r_village").fill_null(pl.col("r_township")).fill_null(""))),
    Case("agree", pl.lit(True), 85.0 + place_points() - pl.when(_cat == NAME_SAME).then(0.0).otherwise(3.0), accept=True,
         reason=pl.format("{}{}{}", _ID_TEXT, _FACTS, place_words())),
)


@dataclass(frozen=True)
class NameBirthTier:
    """`name_birth`: same name (or pinyin) and birth date; the ID, where both sides have one,
    must not contradict (`NAME_BIRTH_CASES`). Also counts, for rows left open, the namesakes
    born the same day whose IDs show they are different people."""

    name: str = "name_birth"
    cases: tuple[Case, ...] = NAME_BIRTH_CASES

    def decide(self, run: LinkRun) -> Outcome:
        pairs = candidates.name_birth_pairs(run.open_rows("idx", "name_pinyin", "birth_any"), run.r, run.memo)
        if pairs.is_empty():
            return Outcome(empty_decisions())
        p = with_tail_typo(pair_frame(pairs, run.e, run.r, run.rd)).with_columns(case_of(self.cases))
        p = p.with_columns(
            score(self.cases),
            accepted(self.cases),
            pl.when(_PARTIAL_AGREES).then(pl.lit("id_repaired")).otherwise(pl.lit(self.name)).alias("method"),
            pl.lit(True).alias("weak"),
        )
        different = pl.col("score").is_null()
        namesakes = p.group_by("eidx").agg(different.all().alias("all_diff"), pl.len().alias("n_diff")).filter(
            pl.col("all_diff")).select("eidx", pl.col("n_diff").cast(pl.UInt32))
        p = p.filter(~different)
        if p.is_empty():
            return Outcome(empty_decisions(), namesakes)
        p = p.with_columns(reason(self.cases))
        ambiguous = pl.format("花名册中同名同出生日期的人员有{}人，无法区分，需人工核实", pl.col("n_accept"))
        return Outcome(_resolve(p, ambiguous), namesakes)


# -- review only: name only, and roster persons without a usable ID ------------------------------


def _review_only(best: pl.DataFrame) -> pl.DataFrame:
    """Decisions that put each row's best pair (eidx, ridx, score, reason) in the review queue."""
    return best.select(
        "eidx",
        "ridx",
        pl.lit("none").alias("method"),
        "score",
        pl.lit("review").alias("status"),
        "reason",
        pl.lit(False).alias("conflict"),
        pl.lit(True).alias("weak"),
    ).cast(DECISION_SCHEMA)


# A spreadsheet number still says who it is not: its certain digits and its range must allow the
# candidate (up to one typo in the digits it lost).
_NUMBER_ALLOWS = ~_HAS_RANGE | ((_ham == 0) & (~_out_of_range() | pl.col(TAIL_TYPO)))

NAME_ONLY_CASES: tuple[Case, ...] = (
    Case("name_not_equal", _cat < NAME_SAME, None),  # a homophone alone is too weak
    Case("number_excludes", ~_NUMBER_ALLOWS, None),
    Case("same_name", pl.lit(True),
         30.0 + _cat.cast(pl.Float64) * 3 + place_points() + pl.when((_k >= 6) & (_ham == 0)).then(3.0).otherwise(0.0),
         reason=pl.when(_HAS_RANGE & (_k >= 10))
         .then(pl.format("姓名相同（{}），证件号码{}，前{}位一致但出生日期无法确定，其余几位已丢失，花名册中候选{}人，需人工核实",
                         name_note(_cat, pl.col("e_name_norm"), pl.col("r_name_norm")), status_zh(pl.col("e_status")),
                         _k, pl.col("n")))
         .otherwise(pl.format("仅姓名相同（{}），缺少证件号码和出生日期，花名册中候选{}人，需人工核实",
                              name_note(_cat, pl.col("e_name_norm"), pl.col("r_name_norm")), pl.col("n")))),
)


@dataclass(frozen=True)
class NameOnlyTier:
    """Name only (no usable ID, no birth date): at most a review with the best candidate, and
    only when the names are equal and at most `MAX_NAME_ONLY` namesakes are equally good
    (`NAME_ONLY_CASES`). In sectors where a person has one row, roster persons another row of
    this file already links to are not proposed again."""

    name: str = "name_only"
    cases: tuple[Case, ...] = NAME_ONLY_CASES

    def decide(self, run: LinkRun) -> Outcome:
        rows = run.open_rows("idx", "name_pinyin", "village",
                             where=pl.col("birth_any").is_null() & pl.col("name_pinyin").is_not_null())
        pairs = candidates.name_only_pairs(rows, run.r, run.memo)
        files = run.files_in(REPEATING_SECTORS, but=True)
        if files and not pairs.is_empty():
            # the roster persons rows of the same file link to (in a sector that repeats people,
            # none: they may well be the same person)
            linked = run.decided.filter(pl.col("status") == "linked")
            taken = linked.select(run.file_of(linked["eidx"]), "ridx").filter(pl.col(FILE).is_in(files)).unique()
            pairs = (pairs.with_columns(run.file_of(pairs["eidx"])).join(taken, on=[FILE, "ridx"], how="anti")
                     .drop(FILE))
        if pairs.is_empty():
            return Outcome(empty_decisions())
        p = scored(with_tail_typo(pair_frame(pairs, run.e, run.r, run.rd)), self.cases)
        if p.is_empty():
            return Outcome(empty_decisions())
        best = (
            p.sort(["eidx", "score", *_TIE_BREAK], descending=[False, True, *_TIE_ORDER], nulls_last=True)
            .group_by("eidx", maintain_order=True)
            .agg(pl.all().first(), pl.len().alias("n"), (pl.col("score") == pl.col("score").max()).sum().alias("n_best"))
            .filter(pl.col("n_best") <= MAX_NAME_ONLY)
        )
        return Outcome(_review_only(best.with_columns(reason(self.cases))))


# A roster person without a usable ID can only be proposed for review when few extract rows
# carry that name; beyond this, the name says nothing (a county-wide extract has many namesakes).
MAX_GAP_CLAIMS = 2

ROSTER_GAP_CASES: tuple[Case, ...] = (
    Case("sex_differs", (pl.col("e_sex") != pl.col("r_sex")).fill_null(False), None),
    Case("place_differs", _PLACE_CONFLICT, None),
    Case("name_carried_often", ~(pl.col("carriers") <= MAX_GAP_CLAIMS).fill_null(False), None),
    Case("name", pl.lit(True), 35.0 + _cat.cast(pl.Float64) * 3 + place_points(), reason=pl.format(
        "花名册第{}行同名人员的证件号码{}，无法用证件号码确认（{}），需人工核实并补正花名册",
        pl.col("r_row"),
        pl.when(pl.col("r_status").is_in(USABLE)).then(pl.lit("与他人重复")).otherwise(pl.lit("缺失或无效")),
        name_note(_cat, pl.col("e_name_norm"), pl.col("r_name_norm")))),
)


def _gap_roster(r: pl.DataFrame) -> pl.DataFrame:
    """Roster persons without a usable ID of their own (missing, unusable or shared with
    another roster row) whose name no other roster person carries."""
    shared = pl.col("idkey").is_not_null() & (pl.len().over("idkey") > 1)
    unique_name = pl.len().over("name_pinyin") == 1
    return r.filter((~pl.col("status").is_in(USABLE) | shared) & unique_name)


@dataclass(frozen=True)
class RosterGapTier:
    """Open rows whose name matches a roster person whose own ID is missing, unusable or shared
    with another roster row: the roster cannot confirm them, so at most `review`.

    A name alone is weak, so the candidate must be the only roster person with that name, its
    name carried by at most `MAX_GAP_CLAIMS` extract rows not linked to someone else, with no
    disagreement on sex or place (`ROSTER_GAP_CASES`)."""

    name: str = "roster_gap"
    cases: tuple[Case, ...] = ROSTER_GAP_CASES

    def decide(self, run: LinkRun) -> Outcome:
        r, e = run.r, run.e
        gaps = run.memo.get("gap.roster", lambda: _gap_roster(r))
        rows = run.open_rows("idx", "name_pinyin", "village", where=pl.col("name_pinyin").is_not_null())
        if gaps.is_empty() or rows.is_empty():
            return Outcome(empty_decisions())
        pairs = candidates.name_only_pairs(rows, gaps, run.memo, tag="gap")
        if pairs.is_empty():
            return Outcome(empty_decisions())
        linked = run.decided.filter(pl.col("status") == "linked").select(pl.col("eidx").alias("idx"))
        p = pair_frame(pairs, e, r, run.rd)
        # How many rows of its file not linked to someone else carry each of these names (only
        # these names counted).
        names = p["e_name_pinyin"].unique().implode()
        carriers = (
            e.select("idx", FILE, "name_pinyin").filter(pl.col("name_pinyin").is_in(names))
            .join(linked, on="idx", how="anti").group_by(FILE, "name_pinyin").len("carriers")
        )
        p = (
            p
            .join(run.memo.get("gap.rows", lambda: r.select(
                pl.col("idx").alias("ridx"), pl.col("row").alias("r_row"), pl.col("sex").alias("r_sex"))), on="ridx")
            .join(e.select(pl.col("idx").alias("eidx"), pl.col("sex").alias("e_sex"), FILE), on="eidx")
            .join(carriers, left_on=[FILE, "e_name_pinyin"], right_on=[FILE, "name_pinyin"], how="left")
            .drop(FILE)
        )
        p = scored(p, self.cases)
        p = p.filter(pl.len().over("eidx") <= MAX_NAME_ONLY)
        if p.is_empty():
            return Outcome(empty_decisions())
        best = (
            p.sort(["eidx", "score", *_TIE_BREAK], descending=[False, True, *_TIE_ORDER], nulls_last=True)
            .group_by("eidx", maintain_order=True)
            .agg(pl.all().first(), pl.len().alias("n"))
        )
        return Outcome(_review_only(best.with_columns(reason(self.cases))))
