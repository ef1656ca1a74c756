"""Evaluate rules over the roster and the linked sector evidence → `flags` frame.

Only linked rows are evidence (`fanpin_cli.evidence`; CIV_CANDIDATE-style rules read
`unlinked` rows explicitly). Pending review rows are never evidence, but the rules are also
evaluated as if every pending review item were accepted: a flag that exists in only one of
the two views gets `evidence_status = "pending_review"` (a flag that accepting would clear, or
one it would create), every other flag `confirmed`. Ages and date windows are computed at
`reference_date`. A flag that fires for lack of a record is `pending_review` too while an
unresolved row whose ID a spreadsheet held as a number may be that record
(`flagging.unresolved`). A rule whose sector was not supplied (no such key in `evidence`) is
skipped: `skipped_rules` lists them.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import date

import polars as pl

from fanpin_cli.domain import head_rank_of
from fanpin_cli.evidence import LINKED, accepted, has_pending, pending
from fanpin_cli.fields import SECTOR_TITLES
from fanpin_cli.flagging.exprs import EMPTY_SHOWN, param_text
from fanpin_cli.flagging.kinds import KINDS, Context, evidence_fields
from fanpin_cli.flagging.model import Rule, effective_parameters, enabled_rules
from fanpin_cli.flagging.unresolved import possible_records
from fanpin_cli.idnum import age_at
from fanpin_cli.tables import C

FLAG_COLUMNS: tuple[str, ...] = (
    "household_id", "township", "village", "rule_id", "level", "roster_row", "person_name",
    "sector", "source_file", "source_row", "detail", "title", "evidence_status",
)
FLAG_SCHEMA: dict[str, pl.DataType] = {
    "household_id": pl.String, "township": pl.String, "village": pl.String, "rule_id": pl.String,
    "level": pl.String, "roster_row": pl.Int64, "person_name": pl.String, "sector": pl.String,
    "source_file": pl.String, "source_row": pl.Int64, "detail": pl.String, "title": pl.String,
    "evidence_status": pl.String,
}
# What a flag is, for comparing the two views: rule + person, else household, else extract row.
_FLAG_KEY = pl.concat_str(
    pl.col("rule_id"),
    pl.coalesce(
        pl.format("r{}", pl.col("roster_row")),
        pl.format("h{}", pl.col("household_id")),
        pl.format("s{}#{}", pl.col("source_file"), pl.col("source_row")),
    ),
    separator="|",
)
CREATED_NOTE = "【待核实匹配确认后成立】"
UNSEARCHABLE_NOTE = "（系统中此人证件号码缺失、无效或与他人重复，无法按证件号码比对，更正证件号码后确定）"
# Rule kinds that fire because no qualifying linked row was found.
ABSENCE_KINDS: tuple[str, ...] = tuple(k.name for k in KINDS.values() if k.absence)


def empty_flags() -> pl.DataFrame:
    return pl.DataFrame(schema=FLAG_SCHEMA)


def build_context(roster: pl.DataFrame, evidence: dict[str, pl.DataFrame], reference_date: date,
                  fields: frozenset[str] | None = None, *, people: People | None = None) -> Context:
    """Roster persons with the engine's helper columns, household heads, evidence by sector
    (`fields`: the only sector fields the rules read, `kinds.evidence_fields`; `people`: what
    `People.of` made of this roster at this date, for a second view of the same roster)."""
    people = people or People.of(roster, reference_date)
    persons = people.persons
    # A shared ID still dates the row that sector rows carrying that very ID are linked to.
    owners = _id_owners(persons, evidence)
    shared = pl.col("_id_shared") & ~pl.col("_roster_row").is_in(owners.implode())
    persons = persons.with_columns(
        pl.when(shared).then(pl.lit("是")).otherwise(pl.lit("否")).alias("_id_shared"),
        (shared | pl.col("id18").is_null()).alias("_unsearchable"),
    )
    households = people.households
    persons = persons.join(households.select("_hh", "_township", "_village"), on="_hh", how="left")
    return Context(persons=persons, households=households, evidence=dict(evidence), reference_date=reference_date,
                   fields=fields)


@dataclass(frozen=True)
class People:
    """What `build_context` makes of the roster alone, whatever the evidence: the persons with
    the engine's helper columns (`_id_shared` still a Boolean: the ID is held by more than one
    person) and the households with their heads. `evaluate` makes it once for both its views.

    >>> people = People.of(pl.DataFrame({"source_row": [2, 3], "household_id": ["H", "H"], "name": ["甲", "乙"],
    ...                                  "relation": ["户主", "之子"]}), date(2026, 11, 30))
    >>> people.households.select("_hh", "_head_name", "_members").rows()
    [('H', '甲', 2)]
    """

    persons: pl.DataFrame
    households: pl.DataFrame

    @classmethod
    def of(cls, roster: pl.DataFrame, reference_date: date) -> People:
        # Columns the engine reads that an unprepared roster may lack.
        roster = roster.with_columns(
            [pl.lit(None, dtype=pl.String).alias(c) for c in ("id18", "name_key") if c not in roster.columns]
        )
        cols = roster.columns

        def col(name: str, dtype=pl.String) -> pl.Expr:
            return pl.col(name) if name in cols else pl.lit(None, dtype=dtype)

        if "roster_row" in cols:
            row = pl.col("roster_row")
        else:
            row = pl.col("source_row")
        born_id = col("id_birth", pl.Date)
        born_any = col("birth_any", pl.Date)
        persons = roster.with_columns(
            row.cast(pl.Int64).alias("_roster_row"),
            col("household_id").cast(pl.String).alias("_hh"),
            col("name").cast(pl.String).alias("_person_name"),
            pl.coalesce(age_at(born_id, reference_date), age_at(born_any, reference_date),
                        col("id_age", pl.Int32)).alias("_age"),
            head_rank_of(roster).alias("_head_rank"),
            (col("id18").is_not_null() & (col("name_key").n_unique().over(col("id18")) > 1)).alias("_id_shared"),
        )
        households = (
            # only the columns it reads are sorted (the persons frame is the whole roster, ~40 columns)
            persons.select("_hh", "_head_rank", "_roster_row", "_person_name",
                           col("township").cast(pl.String).alias("__t"), col("village").cast(pl.String).alias("__v"))
            .sort(["_head_rank", "_roster_row"])
            .group_by("_hh", maintain_order=True)
            .agg(
                pl.col("__t").drop_nulls().first().alias("_township"),
                pl.col("__v").drop_nulls().first().alias("_village"),
                pl.col("_person_name").first().alias("_head_name"),
                pl.col("_roster_row").first().alias("_head_row"),
                pl.len().alias("_members"),
            )
        )
        return cls(persons, households)


def _id_owners(persons: pl.DataFrame, evidence: dict[str, pl.DataFrame]) -> pl.Series:
    """Roster rows that a linked extract row carrying the same usable ID points at."""
    shared = persons.filter(pl.col("_id_shared")).select("_roster_row", pl.col("id18").alias("_id18"))
    found = [pl.Series("_roster_row", [], dtype=pl.Int64)]
    if shared.height:
        rows = shared["_roster_row"].unique().implode()
        for frame in evidence.values():
            if "id18" not in frame.columns or C.match_status not in frame.columns or "roster_row" not in frame.columns:
                continue
            # the three columns it reads; the rows linked to a person whose ID is shared (a test
            # on integers) before the (row, ID) pairs (a sector is wide and long, shared IDs few)
            row = pl.col("roster_row").cast(pl.Int64)
            hits = frame.lazy().filter(
                (pl.col(C.match_status) == LINKED) & row.is_not_null() & row.is_in(rows)
            ).select(row.alias("_roster_row"), pl.col("id18").alias("_id18"))
            found.append(hits.join(shared.lazy(), on=["_roster_row", "_id18"], how="semi").collect()["_roster_row"])
    return pl.concat(found).unique()


def skipped_rules(rules: list[Rule], evidence: dict[str, pl.DataFrame]) -> list[Rule]:
    """Rules that cannot run because their sector's extract was not supplied."""
    return [r for r in rules if r.primary_sector != "roster" and r.primary_sector not in evidence]


def evaluate(
    rules: list[Rule],
    roster: pl.DataFrame,
    evidence: dict[str, pl.DataFrame],
    *,
    reference_date: date,
    overrides: dict | None = None,
    statuses: dict | None = None,
) -> pl.DataFrame:
    """All flags, one row per flagged person / household / extract row (see FLAG_COLUMNS),
    with `evidence_status`, sorted by township, village, household_id, rule_id.

    A rule that cannot be evaluated (`coverage.rule_statuses`: its file missing, without data
    rows or without a column it reads) writes no flags; `statuses` (rule id → Status) may be
    given by a caller that knows the files, else it is worked out from the frames."""
    from fanpin_cli.coverage import available_frames, rule_statuses

    params = effective_parameters(rules, overrides)
    if statuses is None:
        statuses = rule_statuses(rules, available_frames(roster, evidence), overrides)
    active = [
        r for r in enabled_rules(rules, overrides)
        if (r.primary_sector == "roster" or r.primary_sector in evidence) and statuses[r.id].evaluated
    ]
    people = People.of(roster, reference_date)  # the roster's own columns, made once for both views
    flags, ctx = _evaluate_view(active, params, roster, evidence, reference_date, people)
    flags = _unsearchable(flags, active, ctx)
    flags = possible_records(flags, active, params, ctx, ABSENCE_KINDS)
    del ctx  # its persons and rows go before the accepted view makes its own (~+0.5 GB at 200,000 households)
    doubtful = [r for r in active if has_pending(evidence, set(reads(r)))]
    if doubtful:
        ids = [r.id for r in doubtful]
        reach = PendingReach.of(roster, evidence)
        if_accepted, _ = _evaluate_view(doubtful, params, roster, accepted(reach.evidence), reference_date,
                                        reach.people(people))
        now = flags.with_columns(_FLAG_KEY.alias("_key"))
        then = if_accepted.filter(reach.touches()).with_columns(_FLAG_KEY.alias("_key"))
        would_clear = (pl.col("rule_id").is_in(ids) & reach.touches()
                       & ~pl.col("_key").is_in(then["_key"].implode()))
        created = then.join(now, on="_key", how="anti").with_columns(
            (pl.lit(CREATED_NOTE) + pl.col("detail")).alias("detail"),
            pl.lit("pending_review").alias("evidence_status"),
        )
        flags = pl.concat(
            [
                now.with_columns(
                    pl.when(would_clear).then(pl.lit("pending_review")).otherwise(pl.col("evidence_status")).alias("evidence_status")
                ),
                created,
            ],
            how="vertical",
        ).drop("_key")
    return flags.sort(
        ["township", "village", "household_id", "rule_id", "roster_row", "source_file", "source_row"],
        nulls_last=True,
    )


@dataclass(frozen=True)
class PendingReach:
    """What accepting the pending review rows can change: the households of their candidate
    persons (every member, any person of those households being a flag's subject) and the
    pending rows themselves (a rule on unlinked or review rows flags the row). A rule's flags
    on a person or household read only that household's roster rows and the rows linked to its
    members, so the accepted view is evaluated on those persons (`people`) and on `evidence` —
    the rows pointing into those households, pending ones included — and compared only where
    `touches()` holds; elsewhere both views agree. (50,000 households: the second view read
    ~1.3M rows and 178,000 roster persons for ~2,000 households.)

    >>> roster = pl.DataFrame({"roster_row": [1, 2, 3], "household_id": ["A", "A", "B"]})
    >>> ext = pl.DataFrame({"source_file": "m.csv", "source_row": [2, 3, 4, 5],
    ...                     "roster_row": [2, 3, 1, None], "match_status": ["linked", "linked", "review", "unlinked"]})
    >>> reach = PendingReach.of(roster, {"m": ext})
    >>> sorted(reach.evidence["m"]["source_row"].to_list()), reach.households.to_list()
    ([2, 4], ['A'])
    >>> f = pl.DataFrame({"roster_row": [2, 3, None, None], "household_id": [None, None, "A", None],
    ...                   "source_file": [None, None, None, "m.csv"], "source_row": [None, None, None, 4]})
    >>> f.select(reach.touches()).to_series().to_list()
    [True, False, True, True]
    """

    evidence: dict[str, pl.DataFrame]
    persons: pl.Series  # roster rows of the touched households (and the candidates themselves)
    households: pl.Series
    rows: pl.Series  # "file#row" of the pending rows

    @classmethod
    def of(cls, roster: pl.DataFrame, evidence: dict[str, pl.DataFrame]) -> PendingReach:
        row = "roster_row" if "roster_row" in roster.columns else "source_row"
        waiting = [pending(f).select(pl.col("roster_row").cast(pl.Int64),
                                     (_ROW_TEXT if "source_file" in f.columns else pl.lit(None, pl.String)).alias("_at"))
                   for f in evidence.values() if {"roster_row", C.match_status} <= set(f.columns)]
        waiting = pl.concat(waiting) if waiting else pl.DataFrame(schema={"roster_row": pl.Int64, "_at": pl.String})
        people = roster.select(pl.col(row).cast(pl.Int64).alias("roster_row"),
                               (pl.col("household_id").cast(pl.String) if "household_id" in roster.columns
                                else pl.lit(None, dtype=pl.String)).alias("_hh"))
        households = people.join(waiting, on="roster_row", how="semi")["_hh"].drop_nulls().unique()
        persons = pl.concat([people.filter(pl.col("_hh").is_in(households.implode()))["roster_row"],
                             waiting["roster_row"]]).unique()
        narrowed = {
            sector: frame.filter(pl.col("roster_row").cast(pl.Int64).is_in(persons.implode()))
            if {"roster_row", C.match_status} <= set(frame.columns) else frame
            for sector, frame in evidence.items()
        }
        return cls(narrowed, persons, households, waiting["_at"].unique())

    def people(self, people: People) -> People:
        """`people` (made of the whole roster: an ID shared with a person elsewhere is still
        shared) narrowed to `persons` and their households.

        >>> roster = pl.DataFrame({"source_row": [2, 3, 4], "household_id": ["A", "A", "B"], "relation": ["户主"] * 3})
        >>> reach = PendingReach({}, pl.Series([2, 3]), pl.Series(["A"]), pl.Series([], dtype=pl.String))
        >>> narrowed = reach.people(People.of(roster, date(2026, 11, 30)))
        >>> narrowed.persons["_roster_row"].to_list(), narrowed.households["_hh"].to_list()
        ([2, 3], ['A'])
        """
        persons = people.persons.filter(pl.col("_roster_row").is_in(self.persons.implode()))
        held = pl.col("_hh").is_in(persons["_hh"].drop_nulls().unique().implode()) | pl.col("_hh").is_null()
        return People(persons, people.households.filter(held))

    def touches(self) -> pl.Expr:
        """Whether a flag is about something accepting could change (the key `_FLAG_KEY` uses:
        its person, else its household, else its extract row)."""
        return (
            pl.when(pl.col("roster_row").is_not_null()).then(pl.col("roster_row").is_in(self.persons.implode()))
            .when(pl.col("household_id").is_not_null()).then(pl.col("household_id").is_in(self.households.implode()))
            .otherwise(_ROW_TEXT.is_in(self.rows.implode()).fill_null(False))
        )


_ROW_TEXT = pl.format("{}#{}", pl.col("source_file"), pl.col("source_row"))


def bundled_flags(flags: pl.DataFrame, rules: list[Rule], rule_id: str, *, overrides: dict | None,
                  statuses: dict) -> pl.DataFrame | None:
    """The flags of the bundled rule `rule_id` within `flags` (what `evaluate` gave for `rules`
    with `overrides` and `statuses`), when that run evaluated it exactly as bundled — same
    definition, enabled, its default parameters — so a check that shares the rule's definition
    (`quality.check_cross`) need not evaluate it again; None otherwise. A rule's flags depend
    on no other rule evaluated beside it.

    >>> from fanpin_cli.flagging import load_rules
    >>> from fanpin_cli.coverage import Status
    >>> rules, ok = load_rules(), {"MED_UNINSURED": Status()}
    >>> bundled_flags(empty_flags(), rules, "MED_UNINSURED", overrides=None, statuses=ok).height
    0
    >>> bundled_flags(empty_flags(), rules, "MED_UNINSURED", overrides={"MED_UNINSURED": {"enabled": False}},
    ...               statuses=ok) is None
    True
    """
    from fanpin_cli.flagging.loader import bundled_rule

    bundled = bundled_rule(rule_id)
    ran = enabled_rules([r for r in rules if r.id == rule_id], overrides)
    status = statuses.get(rule_id)
    if (ran != [bundled] or status is None or not status.evaluated
            or effective_parameters(rules, overrides)[rule_id] != effective_parameters([bundled], None)[rule_id]):
        return None
    return flags.filter(pl.col("rule_id") == rule_id)


def reads(rule: Rule) -> tuple[str, ...]:
    """Every sector whose links a rule reads (its own, exemptions, `none_linked`, `sectors`)."""
    found = [rule.primary_sector, *rule.sectors, *(e.sector for e in rule.exempt_if_linked)]
    if rule.none_linked is not None:
        found.append(rule.none_linked.sector)
    return tuple(dict.fromkeys(s for s in found if s and s != "roster"))


def _evaluate_view(
    active: list[Rule], params: dict, roster: pl.DataFrame, evidence: dict[str, pl.DataFrame], reference_date: date,
    people: People | None = None,
) -> tuple[pl.DataFrame, Context]:
    """The flags of `active` on one view of the evidence (all `confirmed`), and the context."""
    ctx = build_context(roster, evidence, reference_date, evidence_fields(active), people=people)
    queries = []
    for rule in active:
        hits = KINDS[rule.kind].evaluate(rule, params[rule.id], ctx).lazy()
        if hits.collect_schema().len():  # no column: nothing to evaluate
            queries.append(render(rule, hits, params[rule.id], reference_date))
    if not queries:
        return empty_flags(), ctx
    if _rows(roster, evidence) <= TOGETHER_ROWS:
        frames = pl.collect_all(queries, engine="in-memory")
    else:  # one rule at a time: one rule's intermediate rows held at a time, as before
        frames = [query.collect(engine="in-memory") for query in queries]
    return pl.concat(frames, how="vertical"), ctx


# Up to this many roster and evidence rows, the rules' queries run together (`pl.collect_all`:
# polars runs them side by side, its work handed to its threads once, not once per step of each
# rule); above it, one after the other (a county of 50,000 households has ~1.2M rows: every
# rule's intermediate rows at once would raise its peak).
TOGETHER_ROWS = 500_000


def _rows(roster: pl.DataFrame, evidence: dict[str, pl.DataFrame]) -> int:
    """Rows of the roster and of every evidence frame.

    >>> _rows(pl.DataFrame({"a": [1, 2]}), {"m": pl.DataFrame({"b": [1]})})
    3
    """
    return roster.height + sum(frame.height for frame in evidence.values())


def _unsearchable(flags: pl.DataFrame, active: list[Rule], ctx: Context) -> pl.DataFrame:
    """A rule that fires on the *absence* of a linked row (ABSENCE_KINDS) proves nothing about
    a roster person whose own ID cannot be searched for (missing, invalid, or shared with
    another person in the roster): such flags are `pending_review` until the ID is corrected
    (the 数据质量 sheet lists the ID fault)."""
    absence = [r.id for r in active if r.kind in ABSENCE_KINDS]
    if not absence or flags.height == 0:
        return flags
    people = ctx.persons.select("_roster_row", "_hh", pl.col("_unsearchable"))
    persons = people.filter(pl.col("_unsearchable"))["_roster_row"]
    households = people.filter(pl.col("_unsearchable"))["_hh"].drop_nulls()
    blind = pl.col("rule_id").is_in(absence) & pl.when(pl.col("roster_row").is_not_null()).then(
        pl.col("roster_row").is_in(persons.implode())
    ).otherwise(pl.col("household_id").is_in(households.implode()))
    return flags.with_columns(
        pl.when(blind).then(pl.lit("pending_review")).otherwise(pl.col("evidence_status")).alias("evidence_status"),
        pl.when(blind).then(pl.col("detail") + pl.lit(UNSEARCHABLE_NOTE)).otherwise(pl.col("detail")).alias("detail"),
    )


def render(rule: Rule, hits: pl.LazyFrame, params: dict, reference_date: date) -> pl.LazyFrame:
    """Fill the rule's detail template and select the flag columns (steps of the rule's query)."""
    values = {
        "rule_id": rule.id,
        "title": rule.title,
        "reference_date": reference_date.isoformat(),
        "sector_title": SECTOR_TITLES.get(rule.primary_sector, rule.primary_sector),
    }
    values.update({name: param_text(v) for name, v in params.items()})
    cols = hits.collect_schema().names()
    parts: list[pl.Expr] = []
    for literal, name, _, _ in string.Formatter().parse(rule.detail):
        if literal:
            parts.append(pl.lit(literal))
        if name is None:
            continue
        if f"_ph_{name}" in cols:
            parts.append(pl.col(f"_ph_{name}").cast(pl.String).fill_null(""))
        elif name == "name":
            parts.append(pl.col("person_name").fill_null(EMPTY_SHOWN))
        elif name == "file":
            parts.append(pl.col("source_file").fill_null(""))
        elif name == "row":
            parts.append(pl.col("source_row").cast(pl.String).fill_null(""))
        elif name in values:
            parts.append(pl.lit(values[name]))
        elif name in cols:
            parts.append(pl.col(name).cast(pl.String).fill_null(EMPTY_SHOWN))
        elif name in KINDS[rule.kind].placeholders:
            parts.append(pl.lit(""))
        else:  # a field the file does not have
            parts.append(pl.lit(EMPTY_SHOWN))
    detail = pl.concat_str(parts) if parts else pl.lit("")
    return hits.with_columns(
        detail.alias("detail"),
        pl.lit(rule.id).alias("rule_id"),
        pl.lit(rule.level).alias("level"),
        pl.lit(rule.primary_sector).alias("sector"),
        pl.lit(rule.title).alias("title"),
        pl.lit("confirmed").alias("evidence_status"),
    ).select([pl.col(c).cast(t) for c, t in FLAG_SCHEMA.items()])
