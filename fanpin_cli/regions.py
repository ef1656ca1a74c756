"""GB/T 2260 address codes, read from python-stdnum's `cn/loc.dat` (current and retired codes).

A retired code legitimately stays in people's ID numbers, so an unknown code is only a
warning (`ID_UNKNOWN_REGION`).

>>> region_names()["433127"]
'湖南省永顺县'
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

import polars as pl

_LINE = re.compile(r'^([ \t]*)(\d+)[ \t]+(?:province|county)="([^"]*)"', re.MULTILINE)


def _latest_name(raw: str) -> str:
    """`[1983-]永顺县,[-1982]旧名` → the newest plain name."""
    parts = [p.split("]", 1)[-1] for p in raw.split(",") if p]
    return parts[0] if parts else raw


def _table_path() -> Path:
    """stdnum's `cn/loc.dat`, found without importing stdnum: its package imports pkgutil,
    ssl and more (~0.07 s CPU at every start) and only the data file is read here."""
    spec = find_spec("stdnum")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("python-stdnum is not installed", name="stdnum")
    return Path(next(iter(spec.submodule_search_locations))) / "cn" / "loc.dat"


@lru_cache(maxsize=1)
def _table() -> list[tuple[str, str, str]]:
    """Every line of the table, in order, found in one pass over its text: (6-digit code, the
    province's raw name, the county's raw name — "" on a province's own line)."""
    rows: list[tuple[str, str, str]] = []
    province_code, province = "", ""
    for indent, code, name in _LINE.findall(_table_path().read_text(encoding="utf-8")):
        if not indent:
            province_code, province = code, name
            rows.append((code.ljust(6, "0"), name, ""))
        else:
            rows.append((province_code + code, province, name))
    return rows


@lru_cache(maxsize=1)
def region_names() -> dict[str, str]:
    """Every 6-digit address code in the table → province + county name."""
    names: dict[str, str] = {}
    for code, province, county in _table():
        province_name = _latest_name(province)
        if not county:
            names[code] = province_name
        else:
            county_name = _latest_name(county)
            names[code] = province_name + (county_name if county_name != province_name else "")
    return names


def region_codes() -> list[str]:
    """All known 6-digit codes (their names not made)."""
    return sorted({code for code, _, _ in _table()})


@lru_cache(maxsize=1)
def known_region() -> pl.Expr:
    """`is_in`'s argument for the known codes: made once (a list of ~6,900 texts is made into
    a polars Series again at every `is_in`, ~1 ms).

    >>> pl.select(pl.lit("433127").is_in(known_region())).item()
    True
    """
    return pl.lit(pl.Series(region_codes(), dtype=pl.String).implode())
