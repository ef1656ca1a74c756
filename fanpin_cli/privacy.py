"""The one masking function: every text that leaves the program goes through it.

An ID number is masked wherever it appears — an ID column, a name, a message, a reason, an
error — in every form: 18, 15, 20 digits (残疾人证号), full-width digits, with spaces or
hyphens inside, inside a longer run of digits, ending in x/X. A run of digits (single spaces or
hyphens between digits allowed) that holds at least `MIN_DIGITS` digits and looks like an ID
(`looks_like_id`: 15 or 18 characters, or a region code followed by a birth date anywhere in
it; a 16-digit 户编号 does not) keeps its first 6 digits (the region code, which the county and village beside it tell anyway) and its last
character; every other digit becomes `*`. A run of exactly 15 digits (a first-generation ID,
whose last digit is a sequence digit, not a check character) keeps its region code only.

Why so much: the birth date (digits 7–14) is often shown beside a masked ID (待核实匹配, `fanpin
ids`), so the sequence digits (15–17) must stay hidden too. With region, birth date, sex and the
check character all known, about 45 IDs remain possible: none can be rebuilt. A 15-digit ID
shows no sequence digit (`hidden_last`): beside its 18-digit form, whose check character is
shown, about 90 remain (with its last digit shown, only about 9 would).

Shorter values of an ID column (damaged IDs, 7–13 characters) keep 3 + 1 (`mask_id`).

>>> mask_text("第3行：433127199001011238 无法解析")
'第3行：433127***********8 无法解析'
>>> mask_text("残疾人证号43312719900101123812")
'残疾人证号433127*************2'
>>> mask_text("４３３１２７１９９００１０１１２３８")
'４３３１２７***********８'
>>> mask_text("4331 2719 9001 0112 3X")
'4331 27** **** **** *X'
>>> mask_text("15位身份证433127900101123")
'15位身份证433127*********'
>>> mask_text("结算 2026-11-30 2026-12-01，金额 9342.50 元，户编号 4331270400200004")
'结算 2026-11-30 2026-12-01，金额 9342.50 元，户编号 4331270400200004'

No polars at import time: the CLI and the error classes use `mask_text`.
"""

from __future__ import annotations

import re
from typing import Any

from fanpin_cli.tables import C

MIN_DIGITS = 14  # an ID's region + birth date: fewer digits identify nobody
KEEP_HEAD = 6
_DIGITS = "0-9\uff10-\uff19"
_DIGIT = re.compile(f"[{_DIGITS}]")
# What may stand between two digits of one number as it was typed or pasted: spaces of every
# width, a tab or line break (cells pasted from a spreadsheet, Alt+Enter), dots, hyphens and
# dashes of every width, invisible characters (zero-width, soft hyphen) — up to two of them.
_SEP = "[ \t\r\n.\\-\u00a0\u00ad\u2000-\u2015\u2060\u202f\u205f\u2212\u3000\ufeff\uff0d\uff0e]"
_WIDTH_SEP = "[ \t\r\n\u00a0\u2000-\u200a\u202f\u205f\u3000]"  # (before a final x)
# Digits, a few separators between them, maybe a final x/X (also full-width).
_RUN = re.compile(f"[{_DIGITS}](?:{_SEP}{{0,2}}[{_DIGITS}])*(?:{_WIDTH_SEP}?[xXｘＸ])?")
# The same runs, only those of at least MIN_DIGITS digits (a shorter run is never masked, so
# `mask_text` need not look at it).
_LONG_RUN = re.compile(
    f"[{_DIGITS}](?:{_SEP}{{0,2}}[{_DIGITS}]){{{MIN_DIGITS - 1},}}(?:{_WIDTH_SEP}?[xXｘＸ])?"
)
# An ID without its region code (the county's, shown beside it anyway): a birth date, three
# digits and the check character, standing alone.
BARE_LEN = 12
_BIRTH_DATE = r"(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"  # YYYYMMDD
_BARE_ID = _BIRTH_DATE + "[0-9]{3}[0-9xX]"
_BARE = re.compile(f"(?<![{_DIGITS}]){_BARE_ID}(?![{_DIGITS}])")
_BARE_PATTERN = f"(?:^|[^{_DIGITS}]){_BARE_ID}(?:$|[^{_DIGITS}])"  # the same for polars (no look-around)
# Columns that hold keys (hex digests), never IDs: left alone.
KEY_COLUMNS: tuple[str, ...] = (C.record_key, C.person_key)


# A region code followed by a birth date (YYYYMMDD): the core of an 18-digit ID, wherever it sits.
_BIRTH_WINDOW = "[0-9]{6}" + _BIRTH_DATE
_ID_CORE = re.compile(_BIRTH_WINDOW)
_WIDE = str.maketrans("０１２３４５６７８９ｘＸ", "0123456789xX")


def hidden_last(digit_count: int) -> bool:
    """Whether a masked ID of `digit_count` digits hides its last character too: a 15-digit
    ID's last digit is its third sequence digit (its sex), not a check character.

    >>> hidden_last(15), hidden_last(18), hidden_last(20)
    (True, False, False)
    """
    return digit_count == 15


def looks_like_id(digits: str) -> bool:
    """Whether a run of digits (ASCII, maybe a final X) is or holds an ID: 15 or 18 characters,
    or any length holding a region code + birth date. Codes such as the 16-digit 户编号 are not.

    >>> looks_like_id("433127199001011238"), looks_like_id("4331270400200004")
    (True, False)
    """
    return len(digits) in (15, 18) or bool(_ID_CORE.search(digits))


_DATE = re.compile(r"[0-9]{4}[-.][0-9]{1,2}[-.][0-9]{1,2}(?![0-9])")
# A date standing between spaces (or at an end) of a run: its own token, never part of an ID.
_DATE_TOKEN = re.compile(r"((?:^|(?<=\s))[0-9]{4}[-.][0-9]{1,2}[-.][0-9]{1,2}(?=\s|$))")
_SPACE = re.compile("\\s")


def _mask_run(match: re.Match[str]) -> str:
    run = match.group(0)
    if _DATE.search(run) and _SPACE.search(run):  # dates in a row ("2026-05-01 2026-06-01", "2026-11-30 4331…")
        parts = _DATE_TOKEN.split(run)
        if len(parts) > 1:
            return "".join(part if _DATE_TOKEN.fullmatch(part) else _LONG_RUN.sub(_mask_run, part) for part in parts)
    positions = [i for i, ch in enumerate(run) if _DIGIT.match(ch)]
    if len(positions) < MIN_DIGITS:
        return run
    if not looks_like_id("".join(run[i] for i in positions).translate(_WIDE) + run[-1].translate(_WIDE).strip("0123456789")):
        return run
    last = len(run) - 1
    hide = set(positions[KEEP_HEAD:]) - (set() if hidden_last(len(positions)) else {last})
    return "".join("*" if i in hide else ch for i, ch in enumerate(run))


def mask_text(text: str) -> str:
    """Every ID-like run of digits in `text` masked (see module docstring); an ID without its
    region code (a birth date, three digits, the check character: `BARE_LEN` characters standing
    alone) keeps only its last character.

    >>> mask_text("433127" + chr(9) + "195002111718") == "433127" + chr(9) + "***********8"  # a tab
    True
    >>> mask_text("433127－195102121788"), mask_text("彭195208196040")
    ('433127－***********8', '彭***********0')
    >>> mask_text("2026-11-30 433127 19510322 2476")
    '2026-11-30 433127 ******** ***6'
    """
    if not isinstance(text, str) or len(text) < BARE_LEN:
        return text
    return _BARE.sub(_bare_masked, _LONG_RUN.sub(_mask_run, text))


def _bare_masked(match: re.Match[str]) -> str:
    return "*" * (len(match.group(0)) - 1) + match.group(0)[-1]


# `mask_thoroughly`: what hides an ID's digits from `mask_text` in text nobody shaped for a
# reader (a library's message, a repr of bytes, a path). Escapes of characters (JSON's
# \uff14, Python's \U0001…, bytes' \xef\xbc\x94 when they make UTF-8 text) are decoded,
# NULs (UTF-16 text read as bytes: b'4\x003\x00…') dropped; then digits count as one run
# across at most `LOOSE_GAP` of the characters that split numbers in paths, lists and lines
# (`_LOOSE_SEPARATORS`: _ / \ , TAB, newline, quotes, spaces, . and -).
LOOSE_GAP = 4
_LOOSE_SEPARATORS = "[ \t\r\n._/\\\\,'\"\\-\u00a0\u3000]"
_CHAR_ESCAPE = re.compile(r"\\+(?:u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8}))")
_BYTE_ESCAPES = re.compile(r"(?:\\+x[0-9a-fA-F]{2})+")
_LOOSE_RUN = re.compile(
    f"[{_DIGITS}](?:{_LOOSE_SEPARATORS}{{0,{LOOSE_GAP}}}[{_DIGITS}])*(?:{_LOOSE_SEPARATORS}{{0,2}}[xXｘＸ](?![^\\W_]))?"
)
_WHITESPACE = re.compile(r"(\s+)")


def mask_thoroughly(text: str) -> str:
    """`mask_text` of `text` with its escapes decoded and NULs dropped, then every run of
    digits split by a few separators (`LOOSE_GAP`) masked when its digits together look like
    an ID: for text that is sent away (crash reports), where masking too much costs nothing.
    A run of dates split by spaces is looked at date by date, as `mask_text` does.

    >>> mask_thoroughly(repr("433127199001011238".encode("utf-16-le")))
    "b'433127***********8'"
    >>> import json
    >>> mask_thoroughly("/data/433127_199001011238.xlsx；" + json.dumps("４３３１２７１９９００１０１１２３８"))
    '/data/433127_***********8.xlsx；"４３３１２７***********８"'
    >>> mask_thoroughly("['433127', '199001011238'] 户编号 4331270400200004 2026-11-30 2026-12-01")
    "['433127', '***********8'] 户编号 4331270400200004 2026-11-30 2026-12-01"
    """
    if not isinstance(text, str):
        return text
    text = _BYTE_ESCAPES.sub(_decoded_bytes, _CHAR_ESCAPE.sub(_decoded_char, text)).replace("\x00", "")
    return _LOOSE_RUN.sub(_mask_loose_run, mask_text(text))


def _decoded_char(match: re.Match[str]) -> str:
    """A \\uXXXX or \\UXXXXXXXX escape's character (a surrogate, or no character: as it was)."""
    code = int(match.group(1) or match.group(2), 16)
    return chr(code) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else match.group(0)


def _decoded_bytes(match: re.Match[str]) -> str:
    """\\xNN escapes without their NULs, as the UTF-8 text they make if they do (and it is
    printable), else as they were."""
    escapes = [e for e in re.findall(r"\\+x[0-9a-fA-F]{2}", match.group(0)) if e[-2:] != "00"]
    try:
        decoded = bytes(int(e[-2:], 16) for e in escapes).decode("utf-8")
    except UnicodeDecodeError:
        return "".join(escapes)
    return decoded if decoded.isprintable() else "".join(escapes)


def _mask_loose_run(match: re.Match[str]) -> str:
    run = match.group(0)
    if _DATE.search(run) and _WHITESPACE.search(run):
        # dates in a row ("2026-05-01 2026-06-01"): each date alone, the digits between dates together
        masked, between = [], ""
        for part in _WHITESPACE.split(run):
            if part.isspace() or not _DATE.search(part):
                between += part
                continue
            masked += [_LOOSE_RUN.sub(_mask_loose_run, between), _LOOSE_RUN.sub(_mask_loose_run, part)]
            between = ""
        return "".join([*masked, _LOOSE_RUN.sub(_mask_loose_run, between)])
    positions = [i for i, ch in enumerate(run) if _DIGIT.match(ch)]
    if len(positions) < MIN_DIGITS:
        return run
    last = run[-1].translate(_WIDE)
    if not looks_like_id("".join(run[i] for i in positions).translate(_WIDE) + (last if last in "xX" else "")):
        return run
    hide = set(positions[KEEP_HEAD:]) - (set() if hidden_last(len(positions)) else {len(run) - 1})
    return "".join("*" if i in hide else ch for i, ch in enumerate(run))


# JSON keys whose values are hex digests (a file's sha256, keyed hashes): a digest may hold a
# run of 15 or 18 decimal digits by chance, which is not an ID and must stay as it is.
DIGEST_KEYS: frozenset[str] = frozenset({"sha256", "file_sha256", *KEY_COLUMNS})
_HEX = re.compile("[0-9a-f]+")


def _is_digest(key: Any, value: Any) -> bool:
    return key in DIGEST_KEYS and isinstance(value, str) and _HEX.fullmatch(value) is not None


def mask_data(value: Any) -> Any:
    """`mask_text` on every string inside a JSON-like value (dicts, lists), keys included;
    hex digests under `DIGEST_KEYS` are left alone.

    >>> digest = "ab" + "433127199001011238" + "c" * 44
    >>> mask_data({"sha256": digest, "note": digest}) == {"sha256": digest, "note": mask_text(digest)}
    True
    """
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {mask_text(k) if isinstance(k, str) else k: v if _is_digest(k, v) else mask_data(v)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_data(v) for v in value]
    return value


# C0 and C1 control characters (ESC starts terminal escape sequences), DEL, and the Unicode
# bidirectional overrides that reorder what a terminal shows.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def console_text(text: str) -> str:
    """`mask_text`, then every control character shown as `�`: what the console and log print
    of data, file names and county names (rich markup is escaped where it is printed).

    >>> console_text("永顺县\x1b[2J433127199001011238")
    '永顺县�[2J433127***********8'
    """
    return _CONTROL.sub("\ufffd", mask_text(text))


def console_data(value: Any) -> Any:
    """`console_text` on every string inside a JSON-like value."""
    if isinstance(value, str):
        return console_text(value)
    if isinstance(value, dict):
        return {console_text(k) if isinstance(k, str) else k: console_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [console_data(v) for v in value]
    return value


def mask_series(series: Any) -> Any:
    """`mask_text` over a polars String Series (`mask_frame` of the one column).

    >>> import polars as pl
    >>> mask_series(pl.Series(["433127199001011238", "户编号4331270400200004", None])).to_list()
    ['433127***********8', '户编号4331270400200004', None]
    """
    import polars as pl

    if series.dtype != pl.String:
        return series
    return mask_frame(series.to_frame(), skip=()).to_series()


_DIGITS_ONLY = r"^[0-9]+[0-9Xx]$"
_PLAIN = re.compile("[0-9]+[0-9Xx]")  # the same test, for `re.fullmatch`


def _plain_masked(value: str) -> str:
    """An ID written as digits alone (maybe a final X): its first KEEP_HEAD digits and its last
    character, the others `*` (at most 64); 15 digits keep the first KEEP_HEAD only.

    >>> _plain_masked("433127199001011238"), _plain_masked("43312719900101123812"), _plain_masked("433127900101123")
    ('433127***********8', '433127*************2', '433127*********')
    """
    if hidden_last(len(value)):
        return value[:KEEP_HEAD] + "*" * (len(value) - KEEP_HEAD)
    return value[:KEEP_HEAD] + "*" * max(0, min(len(value) - KEEP_HEAD - 1, 64)) + value[-1:]


def mask_frame(frame: Any, *, skip: tuple[str, ...] = KEY_COLUMNS) -> Any:
    """Every String column of a polars frame masked as `mask_text` masks each cell (key
    columns left alone), worked out once per distinct value that could hold an ID.

    One query finds, for every column at once, the distinct values holding a run
    `mask_text` masks: IDs written as digits alone (masked as `_plain_masked`) and texts with
    other characters (masked by `mask_text`, in Python). Digits alone that are no ID (户编号)
    and every shorter or run-free text — most cells: names, codes, dates, amounts — stay as
    they are without reaching Python. A second query puts the masked values in (two polars
    calls per frame, not one per column and step: the calls wait for the interpreter lock
    while the workbooks are written beside them).

    >>> import polars as pl
    >>> frame = pl.DataFrame({"a": ["433127199001011238", "张三"], "b": ["证号433127199001011238", None],
    ...                       "c": ["4331270400200004", "2026-11-30 2026-12-01"], "n": [1, 2]})
    >>> mask_frame(frame).rows()
    [('433127***********8', '证号433127***********8', '4331270400200004', 1), ('张三', None, '2026-11-30 2026-12-01', 2)]
    """
    import polars as pl

    cols = [c for c, t in frame.schema.items() if t == pl.String and c not in skip]
    if not cols or frame.height == 0:
        return frame
    # A text of fewer bytes than MIN_DIGITS cannot hold that many digits. The distinct values
    # are made (as lists) before they are tested: a `unique()` has no fixed order, so a test
    # written on it must not evaluate it a second time.
    found = (
        frame.lazy()
        .select([pl.col(c).filter(pl.col(c).str.len_bytes() >= BARE_LEN).unique().implode() for c in cols])
        .select([pl.col(c).list.eval(pl.element().filter(_may_change(pl.element()))) for c in cols])
        .collect().row(0)
    )
    replace = []
    for c, values in zip(cols, found, strict=True):
        masked = [(v, _plain_masked(v) if _PLAIN.fullmatch(v) and len(v) > BARE_LEN else mask_text(v)) for v in values or ()]
        changed = [(old, new) for old, new in masked if old != new]
        if changed:
            replace.append(pl.col(c).replace([old for old, _ in changed], [new for _, new in changed]))
    return frame.with_columns(replace) if replace else frame


def _may_change(values: Any) -> Any:
    """Whether `mask_text` could change each of `values` (texts): it holds a run of
    MIN_DIGITS digits and is not digits alone that are no ID (户编号), or an ID without its
    region code (`_BARE`)."""
    digits = values.str.contains(_DIGITS_ONLY)
    plain = digits & (values.str.len_chars().is_in([15, 18]) | values.str.contains(_BIRTH_WINDOW))
    return (values.str.contains(_LONG_RUN.pattern) & (plain | ~digits)) | values.str.contains(_BARE_PATTERN)
