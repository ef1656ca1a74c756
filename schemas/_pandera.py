"""pandera's polars API, imported without pandera's pandas layer.

`import pandera` also imports pandas (and pyspark.pandas) when they are installed — the spark
and test extras install them — which is most of its start-up time (2 s of 2.1 s here) and
nothing the polars schemas use; likewise hypothesis (the test extra), for pandera's data
synthesis strategies, which fanpin never uses (0.3–0.9 s of every run's start-up). While
pandera itself is imported, this thread sees them as absent (pandera's supported polars-only
install, without the extras), unless they are loaded already; they stay importable for
everyone else and afterwards.

>>> pa.DataFrameModel.__module__.startswith("pandera.api")
True
"""

from __future__ import annotations

import sys
import threading
from importlib.abc import MetaPathFinder
from typing import Any

_UNUSED = ("pandas", "pyspark", "hypothesis")


class _Absent(MetaPathFinder):
    """Says `No module named …` for the packages pandera's polars API does not need (the
    importing thread only)."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if threading.get_ident() == self.thread and name.partition(".")[0] in _UNUSED:
            raise ModuleNotFoundError(f"No module named '{name}'", name=name)
        return None


def _import_pandera() -> None:
    if "pandera" in sys.modules:
        return
    absent = _Absent()
    sys.meta_path.insert(0, absent)
    try:
        import pandera.polars as pa
        import polars as pl

        # pandera registers its check backends on the first validation, looking for pandas
        # once (and remembering the answer): done here, while pandas is out of sight.
        check = pa.Check.isin(["a"])
        pa.DataFrameSchema({"x": pa.Column(pl.String, checks=check)}).validate(pl.DataFrame({"x": ["a"]}))
    finally:
        sys.meta_path.remove(absent)


_import_pandera()

import pandera.polars as pa  # noqa: E402
from pandera.api.polars.types import PolarsData  # noqa: E402
from pandera.errors import SchemaErrors  # noqa: E402

__all__ = ["PolarsData", "SchemaErrors", "pa"]
