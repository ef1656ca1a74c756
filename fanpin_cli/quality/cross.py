"""Cross-source checks (账账相符 / 账实相符) between the roster and the linked extracts.

`evidence[sector]` is the prepared extract with the link columns (`roster_row`,
`household_id`, `match_status`, `match_method`, `name_id_conflict`). Which rows are evidence
is `fanpin_cli.evidence` (the view the rules use); what counts as an active enrollment, a
deregistration or 在读 is the bundled rules' definition (MED_UNINSURED, POL_DEREGISTERED,
EDU_DROPOUT), never restated here. NAME_ID_CONFLICT is reported on any extract row the linker
marked.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from fanpin_cli.domain import DECEASED, DEREGISTERED_RULE, INSURANCE_RULE, SCHOOL_RULE, qualifying
from fanpin_cli.evidence import linked
from fanpin_cli.flagging.exprs import norm
from fanpin_cli.tables import C
from fanpin_cli.values import NOT_IN_SCHOOL, parse_date

from ._base import col_or_null, collect, empty_issues, fmt_date, issues


def _roster_rows(roster: pl.DataFrame, rows: pl.DataFrame, extra: list[str]) -> pl.DataFrame:
    """Roster rows whose source_row is in `rows["roster_row"]` (first evidence row kept)."""
    ev = rows.unique(C.roster_row, keep="first", maintain_order=True).select(
        pl.col(C.roster_row).cast(pl.Int64).alias("source_row"), *extra
    )
    return roster.join(ev, on="source_row", how="inner", maintain_order="left")


def check_cross(
    roster: pl.DataFrame,
    evidence: dict[str, pl.DataFrame],
    *,
    reference_date: date,
    headings: dict[str, dict[str, str]] | None = None,
    insurance_flags: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """INSURED_CONFLICT, NAME_ID_CONFLICT, DECEASED_LISTED, DEREG_LISTED,
    HEALTH_DISABILITY_CONFLICT, SCHOOL_STATUS_CONFLICT (see catalogue).

    `insurance_flags`: the bundled MED_UNINSURED rule's flags on these very frames, when the
    caller has them already (`flagging.bundled_flags`); else the rule is evaluated here."""
    headings = headings or {}
    rh = headings.get("roster", {})
    parts: list[pl.LazyFrame] = []
    police = linked(evidence["police"]) if "police" in evidence else None

    if "medical_enrollment" in evidence and "insured" in roster.columns:
        # The MED_UNINSURED rule itself says who lacks an active enrollment; a flag that a
        # pending review could clear makes the conflict doubtful: a warning naming the match.
        flags = insurance_flags
        if flags is None:
            from fanpin_cli.flagging import bundled_rule, evaluate

            flags = evaluate([bundled_rule(INSURANCE_RULE)], roster, evidence, reference_date=reference_date)
        uninsured = flags.filter(pl.col(C.roster_row).is_not_null())
        confirmed = uninsured.filter(pl.col(C.evidence_status) == "confirmed")[C.roster_row]
        doubtful = uninsured.filter(pl.col(C.evidence_status) != "confirmed")[C.roster_row]
        says_insured = pl.col("insured") == "是"
        message = "系统填已参加城乡居民基本医疗保险，但医保参保登记中没有此人的有效参保记录（也无公安注销记录），请核实是否断保、漏保"
        parts.append(issues(roster, says_insured & pl.col("source_row").is_in(confirmed.implode()),
                            "INSURED_CONFLICT", "insured", message, rh))
        parts.append(
            issues(roster, says_insured & pl.col("source_row").is_in(doubtful.implode()), "INSURED_CONFLICT", "insured",
                   message + "；另有待核实匹配或证件号码问题，核实后本条可能不成立", rh)
            .with_columns(pl.lit("warning").alias("severity"))
        )

    if police is not None and police.height:
        reason = col_or_null(police, "dereg_reason")
        police = police.with_columns(
            reason.alias("__reason"),
            fmt_date(parse_date(col_or_null(police, "dereg_date"))).fill_null("日期不详").alias("__when"),
            pl.col("source_file").alias("__pfile"), pl.col("source_row").alias("__prow"),
        )
        police = qualifying(DEREGISTERED_RULE, police)
        deceased = norm(pl.col("__reason")) == DECEASED
        listed = _roster_rows(roster, police.filter(deceased), ["__when", "__pfile", "__prow"])
        parts.append(
            issues(listed, pl.lit(True), "DECEASED_LISTED", "id_number",
                   pl.format("公安户籍显示已于{}因死亡注销（{}第{}行），系统仍在册，请核实后办理自然减少",
                             pl.col("__when"), pl.col("__pfile"), pl.col("__prow")), rh)
        )
        other = _roster_rows(
            roster, police.filter(~deceased),
            ["__reason", "__when", "__pfile", "__prow"],
        )
        parts.append(
            issues(other, pl.lit(True), "DEREG_LISTED", "id_number",
                   pl.format("公安户籍显示已于{}因{}注销（{}第{}行），请核实是否需要调整家庭成员",
                             pl.col("__when"), pl.col("__reason"), pl.col("__pfile"), pl.col("__prow")), rh)
        )

    if "disability" in evidence and "health" in roster.columns:
        dis = _roster_rows(roster, linked(evidence["disability"]).with_columns(pl.col("source_file").alias("__f")), ["__f"])
        health = pl.col("health")
        parts.append(
            issues(dis, health.is_null() | ~health.str.contains("残疾"), "HEALTH_DISABILITY_CONFLICT", "health",
                   pl.format("残联持证残疾人（{}），系统健康状况为「{}」，请核实是否应填“残疾”",
                             pl.col("__f"), health.fill_null("空")), rh)
        )

    if "education" in evidence and "school_status" in roster.columns:
        edu = qualifying(SCHOOL_RULE, linked(evidence["education"]))
        edu = edu.with_columns(
            col_or_null(edu, "school").fill_null("学校不详").alias("__school")
        )
        rows = _roster_rows(roster, edu, ["__school"])
        school = pl.col("school_status")
        parts.append(
            issues(rows, school.is_null() | (school == NOT_IN_SCHOOL), "SCHOOL_STATUS_CONFLICT", "school_status",
                   pl.format("教育学籍显示在读（{}），系统在校生状况为「{}」，请核实更新", pl.col("__school"),
                             school.fill_null("空")), rh)
        )

    for sector, frame in evidence.items():
        if C.name_id_conflict not in frame.columns or C.roster_row not in frame.columns:
            continue
        names = roster.select(
            pl.col("source_row").alias(C.roster_row), pl.col("name").alias("__rname"),
            *[col_or_null(roster, c).alias(f"__r_{c}") for c in ("household_id", "township", "village")],
        )
        hit = frame.filter(pl.col(C.name_id_conflict).fill_null(False) & pl.col(C.roster_row).is_not_null())
        if not hit.height:
            continue
        hit = hit.join(
            names, on=C.roster_row, how="left", maintain_order="left"
        ).with_columns(
            *[pl.coalesce(col_or_null(hit, c), pl.col(f"__r_{c}")).alias(c) for c in ("household_id", "township", "village")]
        )
        parts.append(
            issues(hit, pl.lit(True), "NAME_ID_CONFLICT", "name",
                   pl.format("证件号码对应系统人员「{}」，与本表姓名「{}」不一致，请核实是录错了人还是录错了号码",
                             pl.col("__rname").fill_null("?"), pl.col("name").fill_null("空")),
                   headings.get(sector, {}))
        )
    return collect(parts) if parts else empty_issues()
