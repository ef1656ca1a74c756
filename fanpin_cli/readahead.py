"""Which input files the report process reads for a small county's run, decided from the
config's input files alone: by the run (`pipeline._reads_ahead`) and by the `fanpin run`
command's first step (`launch`), which orders them read before this process has imported
polars or parsed its command line. Imports only the standard library and `config`.

A small county (every input under LINK_APART_BYTES) has its roster read there — the head of
the run's longest chain (roster → prepared → every extract linked) — and its extracts under
LINK_TOGETHER_BYTES (linked together once all are read), the biggest first, as the run's
workers read them.

>>> import tempfile
>>> d = Path(tempfile.mkdtemp())
>>> for name, size in (("r.csv", 10), ("a.csv", 30), ("b.csv", 20), ("big.csv", 3 * 2**20)):
...     _ = (d / name).write_bytes(b"x" * size)
>>> spec = lambda name: InputSpec("police", d / name, name)
>>> [s.source_file for s in ahead_specs(spec("r.csv"), [spec("b.csv"), spec("big.csv"), spec("a.csv")])]
['r.csv', 'a.csv', 'b.csv']
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fanpin_cli.config import InputSpec

# Files of this size or more are linked one after another, not side by side (`pipeline.compute`):
# at 200,000 households the 4M- and 1M-row files' linkings together took the main process from
# ~4.8 to ~6.1 GB. A county whose every file is smaller is a small county.
LINK_APART_BYTES = 64 * 2**20
# Extracts under this size are linked together, in one pass of the linker's tiers once they are
# all read (`linking.link_files`): each file linked alone cost ~20 ms of fixed work (hundreds of
# small polars queries) whatever its size, most of a small county's linking.
LINK_TOGETHER_BYTES = 2 * 2**20


def file_size(path: Path) -> int:
    """`path`'s size in bytes (0 if it cannot be read: reading it then says why)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def all_small(specs: Sequence[InputSpec], apart: int = LINK_APART_BYTES) -> bool:
    """Whether every file of `specs` is under `apart` bytes (a small county)."""
    return all(file_size(spec.path) < apart for spec in specs)


def linked_together(sizes: Sequence[int], together: int = LINK_TOGETHER_BYTES,
                    apart: int = LINK_APART_BYTES) -> list[int]:
    """The extracts (their positions; `sizes` in bytes) linked together: those under `together`
    (and `apart`) bytes, when there are two or more.

    >>> linked_together([10, 5 * 2**20, 20]), linked_together([10, 5 * 2**20])
    ([0, 2], [])
    """
    small = [i for i, size in enumerate(sizes) if size < min(together, apart)]
    return small if len(small) > 1 else []


def ahead_specs(roster: InputSpec, extracts: Sequence[InputSpec], *, together: int = LINK_TOGETHER_BYTES,
                apart: int = LINK_APART_BYTES) -> list[InputSpec]:
    """The files the report process reads for the run: a small county's roster, then its
    extracts linked together, the biggest first; none for a county with a big file."""
    if not all_small([roster, *extracts], apart):
        return []
    sizes = [file_size(spec.path) for spec in extracts]
    chosen = sorted(linked_together(sizes, together, apart), key=lambda i: -sizes[i])
    return [roster, *(extracts[i] for i in chosen)]
