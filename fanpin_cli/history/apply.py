"""Use the past in a run, as pure functions on tables (no file, no database).

`apply_link_verdicts` turns confirmed review pairs into links and drops rejected candidates;
`apply_flag_history` hides flags verified 不属实 while their evidence is unchanged, marks every
flag 新增/持续/复发 with `first_flagged`, `last_verdict` and `overdue`, and lists the previous
run's flags that no longer fire.

>>> import polars as pl
>>> from fanpin_cli.history.view import HistoryView
>>> flags = pl.DataFrame({"record_key": ["F1"], "rule_id": ["MED_UNINSURED"], "detail": ["无参保记录"]})
>>> out = apply_flag_history(flags, HistoryView.empty("县", "2026-11"), reference_date=date(2026, 11, 30))
>>> out.flags.select("status", "first_flagged").row(0)
('新增', '2026-11')
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date

import polars as pl

from fanpin_cli.fields import SECTOR_TITLES
from fanpin_cli.rows import on_rows

from .view import FLAG_FALSE, FLAG_FIXED, HistoryView

STATUS_NEW, STATUS_ONGOING, STATUS_RECURRING = "新增", "持续", "复发"
DEFAULT_EXEMPT_MONTHS = 6
DEFAULT_VERIFY_DAYS = 15
CONFIRMED_METHOD = "confirmed"
HISTORY_COLUMNS = ("status", "first_flagged", "last_verdict", "overdue")


_ROW_REF = re.compile(r"[^\s：；（，,]+ 第\d+行[，,]?")
_REVIEW_NOTE = re.compile(r"（另有待核实匹配：[^）]*）")


def evidence_text(detail: str) -> str:
    """A flag's detail reduced to its evidence: no file names or row numbers (a re-export in
    another order moves rows), no note about pending review items, items in a fixed order.

    >>> evidence_text("危房未改造：住建.xlsx 第9行，鉴定等级：D级；住建.xlsx 第3行，鉴定等级：C级")
    '危房未改造：鉴定等级：C级；鉴定等级：D级'
    """
    text = _REVIEW_NOTE.sub("", _ROW_REF.sub("", detail))
    head, sep, rest = text.partition("：")
    return head + sep + "；".join(sorted(rest.split("；")))


# The same patterns for polars' (Rust) regex, made from them: Python's `\s` on text also takes
# the separators \x1c–\x1f, which Unicode's White_Space (Rust's `\s`) does not.
_ROW_REF_RS = _ROW_REF.pattern.replace(r"\s", r"\s\x1c-\x1f")
_REVIEW_NOTE_RS = _REVIEW_NOTE.pattern


def evidence_texts(texts: pl.Series) -> pl.Series:
    """`evidence_text` of every value, by polars (no Python per value; `evidence_text` is the
    definition, and the oracle of the property test).

    >>> evidence_texts(pl.Series(["危房未改造：住建.xlsx 第9行，鉴定等级：D级；住建.xlsx 第3行，鉴定等级：C级"])).item()
    '危房未改造：鉴定等级：C级；鉴定等级：D级'
    """
    text = pl.col("t").str.replace_all(_ROW_REF_RS, "").str.replace_all(_REVIEW_NOTE_RS, "")
    parts = text.str.splitn("：", 2)
    head, rest = parts.struct.field("field_0"), parts.struct.field("field_1")
    items = rest.str.split("；").list.sort().list.join("；")
    out = pl.when(rest.is_null()).then(head).otherwise(pl.concat_str(head, pl.lit("："), items))
    return texts.to_frame("t").select(out.alias(texts.name)).to_series()


def evidence_key(flags: pl.DataFrame) -> pl.Series:
    """A fingerprint of each flag's evidence (rule, sector and `evidence_text` of the detail):
    it changes when what the rule saw changes (amounts, statuses, dates), not when files are
    re-ordered.

    >>> evidence_key(pl.DataFrame({"rule_id": ["R"], "detail": ["x"]})).str.len_chars().item()
    16
    """
    parts = [pl.col(c).cast(pl.String).fill_null("") for c in ("rule_id", "sector", "detail") if c in flags.columns]
    if not parts:
        return pl.Series("evidence_key", [None] * flags.height, dtype=pl.String)
    text = flags.select(pl.concat_str(parts, separator="\x1f").alias("t"))["t"]
    distinct = text.unique()
    table = {v: hashlib.sha256(e.encode("utf-8")).hexdigest()[:16]
             for v, e in zip(distinct.to_list(), evidence_texts(distinct).to_list(), strict=True)}
    return text.replace_strict(table, return_dtype=pl.String).alias("evidence_key")


def with_evidence_key(flags: pl.DataFrame) -> pl.DataFrame:
    """`flags` with an `evidence_key` column (values already there are kept)."""
    if "evidence_key" in flags.columns and flags["evidence_key"].null_count() == 0:
        return flags
    computed = evidence_key(flags)
    if "evidence_key" not in flags.columns:
        return flags.with_columns(computed)
    return flags.with_columns(pl.coalesce(pl.col("evidence_key"), computed).alias("evidence_key"))


def _roster_row(frame: pl.DataFrame) -> pl.Expr:
    """A roster frame's row number: `roster_row`, or the roster's own `source_row`."""
    return pl.col("roster_row" if "roster_row" in frame.columns else "source_row").cast(pl.Int64)


def person_identity(roster: pl.DataFrame) -> pl.Expr:
    """Who a roster person is across months: the keyed hash of the ID (`person_key`), else —
    for a person without a usable ID — the roster row's own `record_key` (as review keys do)."""
    if "record_key" in roster.columns:
        return pl.coalesce("person_key", "record_key")
    return pl.col("person_key")


def apply_link_verdicts(links: pl.DataFrame, roster: pl.DataFrame, view: HistoryView) -> pl.DataFrame:
    """Links after the villages' answers on the review queue: a row confirmed 是同一人 links to
    that roster person (`match_method = confirmed`); a review candidate answered 不是同一人 is
    dropped (the row becomes unlinked, its reason says why). Same rows, same order.

    `roster`: the roster persons — `roster_row` (or `source_row`), `person_key`, `household_id`."""
    if links.height == 0 or "record_key" not in links.columns or "person_key" not in roster.columns:
        return links
    # Only the rows a verdict names change: the joins below run on those, not on every row
    # (the 1M-row file at 50,000 households), and their new values are written back in place.
    named = pl.concat([view.confirmed_pairs["record_key"], view.rejected_pairs["record_key"]])
    hit = links["record_key"].is_in(named.implode()).fill_null(False)
    unchanged = links.with_columns(pl.col("match_score").cast(pl.Float64))
    if not hit.any():
        return unchanged
    changed = ("roster_row", "household_id", "match_status", "match_method", "match_score", "reason")
    return on_rows(unchanged, hit, lambda part: _verdicts_applied(part, roster, view).select(changed))


def _verdicts_applied(links: pl.DataFrame, roster: pl.DataFrame, view: HistoryView) -> pl.DataFrame:
    """`apply_link_verdicts` on rows that verdicts name (same rows, same order)."""
    persons = roster.select(
        _roster_row(roster).alias("_row"), person_identity(roster).alias("_pk"),
        (pl.col("household_id") if "household_id" in roster.columns else pl.lit(None, pl.String)).alias("_hh"),
    ).filter(pl.col("_pk").is_not_null())
    # Every roster row is a candidate (two rows may share an ID: a roster fault); a confirmed
    # pair links to the first row of its person.
    cand = persons.select(pl.col("_row").alias("roster_row"), pl.col("_pk").alias("_cand"))
    persons = persons.unique("_pk", keep="first", maintain_order=True)
    confirmed = view.confirmed_pairs.unique("record_key", keep="first").join(
        persons, left_on="person_key", right_on="_pk", how="inner"
    ).select("record_key", pl.col("_row").alias("_c_row"), pl.col("_hh").alias("_c_hh"),
             pl.col("verdict_date").alias("_c_date"), pl.col("file").alias("_c_file"))
    rejected = view.rejected_pairs.select(
        "record_key", pl.col("person_key").alias("_cand"), pl.col("verdict_date").alias("_r_date"),
        pl.col("file").alias("_r_file"),
    ).unique(["record_key", "_cand"], keep="first")
    out = (
        links.with_columns(pl.col("roster_row").cast(pl.Int64))
        .join(cand, on="roster_row", how="left", maintain_order="left")
        .join(confirmed, on="record_key", how="left", maintain_order="left")
        .join(rejected, on=["record_key", "_cand"], how="left", maintain_order="left")
    )
    is_confirmed = pl.col("_c_row").is_not_null() & (
        (pl.col("match_status") != "linked") | (pl.col("roster_row") == pl.col("_c_row"))
    )
    is_rejected = ~is_confirmed & pl.col("_r_date").is_not_null() & (pl.col("match_status") == "review")
    why_yes = pl.format("村（社区）核实为同一人（{}，{}）", pl.col("_c_date").cast(pl.String), pl.col("_c_file"))
    why_no = pl.format("候选人员已核实为不是同一人（{}，{}），不再提出", pl.col("_r_date").cast(pl.String),
                       pl.col("_r_file"))
    out = out.with_columns(
        pl.when(is_confirmed).then(pl.col("_c_row")).when(is_rejected).then(None)
        .otherwise(pl.col("roster_row")).alias("roster_row"),
        pl.when(is_confirmed).then(pl.col("_c_hh")).when(is_rejected).then(None)
        .otherwise(pl.col("household_id")).alias("household_id"),
        pl.when(is_confirmed).then(pl.lit("linked")).when(is_rejected).then(pl.lit("unlinked"))
        .otherwise(pl.col("match_status")).alias("match_status"),
        pl.when(is_confirmed).then(pl.lit(CONFIRMED_METHOD)).when(is_rejected).then(pl.lit("none"))
        .otherwise(pl.col("match_method")).alias("match_method"),
        pl.when(is_confirmed).then(pl.lit(100.0)).when(is_rejected).then(pl.lit(0.0))
        .otherwise(pl.col("match_score").cast(pl.Float64)).alias("match_score"),
        pl.when(is_confirmed).then(why_yes).when(is_rejected).then(why_no)
        .otherwise(pl.col("reason")).alias("reason"),
    )
    return out.select(links.columns).with_columns(pl.col("roster_row").cast(links.schema["roster_row"]))


@dataclass
class FlagHistory:
    """Flags with their history columns, the flags held back by an exemption, and the previous
    run's flags that no longer fire."""

    flags: pl.DataFrame
    exempted: pl.DataFrame
    resolved: pl.DataFrame


def _months(rule: pl.Expr, exempt_months: int | dict[str, int]) -> pl.Expr:
    if isinstance(exempt_months, int):
        return pl.lit(exempt_months)
    default = int(exempt_months.get("default", DEFAULT_EXEMPT_MONTHS))
    per_rule = {k: int(v) for k, v in exempt_months.items() if k != "default"}
    return rule.replace_strict(per_rule, default=default, return_dtype=pl.Int64) if per_rule else pl.lit(default)


def apply_flag_history(
    flags: pl.DataFrame,
    view: HistoryView,
    *,
    reference_date: date,
    exempt_months: int | dict[str, int] = DEFAULT_EXEMPT_MONTHS,
    verify_days: int = DEFAULT_VERIFY_DAYS,
    roster: pl.DataFrame | None = None,
    links: pl.DataFrame | None = None,
    missing_rules: frozenset[str] | set[str] = frozenset(),
) -> FlagHistory:
    """Apply the history to this run's `flags` (which carry `record_key`). `missing_rules`: the
    rules that fire on a missing record (a resolved one of them whose person now has a linked
    row in the rule's sector says so)."""
    # Columns this function sets may be there already (declared, empty): they are recomputed.
    flags = with_evidence_key(flags.drop(HISTORY_COLUMNS, strict=False))
    verdicts = view.verdicts.filter(pl.col("kind") == "flag").select(
        "record_key", pl.col("verdict").alias("last_verdict"), pl.col("verdict_date").alias("_v_date"),
        pl.col("file").alias("_v_file"), pl.col("evidence_key").alias("_v_evidence"),
    )
    joined = flags.join(verdicts, on="record_key", how="left", maintain_order="left").with_columns(
        pl.col("_v_date").dt.offset_by(pl.format("{}mo", _months(pl.col("rule_id"), exempt_months))).alias("exempt_until")
    )
    exempt = (
        (pl.col("last_verdict") == FLAG_FALSE)
        & (pl.col("evidence_key") == pl.col("_v_evidence"))
        & (pl.lit(reference_date) < pl.col("exempt_until"))
    ).fill_null(False)
    exempted = joined.filter(exempt).rename({"last_verdict": "verdict", "_v_date": "verdict_date",
                                             "_v_file": "verdict_file"}).drop("_v_evidence")
    shown = joined.filter(~exempt).drop("exempt_until")
    previous = view.previous_flags.select("record_key").unique().with_columns(pl.lit(True).alias("_prev"))
    first = view.first_flagged.unique("record_key")
    shown = (
        shown.join(previous, on="record_key", how="left", maintain_order="left")
        .join(first, on="record_key", how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col("_prev")).then(pl.lit(STATUS_ONGOING))
            .when(pl.col("first_flagged").is_not_null()).then(pl.lit(STATUS_RECURRING))
            .otherwise(pl.lit(STATUS_NEW)).alias("status"),
            pl.col("first_flagged").fill_null(pl.lit(view.period)),
            (
                pl.col("last_verdict").is_null()
                & ((pl.lit(reference_date) - pl.col("first_sent")).dt.total_days() > verify_days)
            ).fill_null(False).alias("overdue"),
        )
        .drop("_prev", "first_sent", "_v_date", "_v_file", "_v_evidence")
    )
    resolved = _resolved(view, flags, roster, links, verdicts, missing_rules)
    return FlagHistory(shown, exempted, resolved)


def _resolved(
    view: HistoryView,
    flags: pl.DataFrame,
    roster: pl.DataFrame | None,
    links: pl.DataFrame | None,
    verdicts: pl.DataFrame,
    missing_rules: frozenset[str] | set[str],
) -> pl.DataFrame:
    """Flags of the previous run that no longer fire (exempted ones still fire), with a reason."""
    gone = view.previous_flags.join(flags.select("record_key"), on="record_key", how="anti")
    gone = gone.join(verdicts.select("record_key", "last_verdict", "_v_date"), on="record_key", how="left")
    on_roster_p = pl.lit(True)
    on_roster_h = pl.lit(True)
    linked_now = pl.lit(False)
    if roster is not None and "person_key" in roster.columns:
        known = roster.select(person_identity(roster).alias("k"))["k"].drop_nulls()
        on_roster_p = pl.col("person_key").is_in(known.implode()) | pl.col("person_key").is_null()
    if roster is not None and "household_id" in roster.columns:
        on_roster_h = pl.col("household_id").is_in(roster["household_id"].drop_nulls().implode()) | pl.col("household_id").is_null()
    # Only the persons of gone flags of `missing_rules` are looked up among the linked rows
    # (not every link of the county joined to the roster).
    wanted = gone.filter(pl.col("rule_id").is_in(list(missing_rules)))["person_key"].drop_nulls().unique()
    if links is not None and roster is not None and "person_key" in roster.columns and links.height and wanted.len():
        persons = roster.select(_roster_row(roster).alias("roster_row"), person_identity(roster).alias("person_key"))
        persons = persons.filter(pl.col("person_key").is_in(wanted.implode()))
        pairs = links.filter(
            (pl.col("match_status") == "linked") & pl.col("roster_row").cast(pl.Int64).is_in(persons["roster_row"].implode())
        ).select("sector", "roster_row").join(
            persons, on=pl.col("roster_row").cast(pl.Int64), how="inner",
        ).select(pl.concat_str("sector", "person_key", separator="|").alias("k")).unique()["k"]
        linked_now = (pl.col("rule_id").is_in(list(missing_rules))
                      & pl.concat_str("sector", "person_key", separator="|").is_in(pairs.implode())).fill_null(False)
    sector_title = pl.col("sector").replace_strict(SECTOR_TITLES, default=pl.col("sector"), return_dtype=pl.String)
    reason = (
        pl.when(pl.col("last_verdict") == FLAG_FIXED)
        .then(pl.format("村（社区）反馈已整改（{}）", pl.col("_v_date").cast(pl.String)))
        .when(~on_roster_h).then(pl.lit("该户已不在监测对象名单"))
        .when(~on_roster_p).then(pl.lit("该人员已不在监测对象名单"))
        .when(linked_now).then(pl.format("本月{}数据已有该人员的关联记录", sector_title))
        .otherwise(pl.lit("本月数据不再满足预警条件"))
    )
    return gone.with_columns(reason.alias("resolved_reason")).drop("last_verdict", "_v_date")
