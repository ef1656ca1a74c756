"""Chinese personal names: a normalized form and a pinyin key, computed in batches.

Traditional → simplified (OpenCC) and Han → pinyin (pypinyin) are looked up once per distinct
character in the data, then applied to the whole column with `str.replace_many`, so a million
names cost one vectorized pass.

>>> import polars as pl
>>> out = with_name_columns(pl.DataFrame({"name": ["張 曉明", "阿依古丽•买买提", "ＬＩ小明"]}))
>>> out["name_norm"].to_list()
['张晓明', '阿依古丽·买买提', 'LI小明']
>>> out["name_pinyin"].to_list()[0]
'zhangxiaoming'
"""

from __future__ import annotations

import sys
import threading
from functools import lru_cache
from types import ModuleType

import polars as pl

MIDDLE_DOT = "\u00b7"
# Middle-dot look-alikes seen in minority names (after NFKC folding).
_DOTS = r"[\u2022\u30fb\uff65\u2027\u2219\u22c5\u0387\u16eb\u2e31\u00b7.．。﹒・]"
_SPACES = r"[\s\u00a0\u3000\u200b\u200c\u200d\u2060\ufeff]"
# A long name written as two Han parts with a space between (阿依古丽 买买提): a minority name
# whose middle dot was typed as a space. Short ones (王 芳, 欧阳 娜娜) are spaced-out Han names.
_SPACED_PARTS = r"^([\p{Han}]{2,})\s+([\p{Han}]{2,})$"
_SPACED_MIN_CHARS = 5


def normalize_name(raw: pl.Expr) -> pl.Expr:
    """Trim, drop inner spaces, fold full-width (NFKC) and unify middle dots to U+00B7.

    A space between two Han parts of a name of 5+ characters is taken as a middle dot.

    Empty results are null. Traditional characters are handled by `with_name_columns`.
    """
    return _normalize_folded(_fold(raw))


def _fold(raw: pl.Expr) -> pl.Expr:
    """The first step of `normalize_name`: NFKC, trimmed."""
    return raw.cast(pl.String).str.normalize("NFKC").str.strip_chars()


def _normalize_folded(folded: pl.Expr) -> pl.Expr:
    """The rest of `normalize_name` on a folded text (give it a column: it reads it four times)."""
    dotted = (
        pl.when(
            folded.str.contains(_SPACED_PARTS)
            & (folded.str.replace_all(_SPACES, "").str.len_chars() >= _SPACED_MIN_CHARS)
        )
        .then(folded.str.replace(_SPACED_PARTS, "${1}" + MIDDLE_DOT + "${2}"))
        .otherwise(folded)
    )
    text = (
        dotted
        .str.replace_all(_SPACES, "")
        .str.replace_all(_DOTS, MIDDLE_DOT)
        .str.strip_chars(MIDDLE_DOT)
        .str.to_uppercase()
    )
    return text.replace("", None)  # empty → null (a when on its length would make the text twice)


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


_SIMPLIFIED: dict[str, str] = {}
_PINYIN: dict[str, str] = {}
_LOCK = threading.Lock()  # the pipeline prepares files on two threads; OpenCC is not shared


def _distinct_chars(values: pl.Series) -> list[str]:
    """The distinct characters of the texts of `values` (in no particular order), in one query.

    >>> sorted(_distinct_chars(pl.Series(["王芳", None, "芳华"])))
    ['华', '王', '芳']
    """
    chars = values.to_frame("v").select(pl.col("v").drop_nulls().str.split("").explode().unique()).to_series()
    return [c for c in chars.to_list() if c]


def simplified_map(chars: list[str]) -> dict[str, str]:
    """Traditional → simplified for those of `chars` that change (cached across calls)."""
    with _LOCK:
        return _simplified_map_locked(chars)


def _simplified_map_locked(chars: list[str]) -> dict[str, str]:
    todo = [c for c in chars if c not in _SIMPLIFIED]
    if todo:
        converted = _t2s().convert("\n".join(todo)).split("\n")
        if len(converted) != len(todo):  # never expected; fall back to one call per character
            converted = [_t2s().convert(c) for c in todo]
        _SIMPLIFIED.update(zip(todo, converted, strict=True))
    return {c: _SIMPLIFIED[c] for c in chars if _SIMPLIFIED[c] != c}


def pinyin_map(chars: list[str]) -> dict[str, str]:
    """Han character → toneless pinyin syllable (cached across calls)."""
    with _LOCK:
        return _pinyin_map_locked(chars)


def _load_pypinyin() -> ModuleType:
    """pypinyin, imported without its phrase dictionary when it is not loaded yet: names are
    converted one character at a time, where phrases never apply — every character
    U+3400–U+9FFF and U+F900–U+FAFF reads the same either way (`tests/test_names.py`) — and the
    phrases cost ~0.25 s CPU to load. pypinyin's own switch for it is an environment variable
    (`PYPINYIN_NO_PHRASES`), but the process's environment must not change while other threads
    run: polars and DuckDB read it from native code (C `getenv`) at any time, and a `putenv`
    meanwhile made polars' reader crash (SIGSEGV, seen once in 30 runs of a 3,000-household
    county). Instead pypinyin is given an empty phrase table to import (`phrases_dict`, put in
    `sys.modules` for the import and taken out after it: a later import of it gets the real
    one) — what the switch does: `pypinyin.constants.PHRASES_DICT` empty. Called under `_LOCK`."""
    if "pypinyin" in sys.modules:
        return sys.modules["pypinyin"]
    name = "pypinyin.phrases_dict"
    had = sys.modules.get(name)
    if had is None:
        empty = ModuleType(name)
        empty.phrases_dict = {}  # type: ignore[attr-defined]
        sys.modules[name] = empty
    try:
        import pypinyin
    finally:
        if had is None and sys.modules.get(name) is empty:
            del sys.modules[name]
    return pypinyin


def warm_up() -> None:
    """Load pypinyin (`_load_pypinyin`) and OpenCC's traditional → simplified table now, not at
    the first name converted (`prepare.warm_up`)."""
    with _LOCK:
        _load_pypinyin()
        _t2s()


def _pinyin_map_locked(chars: list[str]) -> dict[str, str]:
    pypinyin = _load_pypinyin()
    Style, lazy_pinyin = pypinyin.Style, pypinyin.lazy_pinyin

    for c in chars:
        if c not in _PINYIN:
            syllables = lazy_pinyin(c, style=Style.NORMAL, errors="default")
            _PINYIN[c] = syllables[0].lower() if syllables else c
    return {c: _PINYIN[c] for c in chars}


def _replace_chars(expr: pl.Expr, mapping: dict[str, str]) -> pl.Expr:
    if not mapping:
        return expr
    return expr.str.replace_many(list(mapping), list(mapping.values()))


# A name of Han characters alone (CJK Unified Ideographs and Extension A): `normalize_name`
# gives it back as it is (NFKC leaves these characters alone, they have no case, and there is
# no space or dot to fold). Most names are such; only the others are normalized.
_HAN_ONLY = r"^[\u3400-\u4dbf\u4e00-\u9fff]+$"


def name_keys(values: pl.Series) -> pl.DataFrame:
    """One row per distinct value of `values` (in no particular order): the value plus its
    `name_norm`, `name_key` and `name_pinyin`. `normalize_name` is applied to the values that
    are not Han characters alone (`_HAN_ONLY`: the others it would give back unchanged).

    >>> name_keys(pl.Series(["張 曉明", "王芳"])).sort("raw").rows()
    [('張 曉明', '张晓明', '张晓明', 'zhangxiaoming'), ('王芳', '王芳', '王芳', 'wangfang')]
    """
    raw = values.unique()
    han_only = raw.str.contains(_HAN_ONLY).fill_null(False)
    other = raw.filter(~han_only).to_frame("raw").with_columns(_fold(pl.col("raw")).alias("name_norm"))
    frame = pl.concat([
        raw.filter(han_only).to_frame("raw").with_columns(pl.col("raw").alias("name_norm")),
        other.with_columns(_normalize_folded(pl.col("name_norm")).alias("name_norm")),
    ])
    chars = _distinct_chars(frame["name_norm"])
    simplified = simplified_map(chars)
    frame = frame.with_columns(_replace_chars(pl.col("name_norm"), simplified).alias("name_norm"))
    frame = frame.with_columns(
        pl.col("name_norm").str.replace_all(MIDDLE_DOT, "", literal=True).alias("name_key")
    )
    # name_key's characters: name_norm's as simplified (each replaced by its text), without the dot
    key_chars = {k for c in chars for k in simplified.get(c, c)} - {MIDDLE_DOT}
    han = [c for c in key_chars if _is_han(c)]
    return frame.with_columns(
        _replace_chars(pl.col("name_key"), pinyin_map(han)).str.to_lowercase().alias("name_pinyin")
    )


def _is_han(char: str) -> bool:
    return "\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff"


def with_name_columns(frame: pl.DataFrame, raw: str = "name", *, prefix: str = "") -> pl.DataFrame:
    """Add `name_norm` (normalized, simplified), `name_key` (name_norm without middle dots,
    for comparison) and `name_pinyin` (toneless pinyin of name_key, for homophones).

    Work is done once per distinct name and joined back, keeping row order.
    """
    keys = name_keys(frame[raw].cast(pl.String)).rename(
        {"raw": "__raw", "name_norm": f"{prefix}name_norm", "name_key": f"{prefix}name_key",
         "name_pinyin": f"{prefix}name_pinyin"}
    )
    # the raw column alone is joined (a join gathers every column of its left side again)
    out = frame.select(pl.col(raw).cast(pl.String).alias("__raw")).join(
        keys, on="__raw", how="left", nulls_equal=True, maintain_order="left"
    )
    return frame.with_columns(out.drop("__raw"))
