"""医保 enrollment register (参保登记)."""

from __future__ import annotations

import pandera.polars as pa

from ._common import DOMAINS, SectorModel, year_check


class MedicalEnrollmentSchema(SectorModel):
    """参保状态 is required and a code list; 参保年度 a year."""

    insurance_type: str | None = pa.Field(nullable=True, isin=list(DOMAINS["insurance_type"]))
    enroll_status: str | None = pa.Field(nullable=False, isin=list(DOMAINS["enroll_status"]))
    enroll_year: str | None = pa.Field(nullable=True)

    _year = pa.check("enroll_year", name="YEAR_INVALID")(year_check)
