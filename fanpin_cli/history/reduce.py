"""Reduce a run's tables to what the history keeps: keys, masked IDs, names — never a full ID.

Each history table takes a fixed list of columns; ID columns are masked into `masked_id` and
ID-shaped numbers inside free text (detail, reason, message) are masked as well.

>>> import polars as pl
>>> f = pl.DataFrame({"record_key": ["k"], "detail": ["证件433127199001011238重复"]})
>>> scrub_text(f, ["detail"])["detail"].item()
'证件433127***********8重复'
"""

from __future__ import annotations

import polars as pl

from fanpin_cli.evidence import LINKED, PENDING
from fanpin_cli.idnum import mask_id

from .apply import person_identity


def scrub_text(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Mask ID-shaped numbers inside the free-text `columns` present in `frame`
    (`privacy.mask_frame`, the one masking function, all columns in one query)."""
    from fanpin_cli.privacy import mask_frame

    present = [c for c in columns if c in frame.columns]
    if not present:
        return frame
    return frame.with_columns(mask_frame(frame.select(pl.col(c).cast(pl.String) for c in present), skip=()))


def _roster_persons(roster: pl.DataFrame | None) -> pl.DataFrame:
    """roster_row → person_key, person name and masked ID."""
    if roster is None or "person_key" not in roster.columns:
        return pl.DataFrame(schema={"roster_row": pl.Int64, "person_key": pl.String,
                                    "_r_name": pl.String, "_r_masked": pl.String})
    row = "roster_row" if "roster_row" in roster.columns else "source_row"
    return roster.select(
        pl.col(row).cast(pl.Int64).alias("roster_row"),
        person_identity(roster).cast(pl.String).alias("person_key"),
        (pl.col("name") if "name" in roster.columns else pl.lit(None, pl.String)).alias("_r_name"),
        (mask_id(pl.col("id_number")) if "id_number" in roster.columns else pl.lit(None, pl.String)).alias("_r_masked"),
    )


def _with_person(frame: pl.DataFrame, persons: pl.DataFrame,
                 columns: tuple[str, ...] = ("person_key", "_r_name", "_r_masked")) -> pl.DataFrame:
    """Add the roster person of `roster_row` (person_key preferred over the frame's own), only
    `columns` of it. The lookup joins the one `roster_row` column, not the whole frame: on the
    links (1.4M rows at 50,000 households) a join of every column copied them all (+850 MB).

    >>> persons = pl.DataFrame({"roster_row": [3], "person_key": ["p3"], "_r_name": ["张三"], "_r_masked": ["x"]})
    >>> f = pl.DataFrame({"roster_row": [3, None], "person_key": [None, "own"]})
    >>> _with_person(f, persons, ("person_key",))["person_key"].to_list()
    ['p3', 'own']
    """
    if "roster_row" not in frame.columns:
        return frame
    found = frame.select(pl.col("roster_row").cast(pl.Int64)).join(
        persons.select("roster_row", *columns), on="roster_row", how="left", maintain_order="left")
    own = frame["person_key"] if "person_key" in frame.columns else pl.lit(None, pl.String)
    added = [found[c] for c in columns if c != "person_key"]
    if "person_key" in columns:
        added.append(pl.coalesce(found["person_key"], own).alias("person_key"))
    return frame.with_columns(pl.col("roster_row").cast(pl.Int64), *added)


# What the history keeps of a link (schema.py's `links`), taken from the run's links before
# anything is added: the name and full ID are read once (person_name, masked_id), never kept.
LINK_COLUMNS = ("record_key", "sector", "source_file", "source_row", "roster_row", "person_key", "household_id",
                "match_method", "match_status", "match_score", "reason", "person_name")


# The links the history keeps: those that point at a roster person (a person's timeline lists
# them). An unlinked row is a person outside the roster (most of a 医保 file: the county's whole
# population); nothing reads them back, and keeping their names and masked IDs month after month
# would hold personal data of people the office does not monitor.
KEPT_LINK_STATUSES = (LINKED, PENDING)


def _links_table(links: pl.DataFrame, persons: pl.DataFrame) -> pl.DataFrame:
    """The history's links: keys, the roster person, the row's name and masked ID, for the rows
    linked to a roster person or waiting in the review queue (`KEPT_LINK_STATUSES`).

    >>> persons = _roster_persons(None)
    >>> links = pl.DataFrame({"record_key": ["a", "b", "c"], "match_status": ["linked", "unlinked", "review"],
    ...                       "roster_row": [1, None, 2], "name": ["甲", "乙", "丙"]})
    >>> _links_table(links, persons)["record_key"].to_list()
    ['a', 'c']
    """
    masked = mask_id(pl.col("id_number")) if "id_number" in links.columns else pl.lit(None, pl.String)
    name = pl.col("name") if "name" in links.columns else pl.lit(None, pl.String)
    kept = links.lazy()
    if "match_status" in links.columns:  # filtered before anything is masked or copied
        kept = kept.filter(pl.col("match_status").is_in(KEPT_LINK_STATUSES))
    f = kept.select(*[c for c in LINK_COLUMNS if c in links.columns], masked.alias("masked_id"),
                    name.alias("_name")).collect()
    f = _fill(_with_person(f, persons, ("person_key",)), "person_name", pl.col("_name")).drop("_name")
    return scrub_text(f, ["reason"])


def _fill(frame: pl.DataFrame, column: str, expr: pl.Expr) -> pl.DataFrame:
    if column in frame.columns:
        return frame.with_columns(pl.coalesce(pl.col(column), expr).alias(column))
    return frame.with_columns(expr.alias(column))


def history_tables(
    *,
    roster: pl.DataFrame | None,
    links: pl.DataFrame | None = None,
    flags: pl.DataFrame | None = None,
    issues: pl.DataFrame | None = None,
    review: pl.DataFrame | None = None,
    resolved: pl.DataFrame | None = None,
    links_table: bool = True,
) -> dict[str, pl.DataFrame]:
    """The history's per-run tables from a run's frames (columns the history lacks are dropped).
    `links_table` False: no links table (written already), `links` read for the review's keys."""
    persons = _roster_persons(roster)
    out: dict[str, pl.DataFrame] = {}
    if links_table and links is not None and "record_key" in links.columns:
        out["links"] = _links_table(links, persons)
    if flags is not None and "record_key" in flags.columns:
        f = _with_person(flags, persons)
        f = _fill(f, "masked_id", pl.col("_r_masked") if "_r_masked" in f.columns else pl.lit(None, pl.String))
        out["flags"] = scrub_text(f.drop("id_number", strict=False), ["detail"])
    if issues is not None and "record_key" in issues.columns:
        f = _with_person(issues, persons)
        f = _fill(f, "person_name", pl.col("_r_name") if "_r_name" in f.columns else pl.lit(None, pl.String))
        out["issues"] = scrub_text(f, ["message"])
    if review is not None and "record_key" in review.columns:
        # The review item's key is the pair; the extract row's own key (row_key) is what a
        # confirmed or rejected pair is applied to next month.
        f = review.drop("person_key", strict=False)
        if links is not None and "record_key" in links.columns and "row_key" not in f.columns:
            # only the review items' rows of the links (not every link's key, then a join)
            wanted = f.select("source_file", pl.col("source_row").cast(pl.Int64)).unique()
            rows = links.select("source_file", pl.col("source_row").cast(pl.Int64),
                                pl.col("record_key").alias("row_key")).join(
                wanted, on=["source_file", "source_row"], how="semi").unique(["source_file", "source_row"])
            f = f.with_columns(pl.col("source_row").cast(pl.Int64)).join(
                rows, on=["source_file", "source_row"], how="left", maintain_order="left")
        f = _with_person(f, persons)
        for col, src in (("extract_masked_id", "extract_id"), ("roster_masked_id", "roster_id")):
            f = f.with_columns((mask_id(pl.col(src)) if src in f.columns else pl.lit(None, pl.String)).alias(col))
        out["review"] = scrub_text(f, ["reason"])
    if resolved is not None and "record_key" in resolved.columns:
        out["resolved"] = resolved
    return {k: _masked(v.drop([c for c in v.columns if c.startswith("_r_")])) for k, v in out.items()}


# The texts of a history table that come from the files (a name, a place, a file's name, a reason
# that quotes them): masked as the outputs mask them. The others are fanpin's own words and codes,
# keys (hex digests) and masked IDs; detail, message and the review's reason are scrubbed above.
FILE_TEXTS = ("person_name", "extract_name", "roster_name", "household_id", "township", "village",
              "source_file", "reason")


def _masked(table: pl.DataFrame) -> pl.DataFrame:
    """The file texts (`FILE_TEXTS`) of a history table masked as the outputs mask theirs
    (`privacy.mask_frame`: an ID typed as a name, a 乡镇, a file's name)."""
    from fanpin_cli.privacy import mask_frame

    texts = [c for c in FILE_TEXTS if c in table.columns]
    if not texts or table.height == 0:
        return table
    return table.with_columns(mask_frame(table.select(texts), skip=()))
