"""教育 student roll (学籍) and aid (资助)."""

from __future__ import annotations

import pandera.polars as pa

from ._common import DOMAINS, SectorModel


class EducationSchema(SectorModel):
    """学籍状态 is required and a code list; 出生日期 (base model) must parse."""

    school: str | None = pa.Field(nullable=True)
    grade: str | None = pa.Field(nullable=True)
    roll_status: str | None = pa.Field(nullable=False, isin=list(DOMAINS["roll_status"]))
    aid_program: str | None = pa.Field(nullable=True)
