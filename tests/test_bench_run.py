"""benchmarks/bench_run.py: the ratios it reports (the script itself is run by hand)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location("bench_run", Path(__file__).parents[1] / "benchmarks" / "bench_run.py")
bench_run = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench_run)


@pytest.mark.parametrize(("floors", "runs", "said"), [
    # each round against its own floor, not the best against the best (that would be 1.8 / 0.4 = 4.5×)
    ([0.5, 0.4, 0.5], [2.0, 1.8, 2.2], "median 4.40×, 4.00–4.50×"),
    ([0.5, 0.5], [2.0, 2.5], "median 4.50×, 4.00–5.00×"),  # an even count: the middle two averaged
    ([1.0], [3.0], "median 3.00×, 3.00–3.00×"),
])
def test_round_ratios_pairs_each_round_with_its_own_floor(floors, runs, said):
    assert bench_run.round_ratios([{"wall": w} for w in floors], [{"wall": w} for w in runs]) == said
