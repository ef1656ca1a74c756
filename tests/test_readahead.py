"""Which files the report process reads for a run (`readahead`): decided from the config's input
files alone, the same for the command's first step (`launch.order_reads`) and the run
(`pipeline._reads_ahead`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fanpin_cli import pipeline, readahead
from fanpin_cli.config import InputSpec, load_config, load_inputs
from fanpin_cli.readahead import ahead_specs
from fanpin_cli.resources import resource_dir

SAMPLE = resource_dir("sample_data")
KB = 1024


def _spec(folder: Path, name: str, size: int) -> InputSpec:
    (folder / name).write_bytes(b"x" * size)
    return InputSpec("police", folder / name, name)


@pytest.mark.parametrize(("roster", "extracts", "wanted"), [
    # a small county: the roster, then the extracts linked together, the biggest first
    (1, [("a", 30), ("b", 50), ("c", 10)], ["r", "b", "a", "c"]),
    # an extract of LINK_TOGETHER_BYTES or more is read by the run itself
    (1, [("a", 30), ("big", 2 * KB), ("c", 10)], ["r", "a", "c"]),
    # a single small extract is linked alone: only the roster is read ahead
    (1, [("a", 30), ("big", 2 * KB)], ["r"]),
    # any file of LINK_APART_BYTES or more (the roster too): a big county, nothing read ahead
    (1, [("a", 30), ("c", 10), ("huge", 8 * KB)], []),
    (8 * KB, [("a", 30), ("c", 10)], []),
])
def test_a_small_countys_roster_and_small_extracts_are_read_ahead_biggest_first(
        tmp_path, roster: int, extracts: list[tuple[str, int]], wanted: list[str]) -> None:
    specs = [_spec(tmp_path, name, size) for name, size in extracts]
    chosen = ahead_specs(_spec(tmp_path, "r", roster), specs, together=KB, apart=4 * KB)
    assert [s.source_file for s in chosen] == wanted


def test_the_inputs_read_alone_are_the_configs_own(tmp_path) -> None:
    # the command's first step reads only the input tables; the run reads the whole config
    config = load_config(SAMPLE / "fanpin.toml")
    assert load_inputs(SAMPLE / "fanpin.toml") == (config.roster, config.extracts)


def test_the_run_orders_what_the_first_step_orders_with_the_default_sizes() -> None:
    # pipeline reads the sizes as its own names (tests set them): by default they are these
    assert (pipeline.LINK_APART_BYTES, pipeline.LINK_TOGETHER_BYTES) == (readahead.LINK_APART_BYTES,
                                                                         readahead.LINK_TOGETHER_BYTES)
    config = load_config(SAMPLE / "fanpin.toml")
    assert pipeline._small(config)
    assert ahead_specs(config.roster, config.extracts) == [config.roster, *sorted(
        config.extracts, key=lambda s: -s.path.stat().st_size)]  # the sample's extracts are all small
