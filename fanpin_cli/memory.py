"""Hold less memory: hand what the run no longer uses back to the operating system, and keep
a repeated text once.

Reading an .xlsx (fastexcel/calamine), decoding a GBK text file and the linking's
intermediate frames free a lot of memory that C `malloc` keeps for reuse; on a shared county
server that memory stays counted against the run until it ends. `release_unused()` asks the C
library to return it (glibc's `malloc_trim`); elsewhere it does nothing. It frees nothing that
is still in use, so it only changes how much memory the process holds, never a result.

>>> release_unused() in (True, False)
True

A column of a few long texts repeated on a million rows (the links' Chinese reasons) holds
every row's own copy; `shared_text` gives back the same values, each distinct text stored once
(polars' string views of the rows point at it): ~16 bytes a row instead of ~100.

>>> s = pl.Series("reason", ["证件号码与花名册一致", None, "证件号码与花名册一致"])
>>> shared_text(s).equals(s)
True
"""

from __future__ import annotations

import ctypes
import sys
from functools import cache
from typing import Any

import polars as pl

MOST_SHARED = 65_536  # distinct texts at most, for `shared_text` (each made once in Python)


@cache
def _libc() -> Any:
    """glibc, when the process runs on it (None elsewhere: macOS, Windows, musl)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")  # not ctypes.util.find_library: it starts a process
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # no glibc (musl has no malloc_trim)
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return libc


def release_unused() -> bool:
    """Return the C heap's free pages to the operating system; True when some were."""
    libc = _libc()
    return bool(libc.malloc_trim(0)) if libc is not None else False


def shared_text(column: pl.Series, *, most: float = 0.25) -> pl.Series:
    """`column` (String) with equal values sharing one copy of their bytes: same values, same
    dtype, same name. Left as it is when more than `most` of its rows, or more than
    MOST_SHARED values, are distinct (nothing to share; each shared value is made once in
    Python), or when it is not text."""
    if column.dtype != pl.String or column.len() == 0:
        return column
    values = column.drop_nulls().unique(maintain_order=True)
    if values.len() > min(most * column.len(), MOST_SHARED):
        return column
    # made again from Python texts: `unique` gives views into the column's own buffers, which
    # would keep every row's bytes alive under the shared values
    own = pl.Series(column.name, values.to_list(), dtype=pl.String)
    return own.gather(column.cast(pl.Enum(own)).to_physical()).alias(column.name)
