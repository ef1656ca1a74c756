"""Tiers `id_exact` and `id_normalized`: the extract's ID equals a roster ID.

One hash join on `idkey`. The name then decides (`ID_CASES`): equal or a variant → linked; one
character different → linked unless the extract's name is another member of that household (an
ID copied from a relative); a different name → review with a `NAME_ID_CONFLICT`. A roster ID
held by several roster rows is resolved by the name when exactly one name agrees.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from fanpin_cli.linking.cases import Case, accepted, by_case_rows, case_of, score
from fanpin_cli.linking.frames import DECISION_SCHEMA, empty_decisions
from fanpin_cli.linking.name_similarity import (
    NAME_DIFFERENT,
    NAME_MISSING,
    NAME_ONE_CHAR,
    NAME_SAME,
    NAME_VARIANT,
    name_category,
    name_note,
)
from fanpin_cli.linking.tier import LinkRun, Outcome

SCORE_EXACT = 100.0
SCORE_NORMALIZED = 99.0
SCORE_DUPLICATE = 93.0
SCORE_DUPLICATE_REVIEW = 60.0
SCORE_CONFLICT = 50.0
_NAME_PENALTY = {NAME_SAME: 0.0, NAME_VARIANT: 2.0, NAME_MISSING: 3.0, NAME_ONE_CHAR: 6.0, NAME_DIFFERENT: 50.0}


# Facts of the best pair per extract row (columns of `IdTier.decide`'s `best` frame).
_cat, _n, _ok, _n_top = pl.col("cat"), pl.col("n"), pl.col("ok"), pl.col("n_top")
_SINGLE_OK = (_n == 1) & _ok  # the one roster row with this ID, its name agreeing
_DUP_OK = (_n > 1) & _ok & (_cat >= NAME_VARIANT) & (_n_top == 1)  # several rows, one name agrees
_HOW = (
    pl.when(pl.col("method") == "id_exact")
    .then(pl.lit("证件号码与花名册一致"))
    .when(pl.col("status").eq("legacy_15") | pl.col("r_status").eq("legacy_15"))
    .then(pl.lit("证件号码15位升18位后与花名册一致"))
    .otherwise(pl.lit("证件号码去除空格、全角、大小写等格式差异后与花名册一致"))
)
_NAMES = name_note(_cat, pl.col("name_norm"), pl.col("r_name"))
_NOT_LINKED = pl.when(_n > 1).then(SCORE_DUPLICATE_REVIEW).otherwise(SCORE_CONFLICT)

ID_CASES: tuple[Case, ...] = (
    Case("name_one_char", _SINGLE_OK & (_cat == NAME_ONE_CHAR), pl.col("pscore"), accept=True,
         reason=pl.format("{}，{}，疑似姓名录入错误", _HOW, _NAMES)),
    Case("name_agrees", _SINGLE_OK, pl.col("pscore"), accept=True, reason=pl.format("{}，{}", _HOW, _NAMES)),
    Case("duplicate_named", _DUP_OK, SCORE_DUPLICATE, accept=True,
         reason=pl.format("{}；花名册中该证件号码重复{}条，按姓名确定为第{}行", _HOW, _n, pl.col("r_row"))),
    Case("duplicate_unclear", (_n > 1) & (_cat >= NAME_ONE_CHAR), SCORE_DUPLICATE_REVIEW,
         reason=pl.format("{}；花名册中该证件号码重复{}条，姓名无法区分，需人工核实", _HOW, _n)),
    Case("duplicate_no_name", (_n > 1) & (_cat == NAME_MISSING), SCORE_DUPLICATE_REVIEW,
         reason=pl.format("{}；花名册中该证件号码重复{}条且缺少姓名，需人工核实", _HOW, _n)),
    Case("relative_id", pl.col("mixup"), _NOT_LINKED,
         reason=pl.format("{}（第{}行 {}），但姓名（{}）与同户另一成员相同，疑似填成同户成员的证件号码，需人工核实",
                          _HOW, pl.col("r_row"), pl.col("r_name"), pl.col("name_norm"))),
    Case("name_differs", pl.lit(True), _NOT_LINKED,
         reason=pl.format("{}（第{}行），但{}，疑似证件号码填错或冒用，需人工核实", _HOW, pl.col("r_row"), _NAMES)),
)


def _best_per_row(pairs: pl.DataFrame) -> pl.DataFrame:
    """Per extract row (`eidx`, ascending): its best pair (ok, then name category, then score,
    then the first roster row), `n` its pairs and `n_top` those as good in ok and category. Only
    the rows with several pairs (an ID on several roster rows: a few hundred) are sorted and grouped.

    >>> p = pl.DataFrame({"eidx": [2, 1, 1], "ridx": [5, 7, 6], "ok": [True, True, True], "cat": [4, 4, 4],
    ...                   "pscore": [100.0, 90.0, 90.0]})
    >>> _best_per_row(p).select("eidx", "ridx", "n", "n_top").rows()
    [(1, 6, 2, 2), (2, 5, 1, 1)]
    """
    # Decided on the five columns it reads, the chosen pairs' every column then gathered once
    # (the pairs carry a score of name and ID texts).
    slim = pairs.select("eidx", "ok", "cat", "pscore", "ridx").with_row_index("_p")
    many = slim["eidx"].is_duplicated()
    one = slim.filter(~many).select("eidx", "_p", pl.lit(1, dtype=pl.UInt32).alias("n"),
                                    pl.lit(1, dtype=pl.UInt32).alias("n_top"))
    several = (
        slim.filter(many)
        .sort(["eidx", "ok", "cat", "pscore", "ridx"], descending=[False, True, True, True, False])
        .group_by("eidx", maintain_order=True)
        .agg(
            pl.col("_p").first(),
            pl.len().alias("n"),
            ((_ok == _ok.first()) & (_cat == _cat.first())).sum().alias("n_top"),
        )
    )
    picks = pl.concat([one, several.select(one.columns)], how="vertical_relaxed").sort("eidx")
    return pairs.select(pl.all().gather(picks["_p"])).with_columns(picks["n"], picks["n_top"])


@dataclass(frozen=True)
class IdTier:
    """Decisions for every extract row whose `idkey` is on the roster (`ID_CASES`)."""

    name: str = "id"
    cases: tuple[Case, ...] = ID_CASES

    def decide(self, run: LinkRun) -> Outcome:
        r = run.r
        left = run.open_rows(
            "idx", "idkey", "raw_id", "status", "name_key", "name_pinyin", "name_norm", where=pl.col("idkey").is_not_null()
        ).rename({"idx": "eidx"})
        right = run.memo.get("id.right", lambda: r.filter(pl.col("idkey").is_not_null()).select(
            pl.col("idx").alias("ridx"), "idkey",
            pl.col("raw_id").alias("r_raw"), pl.col("status").alias("r_status"),
            pl.col("name_key").alias("r_key"), pl.col("name_pinyin").alias("r_py"),
            pl.col("name_norm").alias("r_name"), pl.col("household_id").alias("r_hh"),
            pl.col("row").alias("r_row"),
        ))
        pairs = left.join(right, on="idkey", how="inner")
        if pairs.is_empty():
            return Outcome(empty_decisions())
        pairs = pairs.with_columns(name_category(pairs, "name_key", "r_key", "name_pinyin", "r_py").alias("cat"))
        # Is the extract's name that of another member of the candidate's household?
        members = run.memo.get("id.members", lambda: (
            r.filter(pl.col("household_id").is_not_null() & pl.col("name_key").is_not_null())
            .select(pl.col("household_id").alias("r_hh"), "name_key")
            .unique()
            .with_columns(pl.lit(True).alias("member"))
        ))
        pairs = pairs.join(members, on=["r_hh", "name_key"], how="left").with_columns(
            (pl.col("member").fill_null(False) & (_cat < NAME_SAME)).alias("mixup")
        )
        exact = (pl.col("raw_id") == pl.col("r_raw")).fill_null(False)
        pairs = pairs.with_columns(
            pl.when(exact).then(pl.lit("id_exact")).otherwise(pl.lit("id_normalized")).alias("method"),
            ((_cat >= NAME_VARIANT) | (_cat == NAME_MISSING) | ((_cat == NAME_ONE_CHAR) & ~pl.col("mixup"))).alias("ok"),
            (
                pl.when(exact).then(SCORE_EXACT).otherwise(SCORE_NORMALIZED)
                - _cat.replace_strict(_NAME_PENALTY, return_dtype=pl.Float64)
            ).alias("pscore"),
        )
        best = _best_per_row(pairs).with_columns(case_of(self.cases)).with_columns(accepted(self.cases))
        linked = pl.col("accept")
        return Outcome(best.select(
            pl.col("eidx"),
            pl.col("ridx"),
            pl.col("method"),
            score(self.cases),
            pl.when(linked).then(pl.lit("linked")).otherwise(pl.lit("review")).alias("status"),
            by_case_rows(best, self.cases, "reason"),  # (every linked row: each case's words on its rows only)
            (~linked & ((_cat == NAME_DIFFERENT) | pl.col("mixup"))).alias("conflict"),
            pl.lit(False).alias("weak"),
        ).cast(DECISION_SCHEMA))
