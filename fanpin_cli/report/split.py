"""One workbook per 乡镇 (or per 村): the same sheets as report.xlsx, each holding only the rows
of its own area, in a folder beside the county workbook.

    乡镇/01_灵溪镇_2026-11防返贫监测比对.xlsx
    村/001_灵溪镇_司城村_2026-11防返贫监测比对.xlsx

Rows are assigned by the roster's 乡镇/村 (flags, quality issues, scorecard), the candidate's for
待核实匹配, the extract's own for 应纳未纳. Rows with no 乡镇 go to a workbook "乡镇不详", so no
row is silently left out. County-wide tables (账账相符, 各行业数据比对情况) stay in the county
workbook only.

>>> area_file_name(3, 12, ("灵溪镇",), "2026-11")
'03_灵溪镇_2026-11防返贫监测比对.xlsx'
>>> safe_name("a/b:c*")
'a_b_c_'
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import polars as pl

from fanpin_cli.report.model import ReportData
from fanpin_cli.report.plain_query import collect
from fanpin_cli.tables import C

SPLITS: tuple[str, ...] = (C.township, C.village, "none")
FOLDERS: dict[str, str] = {C.township: "乡镇", C.village: "村"}
UNKNOWN_TOWNSHIP = "乡镇不详"
UNKNOWN_VILLAGE = "村不详"
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def safe_name(text: str) -> str:
    """A file-name part with no path or reserved characters."""
    return _UNSAFE.sub("_", text).strip().strip(".") or "_"


def area_file_name(index: int, count: int, area: tuple[str, ...], period: str) -> str:
    """`03_灵溪镇_2026-11防返贫监测比对.xlsx`: numbered so that the files sort in area order."""
    width = max(2, len(str(count)))
    parts = "_".join(safe_name(a) for a in area)
    return f"{index:0{width}d}_{parts}_{safe_name(period)}防返贫监测比对.xlsx"


def _keys(by: str) -> list[str]:
    return [C.township] if by == C.township else [C.township, C.village]


def _area(frame: pl.DataFrame | None, columns: dict[str, str]) -> pl.DataFrame | None:
    """`frame` with `_t`/`_v` area columns taken from `columns` (area → frame column(s) to
    coalesce, comma-separated); unknown places get the 不详 labels."""
    if frame is None:
        return None
    exprs = []
    for alias, names, unknown in (("_t", columns.get(C.township, ""), UNKNOWN_TOWNSHIP),
                                  ("_v", columns.get(C.village, ""), UNKNOWN_VILLAGE)):
        present = [pl.col(n).cast(pl.String) for n in names.split(",") if n and n in frame.columns]
        expr = pl.coalesce(present) if present else pl.lit(None, dtype=pl.String)
        exprs.append(expr.fill_null(unknown).alias(alias))
    return frame.with_columns(exprs)


def _areas(data: ReportData, by: str, placed: dict[str, pl.DataFrame | None] | None = None) -> list[tuple[str, ...]]:
    """Every area that has a roster person, a flag, a listed issue or a review item, sorted
    (the 不详 areas last)."""
    found: set[tuple[str, ...]] = set()
    cols = ["_t"] if by == C.township else ["_t", "_v"]
    # Not `quality` (every issue, in the sector files too): a 乡镇 gets the issues of its own
    # people, and a sector row that names no 乡镇 is the department's to fix (county workbook).
    for name, frame in (placed if placed is not None else _placed(data)).items():
        if name != "quality" and frame is not None and frame.height:
            found.update(tuple(r) for r in frame.select(cols).unique().iter_rows())
    return sorted(found, key=lambda a: tuple((x in (UNKNOWN_TOWNSHIP, UNKNOWN_VILLAGE), x) for x in a))


def _placed(data: ReportData) -> dict[str, pl.DataFrame | None]:
    roster_places = {C.township: C.township, C.village: C.village}
    return {
        "flags": _area(data.flags, roster_places),
        "area_counts": _area(data.area_counts, roster_places),
        "quality": _area(data.quality, roster_places),
        "quality_detail": _area(data.quality_detail, roster_places),
        "review": _area(data.review, {C.township: "roster_township,extract_township",
                                      C.village: "roster_village,extract_village"}),
        "members": _area(data.members, roster_places),
        "resolved": _area(data.resolved, roster_places),
    }


class AreaCuts:
    """Every area's rows of `data`, found once: each placed frame's row numbers grouped by area
    in one pass (row order kept) and the per-rule counts of every area computed together
    (`rule_summary` by area), instead of filtering and counting each frame once per area; an
    area's rows are taken (gathered) when its workbook is written, so that the areas' copies of
    the rows held at a time are those of the workbooks written together (at most
    `memrows.SMALL_ROWS` rows, `together.write_together`) or one area's. `subset(area)` is then
    the area's ReportData."""

    def __init__(self, data: ReportData, by: str, placed: dict[str, pl.DataFrame | None] | None = None) -> None:
        self.data, self.by = data, by
        placed = placed if placed is not None else _placed(data)
        self.keys = ["_t"] if by == C.township else ["_t", "_v"]
        self.frames: dict[str, pl.DataFrame] = {}
        self.rows: dict[str, dict[tuple[str, ...], pl.Series]] = {}
        for name, frame in placed.items():
            if frame is not None:
                # The frame's own columns (taken, not selected by a query); each area's rows, in
                # order, numbered and grouped by one query.
                self.frames[name] = pl.DataFrame([c for c in frame.get_columns() if c.name not in ("_t", "_v")])
                grouped = collect(frame.lazy().select(*self.keys, pl.int_range(pl.len(), dtype=pl.UInt32).alias("_i"))
                                  .group_by(self.keys).agg("_i"))
                lists = grouped["_i"]
                places = zip(*(grouped.get_column(k).to_list() for k in self.keys), strict=True)
                self.rows[name] = {tuple(key): lists[j] for j, key in enumerate(places)}
        self.counts: dict[tuple[str, ...], pl.DataFrame] | None = None
        members = placed["members"]
        if members is not None:
            from fanpin_cli.flagging.households import rule_summary

            flags = placed["flags"]
            assert flags is not None
            counts = rule_summary(flags, members, tuple(self.keys))
            self.counts = counts.partition_by(self.keys, as_dict=True, maintain_order=True, include_key=False)
            self.no_counts = counts.clear().drop(self.keys)
        scorecard = data.scorecard
        self.scores: dict[tuple[str, ...], pl.DataFrame] | None = None
        if scorecard is not None and C.township in scorecard.columns:
            score_keys = [C.township] + ([C.village] if by == C.village and C.village in scorecard.columns else [])
            self.scores = scorecard.partition_by(score_keys, as_dict=True, maintain_order=True)
            self.score_keys = len(score_keys)

    def cut(self, name: str, area: tuple[str, ...]) -> pl.DataFrame | None:
        """The rows of placed frame `name` in `area` (None: the data have no such frame)."""
        if name not in self.frames:
            return None
        frame, rows = self.frames[name], self.rows[name].get(area)
        return frame.clear() if rows is None else frame[rows]

    def subset(self, area: tuple[str, ...]) -> ReportData:
        """The ReportData of one area (see `subset`)."""
        data, cut = self.data, (lambda name: self.cut(name, area))
        flags = cut("flags")
        assert flags is not None
        rule_counts = pl.DataFrame()
        if self.counts is not None:
            rule_counts = self.counts.get(area, self.no_counts)
        scorecard = data.scorecard
        if self.scores is not None:
            assert scorecard is not None
            scorecard = self.scores.get(area[: self.score_keys], scorecard.clear())
        return replace(
            data,
            area="".join(a for a in area if a not in (UNKNOWN_TOWNSHIP, UNKNOWN_VILLAGE)) or "".join(area),
            flags=flags,
            rule_counts=rule_counts,
            area_counts=cut("area_counts") if data.area_counts is not None else data.area_counts,
            quality=cut("quality") if data.quality is not None else data.quality,
            quality_detail=cut("quality_detail"),
            review=cut("review") if data.review is not None else data.review,
            scorecard=scorecard,
            stocktake=None,
            links_by_sector=None,
            members=cut("members"),
            resolved=cut("resolved"),
            split="none",
            html=False,
        )


class AreaFolder:
    """The `乡镇`/`村` folder being written: a temp folder beside it, swapped in as a whole by
    `publish` (a 乡镇 that has no rows this month leaves no stale workbook behind)."""

    def __init__(self, out_dir: Path, by: str) -> None:
        self.folder = out_dir / FOLDERS[by]
        self.tmp = out_dir / f".{FOLDERS[by]}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        self.tmp.mkdir(parents=True)

    def publish(self) -> list[Path]:
        """Replace the folder with the written one; returns its workbooks."""
        names = sorted(p.name for p in self.tmp.iterdir())
        old = None
        if self.folder.exists():
            old = self.folder.parent / f".{self.folder.name}.old.{secrets.token_hex(4)}"
            self.folder.rename(old)
        self.tmp.rename(self.folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return [self.folder / n for n in names]

    def discard(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def write_areas(folder: Path, data: ReportData, by: str, claim: Callable[[], int], *, shared: bool = True) -> int:
    """Write area workbooks into `folder`, each the one whose number `claim()` hands out, until
    it hands out one past the last: two processes that share `claim` share the areas (each
    computes the same list). A turn takes every area left, the first turn of all (`shared`)
    half of them: the other process, still busy with report.xlsx, takes the rest when it comes
    (or this one, if it is back first); each turn's areas are written together
    (`together.write_together`: each kind of table once for all of them). Returns how many
    this call wrote."""
    from fanpin_cli.report.together import write_together

    placed = _placed(data)
    areas = _areas(data, by, placed)
    cuts: AreaCuts | None = None
    written = 0
    while (i := claim()) < len(areas):
        want = (len(areas) + 1) // 2 if shared and i == 0 else len(areas) - i
        taken = [i]
        while len(taken) < want and (j := claim()) < len(areas):
            taken.append(j)
        cuts = cuts or AreaCuts(data, by, placed)  # not made by a process that finds no area left
        write_together([folder / area_file_name(k + 1, len(areas), areas[k], data.period) for k in taken],
                       map(cuts.subset, (areas[k] for k in taken)))  # an area's rows made when its turn comes
        written += len(taken)
    return written


def write_split(out_dir: Path, data: ReportData, by: str) -> list[Path]:
    """Write one workbook per area into `out_dir/<乡镇|村>/`, replacing that folder as a whole.
    Returns the files."""
    if by not in FOLDERS:
        return []
    folder = AreaFolder(out_dir, by)
    try:
        numbers = itertools.count()
        write_areas(folder.tmp, data, by, lambda: next(numbers), shared=False)
        return folder.publish()
    except BaseException:
        folder.discard()
        raise
