"""What an engine hands back to the province run (the same shape for local and Spark)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from fanpin_cli.province.county import CountyOutcome
from fanpin_cli.province.split import SplitStats

Progress = Callable[[str], None]


@dataclass
class EngineResult:
    """Per county its outcome; the cross-county matches (cross.CROSS_SCHEMA, IDs full, in
    memory); per province extract its split; the rows no county took (IDs full)."""

    outcomes: list[CountyOutcome]
    cross: pl.DataFrame
    extracts: list[SplitStats]
    unassigned: pl.DataFrame | None = None
