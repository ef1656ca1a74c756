"""The generic rule kinds (`KINDS`): each is one `Kind` declaration holding the YAML keys and
scopes it takes, the detail placeholders it fills, and its evaluation. An evaluation takes a
Rule, its effective parameters and the Context and returns its hits as a lazy query (the engine
collects every rule's together, `engine._evaluate_view`): the flag columns
(`household_id, township, village, roster_row, person_name, source_file, source_row`) plus
`_ph_<name>` text columns for the detail placeholders it provides. No kind knows any sector's
vocabulary: that lives in the YAML.

>>> sorted(KINDS["amount_sum"].required)
['amount', 'min_total', 'sector']
>>> [k.name for k in KINDS.values() if k.absence]
['missing_linked', 'household_all']
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from fanpin_cli.evidence import LINKED
from fanpin_cli.evidence import rows as evidence_rows
from fanpin_cli.fields import HOUSEHOLD_FIELDS
from fanpin_cli.flagging.exprs import (
    all_conditions,
    column,
    item_expr,
    joined_items,
    kept,
    money,
    param_text,
    resolve,
    window_bounds,
    window_mask,
)
from fanpin_cli.flagging.model import ROSTER_VIRTUAL, Condition, Rule
from fanpin_cli.tables import C, columns_of
from fanpin_cli.values import parsed_date_name

OUT_COLS: tuple[str, ...] = (
    "household_id", "township", "village", "roster_row", "person_name", "source_file", "source_row",
)
_PERSON_COLS = ["_roster_row", "_hh", "_township", "_village", "_person_name", "_age", "_id_shared", "_head_rank"]


@dataclass
class Context:
    """The roster and evidence prepared once for all rules."""

    persons: pl.DataFrame  # roster + _roster_row, _hh, _township, _village, _person_name, _age
    households: pl.DataFrame  # _hh, _township, _village, _head_name, _members
    evidence: dict[str, pl.DataFrame]
    reference_date: date
    fields: frozenset[str] | None = None  # the sector fields the rules read (None: every column)
    _rows: dict[tuple[str, str], pl.DataFrame] = field(default_factory=dict, repr=False)

    def has(self, sector: str) -> bool:
        return sector == "roster" or sector in self.evidence

    def rows(self, sector: str, status: str = LINKED) -> pl.DataFrame:
        """Evidence rows of `sector` in link state `status` (`fanpin_cli.evidence`) that point
        at a roster person, with that person's household and place (from the roster) attached;
        made once per sector and state, shared by every rule that reads them."""
        if (sector, status) not in self._rows:
            self._rows[sector, status] = self._join_rows(sector, status)
        return self._rows[sector, status]

    def _join_rows(self, sector: str, status: str) -> pl.DataFrame:
        frame = self.evidence.get(sector)
        if frame is None or frame.height == 0 or C.match_status not in frame.columns:
            return _empty_evidence(self.persons.select(_PERSON_COLS))
        people = self.persons.lazy().select(_PERSON_COLS)
        query = frame.lazy()
        if self.fields is not None:  # a sector is wide and long: only what the rules read is kept
            query = query.select([c for c in frame.columns if c in self.fields or c in _ROW_BASE])
        query = evidence_rows(query, status).with_columns(pl.col("roster_row").cast(pl.Int64).alias("_roster_row"))
        return query.join(people, on="_roster_row", how="inner").collect(engine="in-memory")


_ROW_BASE = frozenset({"source_file", "source_row", C.roster_row, C.match_status})


def evidence_fields(rules: list[Rule]) -> frozenset[str]:
    """Every field of a sector's rows that `rules` read: filters (their exemptions' too),
    window date, amount, fields shown and detail placeholders.

    >>> from fanpin_cli.flagging import bundled_rule
    >>> sorted(evidence_fields([bundled_rule("MED_HIGH_OOP")]))[:4]
    ['count', 'oop_line', 'out_of_pocket', 'rows']
    """
    found: set[str] = set()
    for rule in rules:
        conds = [*rule.where, *(c for e in rule.exempt_if_linked for c in e.where)]
        if rule.none_linked is not None:
            conds += rule.none_linked.where
        for cond in conds:
            found.update(cond.fields())
        found.update(f for f in (rule.window.date if rule.window else None, rule.amount) if f)
        if rule.window:  # the window's dates as `prepare` parsed them
            found.add(parsed_date_name(rule.window.date))
        found.update(rule.show)
        found.update(name for _, name, _, _ in string.Formatter().parse(rule.detail or "") if name)
    return frozenset(found)


def _empty_evidence(people: pl.DataFrame) -> pl.DataFrame:
    base = pl.DataFrame(schema={"source_file": pl.String, "source_row": pl.Int64, C.match_status: pl.String})
    return pl.concat([base, people.clear()], how="horizontal")


def _show(rule: Rule) -> list[str]:
    """Fields shown in each evidence item: the rule's `show`, else the fields it filters on."""
    if rule.show:
        return list(rule.show)
    fields: list[str] = []
    for cond in rule.where:
        fields += cond.fields()
    if rule.window:
        fields.append(rule.window.date)
    if rule.amount:
        fields.append(rule.amount)
    return list(dict.fromkeys(f for f in fields if f not in ROSTER_VIRTUAL))


def _filtered(rule: Rule, params: dict, ctx: Context, frame: pl.DataFrame, where=None) -> pl.LazyFrame:
    """The rows of `frame` (evidence rows, made: the conditions are worked out on its values)
    that pass the rule's `where` (or `where`), its window and its `roster_where`."""
    conds = rule.where if where is None else where
    mask = all_conditions(conds, params, frame)
    if rule.window is not None:
        mask = mask & pl.lit(window_mask(frame, rule.window, params, ctx.reference_date))
    rows = kept(frame, mask)
    if rule.roster_where and rule.kind != "missing_linked":
        rows = rows.join(_roster_ok(rule.roster_where, params, ctx), on="_roster_row", how="semi")
    return rows


def _roster_ok(conds: tuple[Condition, ...], params: dict, ctx: Context) -> pl.LazyFrame:
    p = ctx.persons
    return kept(p, all_conditions(conds, params, p)).select("_roster_row")


def _window_placeholders(rule: Rule, params: dict, ctx: Context) -> list[pl.Expr]:
    if rule.window is None:
        return []
    first, last = window_bounds(rule.window, params, ctx.reference_date)
    return [
        pl.lit(first.isoformat()).alias("_ph_window_start"),
        pl.lit(last.isoformat()).alias("_ph_window_end"),
        pl.lit(str(int(resolve(rule.window.days, params)))).alias("_ph_window_days"),
    ]


def _sorted(frame: pl.LazyFrame) -> pl.LazyFrame:
    return frame.sort(["_head_rank", "_roster_row", "source_file", "source_row"], nulls_last=True)


def _group(rule: Rule, frame: pl.LazyFrame, extra: list[pl.Expr] | None = None) -> pl.LazyFrame:
    """Group evidence rows per person or household: first row's file/row/fields, the list
    of items, counts."""
    household = rule.scope == "household"
    key = "_hh" if household else "_roster_row"
    cols = columns_of(frame)
    if household:
        frame = frame.filter(pl.col("_hh").is_not_null())
    frame = _sorted(frame).with_columns(item_expr(_show(rule), cols, with_name=household).alias("_item"))
    firsts = [c for c in cols if c not in (key, "_item")]
    grouped = frame.group_by(key, maintain_order=True).agg(
        [pl.col(c).first() for c in firsts]
        + [
            joined_items(pl.col("_item")).alias("_ph_rows"),
            pl.len().cast(pl.String).alias("_ph_count"),
            pl.col("_roster_row").n_unique().alias("_members_n"),
        ]
        + (extra or [])
    )
    return grouped.with_columns(pl.col("_members_n").cast(pl.String).alias("_ph_members"))


def _out(rule: Rule, frame: pl.LazyFrame, ctx: Context) -> pl.LazyFrame:
    """Select the flag columns (household rules: no roster_row, the household head's name
    unless the evidence names a member)."""
    household = rule.scope == "household"
    if household:
        frame = frame.join(ctx.households.lazy().select("_hh", "_head_name"), on="_hh", how="left")
    cols = columns_of(frame)
    if household:
        name = pl.coalesce(pl.col("_person_name"), pl.col("_head_name")) if "_person_name" in cols else pl.col("_head_name")
        roster_row = pl.lit(None, dtype=pl.Int64)
    else:
        name = pl.col("_person_name")
        roster_row = pl.col("_roster_row").cast(pl.Int64)
    src_file = pl.col("source_file").cast(pl.String) if "source_file" in cols else pl.lit(None, dtype=pl.String)
    src_row = pl.col("source_row").cast(pl.Int64) if "source_row" in cols else pl.lit(None, dtype=pl.Int64)
    return frame.with_columns(
        pl.col("_hh").cast(pl.String).alias("household_id"),
        pl.col("_township").cast(pl.String).alias("township"),
        pl.col("_village").cast(pl.String).alias("village"),
        roster_row.alias("roster_row"),
        name.cast(pl.String).alias("person_name"),
        src_file.alias("source_file"),
        src_row.alias("source_row"),
    )


def _no_hits() -> pl.LazyFrame:
    """A kind's hits when there is nothing to evaluate: the flag columns, no row."""
    return pl.LazyFrame(schema={"household_id": pl.String, "township": pl.String, "village": pl.String,
                                "roster_row": pl.Int64, "person_name": pl.String, "source_file": pl.String,
                                "source_row": pl.Int64})


# -- kinds ------------------------------------------------------------------------------
# Each returns its hits as one lazy query (collected with every other rule's by the engine):
# the conditions are worked out on the made frames they read (the roster persons, a sector's
# linked or review rows), every later step is a step of the query.


def missing_linked(rule: Rule, params: dict, ctx: Context) -> pl.LazyFrame:
    p = ctx.persons
    base = kept(p, all_conditions(rule.roster_where, params, p))
    linked = ctx.rows(rule.sector)
    hits = _filtered(rule, params, ctx, linked).select("_roster_row").unique()
    base = base.join(hits, on="_roster_row", how="anti")
    exempt_review = []
    for ex in rule.exempt_if_linked:
        if not ctx.has(ex.sector):
            continue
        rows = ctx.rows(ex.sector)
        base = base.join(kept(rows, all_conditions(ex.where, params, rows)).select("_roster_row").unique(),
                         on="_roster_row", how="anti")
        pending = ctx.rows(ex.sector, "review")
        exempt_review.append(kept(pending, all_conditions(ex.where, params, pending))
                             .with_columns(item_expr([], pending.columns).alias("_item"))
                             .select("_roster_row", "source_file", "source_row", "_item"))
    show = _show(rule)
    keys = base.select("_roster_row")
    # Linked rows that exist but do not qualify: named in the detail, first one is the evidence row.
    other = _sorted(linked.lazy().join(keys, on="_roster_row", how="semi"))
    other = other.with_columns(item_expr(show, linked.columns).alias("_item")).group_by(
        "_roster_row", maintain_order=True
    ).agg(
        pl.col("source_file").first().alias("_ev_file"),
        pl.col("source_row").first().cast(pl.Int64).alias("_ev_row"),
        joined_items(pl.col("_item")).alias("_other"),
    )
    # Review rows that would qualify if a person confirms them: listed, never used.
    waiting = ctx.rows(rule.sector, "review")
    review = _sorted(_filtered(rule, params, ctx, waiting).join(keys, on="_roster_row", how="semi"))
    review = review.with_columns(item_expr(show, waiting.columns).alias("_item")).select(
        "_roster_row", "source_file", "source_row", "_item"
    )
    # Review rows of an exemption sector (e.g. a 公安 row that may be this person) are named too.
    review = pl.concat([review, *[e.join(keys, on="_roster_row", how="semi") for e in exempt_review]], how="vertical_relaxed")
    review = review.group_by("_roster_row", maintain_order=True).agg(joined_items(pl.col("_item")).alias("_review"))
    out = base.join(other, on="_roster_row", how="left").join(review, on="_roster_row", how="left")
    note = pl.concat_str(
        [
            pl.when(pl.col("_other").is_not_null()).then(
                pl.lit("（已关联但不符合条件：") + pl.col("_other") + pl.lit("）")
            ).otherwise(pl.lit("")),
            pl.when(pl.col("_review").is_not_null()).then(
                pl.lit("（另有待核实匹配：") + pl.col("_review") + pl.lit("，人工确认后本条可能不成立）")
            ).otherwise(pl.lit("")),
        ]
    )
    out = out.with_columns(
        note.alias("_ph_note"),
        pl.col("_other").fill_null("").alias("_ph_rows"),
        pl.col("_age").cast(pl.String).fill_null("?").alias("_ph_age"),
        pl.col("_ev_file").alias("source_file"),
        pl.col("_ev_row").alias("source_row"),
    )
    return _out(rule, out, ctx)


def amount_sum(rule: Rule, params: dict, ctx: Context) -> pl.LazyFrame:
    linked = ctx.rows(rule.sector)
    rows = _filtered(rule, params, ctx, linked)
    amount = column(rule.amount, linked.columns)
    from fanpin_cli.values import parse_amount

    rows = rows.with_columns(parse_amount(amount).alias("_amount")).filter(pl.col("_amount").is_not_null())
    threshold = float(resolve(rule.min_total, params))
    # Only the persons (households) whose total can reach the line have their items built (a
    # cent below it kept: the exact sum and test are _group's, in its order of rows).
    key = "_hh" if rule.scope == "household" else "_roster_row"
    near = rows.group_by(key).agg(pl.col("_amount").sum().alias("_near")).filter(pl.col("_near") >= threshold - 0.01)
    rows = rows.join(near.select(key), on=key, how="semi", nulls_equal=True)
    grouped = _group(rule, rows, [pl.col("_amount").sum().alias("_total")])
    grouped = grouped.filter(pl.col("_total") >= threshold)
    grouped = grouped.with_columns(
        money(pl.col("_total")).alias("_ph_total"),
        pl.lit(param_text(threshold)).alias("_ph_threshold"),
        pl.lit(str(ctx.reference_date.year)).alias("_ph_year"),
        *_window_placeholders(rule, params, ctx),
    )
    return _out(rule, grouped, ctx)


def linked_match(rule: Rule, params: dict, ctx: Context) -> pl.LazyFrame:
    rows = _filtered(rule, params, ctx, ctx.rows(rule.sector))
    grouped = _group(rule, rows).with_columns(
        pl.col("_age").cast(pl.String).fill_null("?").alias("_ph_age"),
        *_window_placeholders(rule, params, ctx),
    )
    return _out(rule, grouped, ctx)


def linked_count(rule: Rule, params: dict, ctx: Context) -> pl.LazyFrame:
    rows = _filtered(rule, params, ctx, ctx.rows(rule.sector))
    grouped = _group(rule, rows)
    grouped = grouped.filter(pl.col("_members_n") >= int(resolve(rule.min_members, params)))
    grouped = grouped.with_columns(pl.col("_ph_members").alias("_ph_count"), *_window_placeholders(rule, params, ctx))
    return _out(rule, grouped, ctx)


def household_all(rule: Rule, params: dict, ctx: Context) -> pl.LazyFrame:
    p = ctx.persons.lazy().with_columns(all_conditions(rule.roster_where, params, ctx.persons).alias("_ok"))
    hh = p.group_by("_hh").agg(pl.col("_ok").all().alias("_all")).filter(pl.col("_all") & pl.col("_hh").is_not_null())
    ex = rule.none_linked
    linked = ctx.rows(ex.sector)
    covered = kept(linked, all_conditions(ex.where, params, linked)).select("_hh").unique()
    hh = hh.join(covered, on="_hh", how="anti")
    members = _sorted(p.join(hh.select("_hh"), on="_hh", how="semi").with_columns(
        pl.col("_roster_row").alias("source_row")
    ))
    cols = columns_of(members)
    show = list(rule.show) or list(dict.fromkeys(f for c in rule.roster_where for f in c.fields() if f not in ROSTER_VIRTUAL))
    members = members.with_columns(item_expr(show, cols, with_name=True).alias("_item"))
    grouped = members.group_by("_hh", maintain_order=True).agg(
        pl.col("_township").first(),
        pl.col("_village").first(),
        pl.col("source_file").first() if "source_file" in cols else pl.lit(None, dtype=pl.String).alias("source_file"),
        pl.col("source_row").first(),
        *[pl.col(c).first() for c in _roster_fields(cols) if c not in ("source_file", "source_row")],
        joined_items(pl.col("_item"), limit=8).alias("_ph_rows"),
        pl.len().cast(pl.String).alias("_ph_count"),
    ).with_columns(pl.col("_ph_count").alias("_ph_members"))
    # Linked rows of the sector that do not qualify (e.g. 停保): named in the detail.
    other = _sorted(linked.lazy().join(grouped.select("_hh"), on="_hh", how="semi"))
    other_show = list(dict.fromkeys(f for c in ex.where for f in c.fields()))
    other = other.with_columns(item_expr(other_show, linked.columns, with_name=True).alias("_item")).group_by(
        "_hh", maintain_order=True
    ).agg(joined_items(pl.col("_item")).alias("_other"))
    # Review rows that would cover the household if a person confirms them: named, never used.
    waiting = ctx.rows(ex.sector, "review")
    pending = _sorted(kept(waiting, all_conditions(ex.where, params, waiting)).join(grouped.select("_hh"), on="_hh", how="semi"))
    pending = pending.with_columns(item_expr(other_show, waiting.columns, with_name=True).alias("_item")).group_by(
        "_hh", maintain_order=True
    ).agg(joined_items(pl.col("_item")).alias("_review"))
    grouped = grouped.join(other, on="_hh", how="left").join(pending, on="_hh", how="left").with_columns(
        pl.concat_str(
            pl.when(pl.col("_other").is_not_null())
            .then(pl.lit("（已关联但不符合条件：") + pl.col("_other") + pl.lit("）"))
            .otherwise(pl.lit("")),
            pl.when(pl.col("_review").is_not_null())
            .then(pl.lit("（另有待核实匹配：") + pl.col("_review") + pl.lit("，人工确认后本条可能不成立）"))
            .otherwise(pl.lit("")),
        ).alias("_ph_note"),
        pl.lit(None, dtype=pl.String).alias("_person_name"),
    )
    # The evidence row of a roster-based household flag is the roster row of its first member:
    # keep source_file/source_row pointing at the roster.
    return _out(rule, grouped, ctx)


def _roster_fields(columns: list[str]) -> list[str]:
    return [c for c in columns if not c.startswith("_")]


def unlinked_row(rule: Rule, params: dict, ctx: Context) -> pl.LazyFrame:
    frame = ctx.evidence.get(rule.sector)
    if frame is None or frame.height == 0:
        return _no_hits()
    cols = frame.columns
    mask = pl.col(C.match_status).is_in(list(rule.status)) & all_conditions(rule.where, params, frame)
    if C.rejected in cols:
        mask = mask & ~pl.col(C.rejected).fill_null(False)
    rows = kept(frame, mask).sort(["source_file", "source_row"])
    return rows.with_columns(
        pl.lit(None, dtype=pl.String).alias("household_id"),
        column("township", cols).cast(pl.String).alias("township"),
        column("village", cols).cast(pl.String).alias("village"),
        pl.lit(None, dtype=pl.Int64).alias("roster_row"),
        column("name", cols).cast(pl.String).alias("person_name"),
        pl.col("source_row").cast(pl.Int64),
        # a review row may be a roster person: said in the detail (the flag is pending_review)
        pl.concat_str(item_expr(_show(rule), cols), pl.when(pl.col(C.match_status) == "review")
                      .then(pl.lit("（另有待核实匹配：该行可能是名单内人员，人工确认后本条可能不成立）"))
                      .otherwise(pl.lit(""))).alias("_ph_rows"),
        pl.col(C.match_status).alias("_ph_status"),
    )


def roster_match(rule: Rule, params: dict, ctx: Context) -> pl.LazyFrame:
    p = ctx.persons
    # household facts left empty on members' rows: the household's (a column without a null needs none)
    gaps = [f for f in HOUSEHOLD_FIELDS if f in p.columns and p.get_column(f).null_count()]
    if rule.scope == "household" and gaps:
        p = p.with_columns(
            pl.col(f).fill_null(pl.col(f).sort_by("_head_rank").drop_nulls().first().over("_hh")) for f in gaps
        )
    rows = kept(p, all_conditions(rule.roster_where, params, p)).with_columns(
        pl.col("_roster_row").alias("source_row")
    )
    show = list(rule.show) or list(dict.fromkeys(f for c in rule.roster_where for f in c.fields() if f not in ROSTER_VIRTUAL))
    if "source_file" not in p.columns:
        rows = rows.with_columns(pl.lit(None, dtype=pl.String).alias("source_file"))
    household = rule.scope == "household"
    if household:
        rows = rows.filter(pl.col("_hh").is_not_null())
    cols = columns_of(rows)
    rows = _sorted(rows).with_columns(item_expr(show, cols, with_name=household).alias("_item"))
    key = "_hh" if household else "_roster_row"
    firsts = [c for c in cols if c not in (key, "_item")]
    grouped = rows.group_by(key, maintain_order=True).agg(
        [pl.col(c).first() for c in firsts]
        + [joined_items(pl.col("_item")).alias("_ph_rows"), pl.len().cast(pl.String).alias("_ph_count")]
    ).with_columns(
        pl.col("_ph_count").alias("_ph_members"),
        pl.col("_age").cast(pl.String).fill_null("?").alias("_ph_age"),
    )
    if household:
        grouped = grouped.with_columns(pl.lit(None, dtype=pl.String).alias("_person_name"))
    return _out(rule, grouped, ctx)


@dataclass(frozen=True)
class Kind:
    """One rule kind, declared once: the YAML keys it takes (beyond the common ones) and the
    scopes it allows (checked by `loader`), the detail placeholders it fills (`_ph_<name>`
    columns of its hits), and its evaluation (rule, effective parameters, Context → hits).

    `about_roster`: the flag is about a roster person or household (the template may name roster
    fields, else the sector's); `shows_roster`: its evidence items list roster fields;
    `absence`: it fires because no qualifying linked row was found, so it proves nothing about
    a roster person whose own ID cannot be searched for (`engine._unsearchable`);
    `absent_from_sector`: the rows it finds missing are its own `sector`'s (matching `where`),
    besides those its exemptions and `none_linked` name (`absence_sources`)."""

    name: str
    description: str
    scopes: tuple[str, ...]
    required: tuple[str, ...]
    optional: tuple[str, ...]
    placeholders: tuple[str, ...]
    evaluate: Callable[[Rule, dict, Context], pl.LazyFrame]
    about_roster: bool = False
    shows_roster: bool = False
    absence: bool = False
    absent_from_sector: bool = False

    def absence_sources(self, rule: Rule) -> list[tuple[str, tuple[Condition, ...]]]:
        """(sector, `where`) of every kind of row whose absence makes the rule fire: an
        unresolved row there may be the missing one (`unresolved.possible_records`).

        >>> from fanpin_cli.flagging import bundled_rule
        >>> [s for s, _ in KINDS["missing_linked"].absence_sources(bundled_rule("MED_UNINSURED"))]
        ['medical_enrollment', 'police']
        """
        found: list[tuple[str, tuple[Condition, ...]]] = []
        if self.absent_from_sector and rule.sector:
            found.append((rule.sector, rule.where))
        found += [(e.sector, e.where) for e in rule.exempt_if_linked]
        if rule.none_linked is not None:
            found.append((rule.none_linked.sector, rule.none_linked.where))
        return found


_WINDOW_PH = ("window_start", "window_end", "window_days")

KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("missing_linked", "roster person with no linked row of `sector` matching `where` (exempt if linked elsewhere)",
         scopes=("person",), required=("sector",), optional=("where", "roster_where", "exempt_if_linked", "show"),
         placeholders=("age", "note", "rows"), evaluate=missing_linked, about_roster=True, absence=True,
         absent_from_sector=True),
    Kind("amount_sum", "sum of `amount` over linked rows matching `where` in `window` ≥ `min_total`",
         scopes=("person", "household"), required=("sector", "amount", "min_total"), optional=("where", "window", "show"),
         placeholders=("total", "threshold", "count", "members", "rows", *_WINDOW_PH, "year"), evaluate=amount_sum),
    Kind("linked_match", "person / household with a member linked to a row matching `where` (in `window`)",
         scopes=("person", "household"), required=("sector",), optional=("where", "window", "roster_where", "show"),
         placeholders=("rows", "count", "members", *_WINDOW_PH, "age"), evaluate=linked_match),
    Kind("linked_count", "household with ≥ `min_members` members linked to rows matching `where`",
         scopes=("household",), required=("sector", "min_members"), optional=("where", "window", "show"),
         placeholders=("rows", "count", "members", *_WINDOW_PH), evaluate=linked_count),
    Kind("household_all", "household whose every member matches `roster_where` and none is linked to `none_linked`",
         scopes=("household",), required=("roster_where", "none_linked"), optional=("show",),
         placeholders=("rows", "count", "members", "note"), evaluate=household_all,
         about_roster=True, shows_roster=True, absence=True),
    Kind("unlinked_row", "extract row of `sector` matching `where` whose match_status is in `status` (default unlinked)",
         scopes=("row",), required=("sector",), optional=("where", "status", "show"),
         placeholders=("rows", "status"), evaluate=unlinked_row),
    Kind("roster_match", "roster rows matching `roster_where` (household scope: any member row)",
         scopes=("person", "household"), required=("roster_where",), optional=("show",),
         placeholders=("rows", "count", "members", "age"), evaluate=roster_match, about_roster=True, shows_roster=True),
)}
