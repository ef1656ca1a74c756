"""民政 extract: 低保, 特困, 临时救助."""

from __future__ import annotations

import pandera.polars as pa

from ._common import DOMAINS, SectorModel, amount_check, date_check


class CivilAffairsSchema(SectorModel):
    """救助类型 is required; 保障状态 and 救助类型 are code lists; amounts ≥ 0."""

    township: str | None = pa.Field(nullable=True)
    village: str | None = pa.Field(nullable=True)
    aid_type: str | None = pa.Field(nullable=False, isin=list(DOMAINS["aid_type"]))
    aid_status: str | None = pa.Field(nullable=True, isin=list(DOMAINS["aid_status"]))
    aid_date: str | None = pa.Field(nullable=True)
    monthly_amount: str | None = pa.Field(nullable=True)

    _aid_date = pa.check("aid_date", name="DATE_INVALID")(date_check)
    _amount = pa.check("monthly_amount", name="AMOUNT_INVALID")(amount_check)
