"""`fanpin_cli.memory`: texts shared between rows."""

from __future__ import annotations

import polars as pl


def test_shared_text_lets_go_of_every_row_s_bytes():
    """`shared_text` keeps one copy of each distinct text: the rows' own bytes (a long reason on
    each of 4M links rows, ~400 MB) are no longer held under the shared values."""
    from fanpin_cli.memory import shared_text

    def held(s: pl.Series) -> int:
        return sum(b.size for ch in s.get_chunks()
                   for b in ch.to_arrow(compat_level=pl.CompatLevel.newest()).buffers() if b is not None)

    reasons = pl.Series("reason", [f"证件号码与花名册一致，姓名相同（第{i % 3}类）" for i in range(20_000)] + [None])
    shared = shared_text(reasons)
    assert shared.equals(reasons)
    assert held(shared) < 20 * reasons.len() < held(reasons)
