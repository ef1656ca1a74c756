"""Resident ID numbers (GB 11643): region codes from stdnum's table, bulk construction,
and a literal reading of CONTRACT.md's ID checks used to write the quality ground truth.

>>> check_char("43312719850712123")
'7'
>>> id_checks("4.33127E+17", date(2026, 11, 30))
['ID_EXCEL_MANGLED']
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np

WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK_CHARS = "10X98765432"
_CHECK_ARR = np.array(list(CHECK_CHARS))
FALLBACK_CODE = 433127


@dataclass(frozen=True)
class RegionCode:
    """One address code and the birth years for which it is valid (None = open)."""

    code: int
    name: str
    start: int | None
    end: int | None


@lru_cache(maxsize=1)
def region_table() -> tuple[RegionCode, ...]:
    """Every county-level entry of stdnum's `cn/loc.dat` (one per validity range)."""
    import stdnum

    path = Path(stdnum.__file__).parent / "cn" / "loc.dat"
    out: list[RegionCode] = []
    prov = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if not line.startswith(" "):
            prov = int(line.split()[0])
            continue
        part, _, rest = line.strip().partition(" ")
        m = re.search(r'county="([^"]*)"', rest)
        if not m:
            continue
        code = prov * 10000 + int(part)
        for entry in m.group(1).split(","):
            em = re.fullmatch(r"\[(\d*)-(\d*)\](.*)", entry)
            if em:
                s, e, name = em.groups()
                out.append(RegionCode(code, name, int(s) if s else None, int(e) if e else None))
            else:
                out.append(RegionCode(code, entry, None, None))
    return tuple(out)


@lru_cache(maxsize=1)
def known_codes() -> frozenset[int]:
    """All address codes present in the table (retired ones included)."""
    return frozenset(r.code for r in region_table())


def county_code(county: str) -> int:
    """The address code of a county by its name (any current county-level name in the table:
    永顺县 → 433127, 慈利县 → 430821), or 433127 if unknown (a made-up name).

    >>> county_code("慈利县"), county_code("模拟县")
    (430821, 433127)
    """
    for r in region_table():
        if r.name == county and r.end is None and r.code % 100:
            return r.code
    return FALLBACK_CODE


def open_codes(prefix: str = "", *, since_any_year: bool = False) -> np.ndarray:
    """County-level codes valid for every birth year (or, with `since_any_year`, current codes
    however recently made), optionally under a code prefix."""
    codes = sorted(
        {r.code for r in region_table()
         if (r.start is None or since_any_year) and r.end is None and r.code % 100 and "市辖区" not in r.name
         and str(r.code).startswith(prefix)}
    )
    return np.array(codes, dtype=np.int64)


def codes_near(prefix: str) -> np.ndarray:
    """Address codes for people from near a county (its prefecture or province prefix): those
    valid for every birth year, else current ones (a prefecture made in 1988, as 张家界市, has
    only those).

    >>> codes_near("4308").tolist()
    [430802, 430811, 430821, 430822]
    >>> 433127 in codes_near("4331").tolist()
    True
    """
    codes = open_codes(prefix)
    return codes if codes.size else open_codes(prefix, since_any_year=True)


def retired_codes(prefix: str) -> list[RegionCode]:
    """Codes under `prefix` that were retired (valid only up to an end year)."""
    return [r for r in region_table()
            if r.end is not None and r.code % 100 and str(r.code).startswith(prefix)
            and r.end >= 1950 and r.start is None
            and not any(o.code == r.code and o.end is None for o in region_table())]


def unknown_codes(prefix: str, k: int = 6) -> list[int]:
    """Codes under a 4-digit prefix that are absent from the table."""
    base = int(prefix) * 100
    known = known_codes()
    return [c for c in range(base + 60, base + 99) if c not in known][:k]


def build_ids(region: np.ndarray, birth: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """Valid 18-character IDs from region codes, birth dates (datetime64[D]) and 3-digit sequences."""
    y = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    m = birth.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (birth - birth.astype("datetime64[M]")).astype(np.int64) + 1
    num = region.astype(np.int64) * 10**11 + (y * 10000 + m * 100 + d) * 1000 + seq
    digits = (num[:, None] // (10 ** np.arange(16, -1, -1, dtype=np.int64))) % 10
    chk = _CHECK_ARR[(digits @ WEIGHTS) % 11]
    return np.char.add(num.astype(str), chk)


def check_char(first17: str) -> str:
    """The GB 11643 check character of 17 digits."""
    s = sum(int(c) * w for c, w in zip(first17, WEIGHTS.tolist(), strict=True))
    return CHECK_CHARS[s % 11]


def checksum_ok(id18: str) -> bool:
    """True if an 18-character ID's last character matches its check character."""
    return len(id18) == 18 and id18[:17].isdigit() and check_char(id18[:17]) == id18[17]


_STRIP = re.compile(r"[\s\u3000\u00a0\u200b\u200c\u200d\u2060\ufeff'‘’\"`]")
_SCI = re.compile(r"^\d(\.\d+)?E\+?\d+$")


def normalize_id(raw: str) -> str:
    """Whitespace, zero-width characters and apostrophes removed; full-width folded; upper case."""
    return _STRIP.sub("", unicodedata.normalize("NFKC", raw or "")).upper()


def birth_of(id_norm: str) -> date | None:
    """The birth date inside a normalized 15- or 18-digit ID, or None if impossible."""
    try:
        if len(id_norm) == 18:
            return date(int(id_norm[6:10]), int(id_norm[10:12]), int(id_norm[12:14]))
        if len(id_norm) == 15:
            return date(1900 + int(id_norm[6:8]), int(id_norm[8:10]), int(id_norm[10:12]))
    except ValueError:
        return None
    return None


def id_checks(raw: str, reference: date) -> list[str]:
    """The CONTRACT.md ID check ids that apply to a written ID (literal reading).

    Scientific notation or an 18-digit ID ending in 000 that fails the check is ID_EXCEL_MANGLED
    (instead of ID_INVALID_CHECKSUM); a placeholder (999999…) is only ID_PLACEHOLDER; unknown
    region means absent from the code table.
    """
    s = normalize_id(raw)
    if not s:
        return ["ID_MISSING"]
    if _SCI.match(s):
        return ["ID_EXCEL_MANGLED"]
    if s.startswith("999999"):
        return ["ID_PLACEHOLDER"]
    out: list[str] = []
    if len(s) == 15 and s.isdigit():
        out.append("ID_LEGACY_15")
    elif len(s) == 18 and s[:17].isdigit() and (s[17].isdigit() or s[17] == "X"):
        if not checksum_ok(s):
            out.append("ID_EXCEL_MANGLED" if s.endswith("000") else "ID_INVALID_CHECKSUM")
    else:
        return ["ID_BAD_FORMAT"]
    b = birth_of(s)
    if b is None or b > reference:
        out.append("ID_BAD_BIRTHDATE")
    if int(s[:6]) not in known_codes():
        out.append("ID_UNKNOWN_REGION")
    return out


def to_legacy15(id18: str) -> str:
    """The 15-digit legacy form of an 18-digit ID born in the 1900s."""
    return id18[:6] + id18[8:17]
