"""住建 rural housing safety assessments (农村住房安全鉴定)."""

from __future__ import annotations

import pandera.polars as pa

from ._common import DOMAINS, SectorModel, date_check


class HousingSchema(SectorModel):
    """鉴定等级 is required (A级–D级); 改造情况 a code list; 鉴定时间 a date."""

    township: str | None = pa.Field(nullable=True)
    village: str | None = pa.Field(nullable=True)
    safety_grade: str | None = pa.Field(nullable=False, isin=list(DOMAINS["safety_grade"]))
    assess_date: str | None = pa.Field(nullable=True)
    renovation: str | None = pa.Field(nullable=True, isin=list(DOMAINS["renovation"]))

    _assess = pa.check("assess_date", name="DATE_INVALID")(date_check)
