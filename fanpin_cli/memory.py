"""Hand memory the run no longer uses back to the operating system.

Reading an .xlsx (fastexcel/calamine), decoding a GBK text file and the linking's
intermediate frames free a lot of memory that C `malloc` keeps for reuse; on a shared county
server that memory stays counted against the run until it ends. `release_unused()` asks the C
library to return it (glibc's `malloc_trim`); elsewhere it does nothing. It frees nothing that
is still in use, so it only changes how much memory the process holds, never a result.

>>> release_unused() in (True, False)
True
"""

from __future__ import annotations

import ctypes
import sys
from functools import cache
from typing import Any


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
