"""pandera (polars) schemas, one `DataFrameModel` per sector key of the contract.

Imported as `fanpin_cli.schemas` (the package path is extended in a source checkout; the
wheel force-includes this folder). Schemas validate *loaded* frames (canonical field names, all
text): required fields (`nullable=False` → `REQUIRED_MISSING`), code lists (`isin` →
`VALUE_NOT_ALLOWED`), amounts, dates, years and counts (custom checks named after their check
ids). `fanpin_cli.quality.schema_issues` turns the failure cases into quality-issue rows.

>>> import polars as pl
>>> SCHEMAS["police"].validate(pl.DataFrame({"name": ["张三"], "dereg_reason": ["死亡"]})).height
1
"""

from __future__ import annotations

from ._common import AMOUNT_FIELDS, DATE_FIELDS, DOMAINS, SectorModel, count_value, year_value
from ._pandera import SchemaErrors
from .civil_affairs import CivilAffairsSchema
from .disability import DisabilitySchema
from .education import EducationSchema
from .housing import HousingSchema
from .medical_claims import MedicalClaimsSchema
from .medical_enrollment import MedicalEnrollmentSchema
from .police import PoliceSchema
from .roster import RosterSchema

SCHEMAS: dict[str, type[SectorModel]] = {
    "roster": RosterSchema,
    "civil_affairs": CivilAffairsSchema,
    "medical_enrollment": MedicalEnrollmentSchema,
    "medical_claims": MedicalClaimsSchema,
    "education": EducationSchema,
    "housing": HousingSchema,
    "police": PoliceSchema,
    "disability": DisabilitySchema,
}


def required_fields(sector: str) -> tuple[str, ...]:
    """Fields whose emptiness is REQUIRED_MISSING in `sector` (the schema's non-nullable columns)."""
    schema = SCHEMAS[sector].to_schema()
    return tuple(name for name, col in schema.columns.items() if not col.nullable)


__all__ = [
    "AMOUNT_FIELDS", "DATE_FIELDS", "DOMAINS", "SCHEMAS", "SchemaErrors", "SectorModel", "count_value", "required_fields",
    "year_value",
    "CivilAffairsSchema", "DisabilitySchema", "EducationSchema", "HousingSchema",
    "MedicalClaimsSchema", "MedicalEnrollmentSchema", "PoliceSchema", "RosterSchema",
]
