"""残联 certified disabled persons (持证残疾人)."""

from __future__ import annotations

import pandera.polars as pa

from ._common import DOMAINS, SectorModel


class DisabilitySchema(SectorModel):
    """残疾类别 and 残疾等级 are code lists (视力残疾…多重残疾, 一级–四级)."""

    disability_type: str | None = pa.Field(nullable=True, isin=list(DOMAINS["disability_type"]))
    disability_grade: str | None = pa.Field(nullable=True, isin=list(DOMAINS["disability_grade"]))
