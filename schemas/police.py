"""公安 deregistrations (户籍注销)."""

from __future__ import annotations

import pandera.polars as pa

from ._common import DOMAINS, SectorModel, date_check


class PoliceSchema(SectorModel):
    """注销原因 is required (死亡/服刑/迁出/服役); 注销日期 a date."""

    dereg_reason: str | None = pa.Field(nullable=False, isin=list(DOMAINS["dereg_reason"]))
    dereg_date: str | None = pa.Field(nullable=True)

    _dereg = pa.check("dereg_date", name="DATE_INVALID")(date_check)
