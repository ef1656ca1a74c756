"""Roster (national system export, 监测对象信息): one row per household member."""

from __future__ import annotations

import pandera.polars as pa

from ._common import DOMAINS, SectorModel, amount_check, count_check, multi_value_check


class RosterSchema(SectorModel):
    """户编号, 乡镇, 村, 与户主关系 and 家庭人数 are required on every member row."""

    county: str | None = pa.Field(nullable=True)
    township: str | None = pa.Field(nullable=False)
    village: str | None = pa.Field(nullable=False)
    group: str | None = pa.Field(nullable=True)
    household_id: str | None = pa.Field(nullable=False)
    relation: str | None = pa.Field(nullable=False, isin=list(DOMAINS["relation"]))
    household_size: str | None = pa.Field(nullable=False)
    object_type: str | None = pa.Field(nullable=True, isin=list(DOMAINS["object_type"]))
    risk_eliminated: str | None = pa.Field(nullable=True, isin=list(DOMAINS["risk_eliminated"]))
    labor_skill: str | None = pa.Field(nullable=True, isin=list(DOMAINS["labor_skill"]))
    health: str | None = pa.Field(nullable=True)
    school_status: str | None = pa.Field(nullable=True)
    insured: str | None = pa.Field(nullable=True, isin=list(DOMAINS["insured"]))
    employee_insured: str | None = pa.Field(nullable=True, isin=list(DOMAINS["employee_insured"]))
    income_per_capita: str | None = pa.Field(nullable=True)

    _size = pa.check("household_size", name="HH_SIZE_INVALID")(count_check)
    _income = pa.check("income_per_capita", name="AMOUNT_INVALID")(amount_check)
    _health = pa.check("health", name="VALUE_NOT_ALLOWED")(multi_value_check("health"))
