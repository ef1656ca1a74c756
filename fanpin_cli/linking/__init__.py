"""Link every extract row to at most one roster person, and say why.

`link(roster, extract, sector=...)` takes two *prepared* frames (`prepare.prepare`) and
returns one row per extract row, in the extract's order, with the columns of
`docs/ARCHITECTURE.md` "Links" (`LINK_COLUMNS`). The tiers are objects (`TIERS`, run in
that order, each deciding only rows the ones before left open); each holds its cases
(`linking.cases`: condition, score and Chinese reason declared once). Strongest first:

1. `id_exact` / `id_normalized` — the ID equals a roster ID (raw text / folded 18-digit form).
2. `id_repaired` — a faulty ID on either side (one wrong digit, adjacent digits swapped,
   Excel `…000`, scientific notation, 15 digits) confirmed by name and birth date.
3. `name_birth` — no usable ID: name (or its pinyin) and birth date, village breaking ties.
4. name only — at most `review`; likewise a name matching a roster person whose own ID is
   missing or shared with another roster row (the roster cannot confirm anyone).

A row is `review` when the evidence is plausible but not certain (namesakes equally good, an
ID whose name is someone else, name only); otherwise `unlinked`. In sectors where a person
has one row (`ONE_ROW_SECTORS`), a weak link (name + birth date, or a partial ID) to a roster
person whom another row already claims becomes `review`: it may be a namesake born the same day.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from fanpin_cli.linking.cases import Case, firsts_by_distinct
from fanpin_cli.linking.digits import digit_matrix
from fanpin_cli.linking.frames import (
    DECISION_SCHEMA,
    LINK_COLUMNS,
    LINK_SCHEMA,
    USABLE,
    empty_decisions,
    view,
)
from fanpin_cli.linking.reasons import REJECTED, status_zh
from fanpin_cli.linking.tier import (
    FILE,
    ONE_ROW_SECTORS,
    REPEATING_SECTORS,
    LinkRun,
    Readings,
    RosterIndex,
    Tier,
)
from fanpin_cli.linking.tiers_fuzzy import NameBirthTier, NameOnlyTier, RepairTier, RosterGapTier
from fanpin_cli.linking.tiers_id import IdTier

__all__ = ["LINK_COLUMNS", "ONE_ROW_SECTORS", "REPEATING_SECTORS", "TIERS", "RosterIndex", "link", "link_files",
           "roster_index"]

# The tiers, strongest first: each decides only rows the ones before it left open.
TIERS: tuple[Tier, ...] = (IdTier(), RepairTier(), NameBirthTier(), NameOnlyTier(), RosterGapTier())


def roster_index(roster: pl.DataFrame) -> RosterIndex:
    """The roster's side of linking (view, digit readings, shared frames): make it once and
    pass it to every `link()` of the run, which then does the roster's work only once."""
    r = view(roster)
    return RosterIndex(r, digit_matrix(r["digits"], r["known"]), r["known"].to_numpy())


def link(roster: pl.DataFrame, extract: pl.DataFrame, *, sector: str, index: RosterIndex | None = None) -> pl.DataFrame:
    """One links row per extract row (see module docstring and `LINK_COLUMNS`). `index`:
    `roster_index(roster)`, shared by the run's extracts (made here when not given)."""
    return link_files(roster, [(extract, sector)], index=index)[0]


def link_files(
    roster: pl.DataFrame, extracts: Sequence[tuple[pl.DataFrame, str]], *, index: RosterIndex | None = None,
) -> list[pl.DataFrame]:
    """`link(roster, extract, sector=sector, index=index)` of each (extract, sector), the files
    linked together: their rows go through the tiers as one frame (a file's own counts, such as
    the rows claiming a roster person, made per file: `tier.FILE`), so a run of small files pays
    the tiers' fixed cost (hundreds of small polars queries, ~20 ms a file) once. Each file's
    frame is what `link` gives it alone (none for no extracts)."""
    if not extracts:
        return []
    ri = index if index is not None else roster_index(roster)
    views = [view(extract) for extract, _ in extracts]
    heights = [v.height for v in views]
    starts = np.cumsum([0, *heights[:-1]]).tolist()
    if len(views) == 1:
        e = views[0].with_columns(pl.lit(0, dtype=pl.UInt32).alias(FILE))
    else:
        e = pl.concat([v.with_columns(pl.col("idx") + start, pl.lit(i, dtype=pl.UInt32).alias(FILE))
                       for i, (v, start) in enumerate(zip(views, starts, strict=True))], how="vertical_relaxed")
    r = ri.r
    rd = Readings(digit_matrix(e["digits"], e["known"]), ri.mat, e["known"].to_numpy(), ri.known)
    run = LinkRun(e, r, rd, tuple(sector for _, sector in extracts), memo=ri.memo)
    for tier in TIERS:
        run.add(tier.decide(run))
    one_row = run.files_in(ONE_ROW_SECTORS)
    decided = _one_row_per_person(run.decided, e, one_row) if one_row else run.decided
    roster_cols = ri.memo.get("assemble.roster", lambda: r.select(
        pl.col("idx").alias("ridx"), pl.col("row").alias("roster_row"), pl.col("household_id")))
    source_file = pl.concat([_source_file(extract) for extract, _ in extracts])
    sector = pl.concat([pl.repeat(sector, height, dtype=pl.String, eager=True)
                        for (_, sector), height in zip(extracts, heights, strict=True)])
    out = _assemble(e, roster_cols, decided, run.namesakes, source_file, sector)
    if len(views) == 1:
        return [out]
    return [out.slice(start, height) for start, height in zip(starts, heights, strict=True)]


def _source_file(extract: pl.DataFrame) -> pl.Series:
    """The extract's `source_file` of each row as text (null without the column)."""
    if "source_file" in extract.columns:
        return extract["source_file"].cast(pl.String).alias("source_file")
    return pl.Series("source_file", [None] * extract.height, dtype=pl.String)


def _one_row_per_person(decided: pl.DataFrame, e: pl.DataFrame, files: list[int]) -> pl.DataFrame:
    """Weak links to a roster person another row of the same file also claims → review (rows
    of the files `files` only)."""
    d = decided.with_columns(e[FILE].gather(decided["eidx"]))
    linked = d.filter((pl.col("status") == "linked") & pl.col(FILE).is_in(files))
    if linked.is_empty():
        return decided
    claims = linked.group_by(FILE, "ridx").agg(
        (~pl.col("weak")).any().alias("strong"),
        pl.len().alias("claims"),
        pl.col("eidx").filter(~pl.col("weak")).first().alias("by"),
    )
    rows = e.select(pl.col("idx").alias("by"), pl.col("row").alias("by_row"))
    claims = claims.join(rows, on="by", how="left")
    d = d.join(claims, on=[FILE, "ridx"], how="left")
    demote = (pl.col("status") == "linked") & pl.col("weak") & (pl.col("strong") | (pl.col("claims") > 1)).fill_null(False)
    note = (
        pl.when(pl.col("strong"))
        .then(pl.format("；但该花名册人员已由本文件第{}行按证件号码匹配，可能是同名同生日的另一人，需人工核实", pl.col("by_row")))
        .otherwise(pl.lit("；但本文件另有记录指向同一花名册人员，可能是同名同生日的另一人，需人工核实"))
    )
    return d.with_columns(
        pl.when(demote).then(pl.lit("review")).otherwise(pl.col("status")).alias("status"),
        pl.when(demote).then(pl.min_horizontal(pl.col("score"), pl.lit(70.0))).otherwise(pl.col("score")).alias("score"),
        pl.when(demote).then(pl.concat_str(pl.col("reason"), note)).otherwise(pl.col("reason")).alias("reason"),
    ).select(list(DECISION_SCHEMA))


_USABLE_ID = pl.col("status").is_in(USABLE)
_HAS_NAME = pl.col("name_key").is_not_null()
# Rows no tier decided (score 0): why nothing was found, from the extract row's own evidence.
UNLINKED_CASES: tuple[Case, ...] = (
    Case("rejected", pl.col("rejected"), 0.0, reason=REJECTED),
    Case("namesakes_differ", pl.col("n_diff").is_not_null(), 0.0, reason=pl.format(
        "证件号码不在花名册中；花名册中同名同出生日期的{}人证件号码不同，判定为不同人员", pl.col("n_diff"))),
    Case("valid_id_unknown", _USABLE_ID & _HAS_NAME, 0.0,
         reason="证件号码有效但不在花名册中，也无仅差一位且姓名、出生日期一致的人员"),
    Case("valid_id_no_name", _USABLE_ID, 0.0, reason="证件号码有效但不在花名册中，且缺少姓名"),
    Case("faulty_id_no_name", ~_HAS_NAME, 0.0, reason=pl.format("证件号码{}且缺少姓名，无法确认", status_zh(pl.col("status")))),
    Case("no_namesake_born_that_day", pl.col("birth_any").is_not_null(), 0.0,
         reason=pl.format("证件号码{}，花名册中无姓名、出生日期一致的人员", status_zh(pl.col("status")))),
    Case("name_only_unclear", pl.lit(True), 0.0, reason=pl.format(
        "证件号码{}且无出生日期，花名册中无同名人员或同名人员过多，无法确认", status_zh(pl.col("status")))),
)


def _by_position(frame: pl.DataFrame, n: int) -> pl.DataFrame:
    """`frame`'s rows (at most one per `eidx`, a row position below `n`) put at their `eidx`:
    `n` rows, null where no row names that position; without the `eidx` column.

    >>> _by_position(pl.DataFrame({"eidx": [2, 0], "v": ["a", "b"]}), 3)["v"].to_list()
    ['b', None, 'a']
    """
    at = np.full(n, -1, dtype=np.int64)
    at[frame["eidx"].to_numpy()] = np.arange(frame.height, dtype=np.int64)
    where = pl.Series("at", at)
    return frame.drop("eidx").select(pl.all().gather(pl.when(where >= 0).then(where).alias("at")))


def _assemble(
    e: pl.DataFrame, roster_cols: pl.DataFrame, decided: pl.DataFrame, namesakes: pl.DataFrame,
    source_file: pl.Series, sector: pl.Series,
) -> pl.DataFrame:
    """The links frame, in the extract's order (`roster_cols`: ridx, roster_row, household_id;
    `source_file`, `sector`: of each extract row)."""
    if decided.is_empty():
        decided = empty_decisions()
    base = e.select(
        "idx", "row", "status", "name_key", "birth_any",
        (pl.col("name_key").is_null() & (pl.col("known") == 0)).alias("rejected"),
    ).with_columns(source_file.alias("source_file"))
    # `idx` and `ridx` are row positions and each extract row has at most one decision and one
    # namesake count: gathers by position, not joins (which hash a million rows three times)
    decisions = _by_position(decided.rename({"status": "match_status"}), e.height)
    roster_side = roster_cols.drop("ridx").select(pl.all().gather(decisions["ridx"]))
    out = pl.concat([base, decisions, _by_position(namesakes, e.height), roster_side], how="horizontal").with_columns(
        pl.col("rejected") & pl.col("match_status").is_null()
    )
    # Why nothing was found: formatted once per distinct case and the columns its words read.
    out = out.with_columns(firsts_by_distinct(out, UNLINKED_CASES, {"_u_score": "score", "_u_reason": "reason"}))
    unlinked = pl.col("match_status").is_null()
    return out.select(
        sector.alias("sector"),
        pl.col("source_file"),
        pl.col("row").alias("source_row"),
        pl.col("roster_row"),
        pl.col("household_id"),
        pl.col("method").fill_null("none").alias("match_method"),
        pl.when(unlinked).then(pl.col("_u_score")).otherwise(pl.col("score")).alias("match_score"),
        pl.col("match_status").fill_null("unlinked"),
        pl.when(unlinked).then(pl.col("_u_reason")).otherwise(pl.col("reason")).alias("reason"),
        pl.col("conflict").fill_null(False).alias("name_id_conflict"),
        pl.col("rejected"),
    ).cast(LINK_SCHEMA)
