"""医保 settlement details (结算明细)."""

from __future__ import annotations

import pandera.polars as pa

from ._common import SectorModel, amount_check, date_check


class MedicalClaimsSchema(SectorModel):
    """结算日期 and 个人自付 are required; dates parse; amounts are numbers ≥ 0."""

    settle_date: str | None = pa.Field(nullable=False)
    total_cost: str | None = pa.Field(nullable=True)
    fund_paid: str | None = pa.Field(nullable=True)
    out_of_pocket: str | None = pa.Field(nullable=False)
    diagnosis: str | None = pa.Field(nullable=True)

    _settle = pa.check("settle_date", name="DATE_INVALID")(date_check)
    _amounts = pa.check("total_cost", "fund_paid", "out_of_pocket", name="AMOUNT_INVALID")(amount_check)
