"""Faults injected into the ID and name cells of extract rows, each kind recorded by name.

>>> import numpy as np
>>> excel_sci("433127198507121237")
'4.33127E+17'
"""

from __future__ import annotations

import re
from datetime import date

import numpy as np

from . import ids, names

# Probability per extract row (before eligibility); rates for narrow kinds are per eligible row.
ID_RATES: dict[str, float] = {
    "id_typo": 0.02,
    "id_typo_valid_checksum": 0.0025,
    "id_transpose": 0.008,
    "id_excel_000": 0.006,
    "id_excel_sci": 0.004,
    "id_legacy_15": 0.012,       # among persons born before 1990
    "id_fullwidth": 0.005,
    "id_spaces": 0.014,
    "id_lower_x": 0.07,          # among IDs ending in X
    "id_apostrophe": 0.01,
    "id_missing": 0.007,
    "id_placeholder": 0.0015,
    "id_edu_prefix": 0.03,       # education only
}
NAME_RATES: dict[str, float] = {
    "name_traditional": 0.008,
    "name_homophone": 0.008,
    "name_spaces": 0.009,
    "name_fullwidth": 0.003,
    "name_dot_variant": 0.35,    # among dotted minority names
    "name_shape": 0.005,
    "name_missing": 0.005,
}
ID_KINDS = tuple(ID_RATES)
NAME_KINDS = tuple(NAME_RATES)
# Kinds each sector may carry (others are not how that department's data goes wrong).
SECTOR_EXCLUDE: dict[str, frozenset[str]] = {
    "education": frozenset(),
    "disability": frozenset({"id_excel_000", "id_legacy_15", "id_placeholder", "id_edu_prefix"}),
}
_DEFAULT_EXCLUDE = frozenset({"id_edu_prefix"})
_FULLWIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
_SPACES = (" ", "\u3000", "\u00a0", "\u200b", "  ")


def _date_ok(s: str, ref: date) -> bool:
    b = ids.birth_of(s)
    return b is not None and b <= ref and b.year >= 1900


def typo(idv: str, rng: np.random.Generator, ref: date) -> str:
    """One wrong digit (checksum then fails); the birth date stays a real date."""
    for _ in range(40):
        p = int(rng.integers(2, 6)) if rng.random() < 0.12 else int(rng.integers(6, 17))
        new = idv[:p] + str((int(idv[p]) + int(rng.integers(1, 10))) % 10) + idv[p + 1:]
        if _date_ok(new, ref) and not ids.checksum_ok(new):
            return new
    return idv[:16] + str((int(idv[16]) + 2) % 10) + idv[17]


_INV11 = {w: pow(w, -1, 11) for w in range(1, 11)}


def typo_valid_checksum(idv: str, rng: np.random.Generator, ref: date) -> str:
    """Two wrong digits that happen to keep the check character valid."""
    w = ids.WEIGHTS.tolist()
    for _ in range(200):
        i = int(rng.integers(12, 17))
        di = (int(idv[i]) + int(rng.integers(1, 10))) % 10
        delta = (-(w[i] * (di - int(idv[i])))) % 11
        for j in rng.permutation(np.arange(8, 17)).tolist():
            if j == i:
                continue
            dj = (int(idv[j]) + delta * _INV11[w[j]]) % 11
            if dj > 9 or dj == int(idv[j]):
                continue
            chars = list(idv)
            chars[i], chars[j] = str(di), str(dj)
            new = "".join(chars)
            if _date_ok(new, ref) and ids.checksum_ok(new) and new != idv:
                return new
    return typo(idv, rng, ref)


def transpose(idv: str, rng: np.random.Generator, ref: date) -> str:
    """Two adjacent digits swapped."""
    cands = [k for k in range(6, 16) if idv[k] != idv[k + 1]]
    for k in rng.permutation(np.array(cands, dtype=np.int64)).tolist():
        new = idv[:k] + idv[k + 1] + idv[k] + idv[k + 2:]
        if _date_ok(new, ref):
            return new
    return typo(idv, rng, ref)


def excel_000(idv: str) -> str:
    """Excel kept 15 significant digits: the last three became 000."""
    return idv[:15] + "000"


def excel_000_fails(idv: str) -> bool:
    """True if the 000 form fails the check (so it is recognisably mangled)."""
    return not ids.checksum_ok(idv[:15] + "000")


def excel_sci(idv: str) -> str:
    """Excel's General format of a long number: 4.33127E+17."""
    digits = re.sub(r"\D", "", idv) or "0"
    mant = f"{int(digits[:7]) / 1e6:.5f}".rstrip("0").rstrip(".")
    if float(mant) >= 10:
        mant, exp = "1", len(digits)
    else:
        exp = len(digits) - 1
    return f"{mant}E+{exp}"


def fullwidth(idv: str, rng: np.random.Generator) -> str:
    """Full-width digits (all, or the tail only) and Ｘ."""
    if rng.random() < 0.6:
        return idv.translate(_FULLWIDTH)
    k = int(rng.integers(6, 17))
    return idv[:k] + idv[k:].translate(_FULLWIDTH)


def spaced_id(idv: str, rng: np.random.Generator) -> str:
    """Spaces (ASCII, U+3000, U+00A0, zero-width) inside or around the ID."""
    sp = _SPACES[int(rng.integers(0, len(_SPACES)))]
    r = rng.random()
    if r < 0.4:
        return idv[:6] + sp + idv[6:14] + sp + idv[14:]
    if r < 0.7:
        k = int(rng.integers(1, len(idv)))
        return idv[:k] + sp + idv[k:]
    return idv + sp if r < 0.85 else sp + idv


def placeholder(rng: np.random.Generator) -> str:
    """A placeholder standing in for an unknown ID."""
    return "9" * 18 if rng.random() < 0.7 else "999999" + "0" * 12


def _pick(rng: np.random.Generator, free: np.ndarray, eligible: np.ndarray, rate: float) -> np.ndarray:
    return np.flatnonzero(free & eligible & (rng.random(free.size) < rate))


def inject(
    id_true: np.ndarray,
    name_true: np.ndarray,
    birth: np.ndarray,
    sector: str,
    rng: np.random.Generator,
    ref: date,
    *,
    suffix: np.ndarray | None = None,
    scale: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Written ID and name cells for extract rows, plus the ";"-joined fault kinds per row.

    `suffix` (disability) is appended to the 18-character ID after the ID fault is applied.
    """
    n = id_true.size
    out_id = id_true.astype(object).copy()
    out_name = name_true.astype(object).copy()
    kinds = np.full(n, "", dtype=object)
    exclude = SECTOR_EXCLUDE.get(sector, _DEFAULT_EXCLUDE)
    year = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    free = np.ones(n, dtype=bool)
    everyone = np.ones(n, dtype=bool)
    x_cand = np.flatnonzero(rng.random(n) < ID_RATES["id_lower_x"])
    ends_x = np.zeros(n, dtype=bool)
    ends_x[x_cand[np.array([out_id[i].endswith("X") for i in x_cand.tolist()], dtype=bool)]] = True
    elig = {"id_lower_x": ends_x, "id_legacy_15": year < 1990}
    for kind in ID_KINDS:
        if kind in exclude:
            continue
        rate = 1.0 if kind == "id_lower_x" else ID_RATES[kind] * (scale if kind not in elig else 1)
        idx = _pick(rng, free, elig.get(kind, everyone), rate)
        if kind in ("id_excel_000", "id_excel_sci"):   # an ID ending in X stays text in Excel
            idx = idx[np.array([not out_id[i].endswith("X") and (kind == "id_excel_sci" or excel_000_fails(out_id[i]))
                                for i in idx.tolist()], dtype=bool)] if idx.size else idx
        free[idx] = False
        kinds[idx] = kind
        for i in idx.tolist():
            s = out_id[i]
            if kind == "id_typo":
                s = typo(s, rng, ref)
            elif kind == "id_typo_valid_checksum":
                s = typo_valid_checksum(s, rng, ref)
            elif kind == "id_transpose":
                s = transpose(s, rng, ref)
            elif kind == "id_excel_000":
                s = excel_000(s)
            elif kind == "id_excel_sci":
                s = excel_sci(s + (suffix[i] if suffix is not None else ""))
            elif kind == "id_legacy_15":
                s = ids.to_legacy15(s)
            elif kind == "id_fullwidth":
                s = fullwidth(s, rng)
            elif kind == "id_spaces":
                s = spaced_id(s, rng)
            elif kind == "id_lower_x":
                s = s[:-1] + "x"
            elif kind == "id_apostrophe":
                s = "'" + s
            elif kind == "id_missing":
                s = ""
            elif kind == "id_placeholder":
                s = placeholder(rng)
            elif kind == "id_edu_prefix":
                s = "GJL"[int(rng.integers(0, 3))] + s
            out_id[i] = s
    if suffix is not None:
        keep = ~np.isin(kinds, ("id_missing", "id_excel_sci", "id_placeholder"))
        out_id[keep] = np.char.add(out_id[keep].astype(str), suffix[keep].astype(str)).astype(object)
        # spaces inserted at the end of the ID belong after the suffix in a real cell
    _inject_names(out_name, kinds, rng, scale)
    return out_id, out_name, kinds


# Rough share of rows for which a narrow name fault is possible (candidates are over-sampled by it).
_NAME_SHARE = {"name_traditional": 0.8, "name_homophone": 0.6, "name_shape": 0.25, "name_dot_variant": 1.0}
_NAME_OK = {
    "name_traditional": names.can_traditional,
    "name_homophone": lambda s: any(c in names.HOMOPHONES for c in s),
    "name_shape": lambda s: any(c in names.SHAPES for c in s),
    "name_dot_variant": lambda s: "·" in s,
}


def _inject_names(out_name: np.ndarray, kinds: np.ndarray, rng: np.random.Generator, scale: float) -> None:
    n = out_name.size
    free = np.ones(n, dtype=bool)
    for kind in NAME_KINDS:
        rate = NAME_RATES[kind] * (1 if kind == "name_dot_variant" else scale)
        share = _NAME_SHARE.get(kind, 1.0)
        idx = np.flatnonzero(free & (rng.random(n) < min(1.0, rate / share)))
        ok = _NAME_OK.get(kind)
        if ok is not None:
            idx = idx[np.array([ok(out_name[i]) for i in idx.tolist()], dtype=bool)] if idx.size else idx
        free[idx] = False
        for i in idx.tolist():
            s = out_name[i]
            if kind == "name_traditional":
                s = names.traditional(s)
            elif kind == "name_homophone":
                s = names.homophone_variant(s, rng)
            elif kind == "name_spaces":
                s = names.spaced(s, rng)
            elif kind == "name_fullwidth":
                s = names.spaced(s, rng, "\u3000")
            elif kind == "name_dot_variant":
                s = names.dot_variant(s, rng)
            elif kind == "name_shape":
                s = names.shape_variant(s, rng)
            elif kind == "name_missing":
                s = ""
            out_name[i] = s
            kinds[i] = f"{kinds[i]};{kind}" if kinds[i] else kind
