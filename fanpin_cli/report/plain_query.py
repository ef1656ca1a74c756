"""`collect`: a lazy query run as polars runs an eager DataFrame operation.

The report writes many small tables (a 乡镇 workbook's are a few hundred rows): each polars query
then costs more in its fixed part (planning, handing the work to polars' threads, a frame made
of every step's result) than in its work. Steps that follow each other are chained as one lazy
query and collected here, in memory and without the query optimizer (whose planning costs more
than it saves on such tables; polars' default engine would also be chosen anew per query).

>>> collect(pl.DataFrame({"a": [2, 1]}).lazy().sort("a").select(pl.col("a") * 10))["a"].to_list()
[10, 20]
"""

from __future__ import annotations

import polars as pl

_PLAIN = pl.QueryOptFlags.none()


def collect(query: pl.LazyFrame) -> pl.DataFrame:
    """`query`'s result, computed step by step as written (no optimizer, in-memory engine)."""
    return query.collect(engine="in-memory", optimizations=_PLAIN)
