"""Province-wide extracts: read once, split into per-county slices that each county's run
reads like one of its own files.

A slice keeps the province file's name (`source_file`) and, after the run, its rows keep the
province file's row numbers (`restore_rows`), so a clerk finds each row in the file they have.

>>> import polars as pl
>>> f = pl.DataFrame({"source_file": ["全省.csv", "县.csv"], "source_row": [2, 2]})
>>> restore_rows(f, "全省.csv", pl.Series([17]))["source_row"].to_list()
[17, 2]
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from fanpin_cli.config import InputSpec
from fanpin_cli.errors import InputFileError
from fanpin_cli.fields import FIELD_TITLES, REQUIRED_COLUMNS
from fanpin_cli.loaders import LoadedFile, load_file, map_headings
from fanpin_cli.province.config import ProvinceExtract

SLICE_HEADER_LINE = 1  # the slice CSV's header is line 1: data row i (0-based) is line i + 2


@dataclass(frozen=True)
class ExtractOrigin:
    """What was read of a province-wide extract (said in each county's summary.json beside
    its slice): the file as written in PROVINCE.toml, its sha256 (None where Spark read it
    from a URI), how it was read and its data rows."""

    path: str
    sha256: str | None
    rows_in_file: int
    encoding: str | None = None
    sheet: str | None = None
    header_row: int | None = None


def origin_of(extract: ProvinceExtract, loaded: LoadedFile) -> ExtractOrigin:
    """What was read of a local province extract: its sha256 (the loaders' for CSV and Excel,
    the file's bytes for a Parquet file; None for a folder of Parquet parts)."""
    digest = loaded.sha256 or None
    path = Path(extract.path)
    if digest is None and path.is_file():
        sha = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                sha.update(chunk)
        digest = sha.hexdigest()
    return ExtractOrigin(extract.source_file, digest, loaded.rows_read, loaded.encoding, loaded.sheet,
                         loaded.header_row)


def load_extract(extract: ProvinceExtract) -> LoadedFile:
    """Read a local province-wide extract with fanpin's loaders (CSV, xlsx, xls), or Parquet
    (row numbers then count like a CSV: header = row 1)."""
    if extract.is_remote:
        raise InputFileError("远程路径（如 hdfs://、s3a://）只能用 --engine spark 读取", file=extract.source_file)
    path = Path(extract.path)
    if path.suffix.lower() != ".parquet" and not path.is_dir():
        return load_file(path, extract.sector, source_file=extract.source_file, sheet=extract.sheet,
                         header_row=extract.header_row, encoding=extract.encoding, columns=extract.columns)
    try:
        raw = pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputFileError(f"Parquet 文件无法读取：{str(exc).splitlines()[0]}", file=extract.source_file) from exc
    return from_frame(raw, extract)


def from_frame(raw: pl.DataFrame, extract: ProvinceExtract) -> LoadedFile:
    """A LoadedFile from a table read by another reader (Parquet, Spark): every column as
    text, headings mapped like a file's, fully blank rows set aside, rows numbered from 2."""
    headings = [c for c in raw.columns if c != "source_row"]
    mapping = map_headings(headings, extract.sector, extract.columns)
    missing = [f for f in REQUIRED_COLUMNS[extract.sector] if f not in mapping.values()]
    if missing:
        titles = "、".join(FIELD_TITLES.get(f, f) for f in missing)
        raise InputFileError(f"缺少必需的列「{titles}」（可在配置的 columns 中指定对应关系）",
                             file=extract.source_file, column=titles)
    rows = raw["source_row"] if "source_row" in raw.columns else pl.int_range(2, raw.height + 2, eager=True)
    frame = raw.select(
        [pl.col(h).cast(pl.String).str.strip_chars().replace("", None).alias(mapping.get(h, h)) for h in headings]
    ).with_columns(pl.Series("source_row", rows, dtype=pl.Int64))
    data_cols = [mapping.get(h, h) for h in headings]
    blank = pl.all_horizontal([pl.col(c).is_null() for c in data_cols])
    blank_rows = frame.filter(blank)["source_row"].to_list()
    frame = frame.filter(~blank).with_columns(pl.lit(extract.source_file).alias("source_file"))
    ordered = ["source_file", "source_row", *data_cols]
    return LoadedFile(Path(extract.path), extract.source_file, extract.sector, frame.select(ordered),
                      {v: k for k, v in mapping.items()}, header_row=SLICE_HEADER_LINE, blank_rows=blank_rows)


def write_slice(rows: pl.DataFrame, headings: dict[str, str], extract: ProvinceExtract, folder: Path,
                index: int) -> tuple[InputSpec, pl.Series]:
    """Write a county's rows of a province extract (a loaded frame's rows) as a UTF-8 CSV under
    the file's own headings; return the input spec a county config adds and the original row
    numbers in slice order."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"province_extract_{index}.csv"
    data = rows.sort("source_row")
    body = data.drop("source_file", "source_row", strict=False)
    body = body.rename({c: headings[c] for c in body.columns if c in headings})
    body.write_csv(path)
    spec = InputSpec(extract.sector, path, extract.source_file, encoding="utf-8", header_row=SLICE_HEADER_LINE,
                     columns=dict(extract.columns))
    return spec, data["source_row"]


def restore_rows(frame: pl.DataFrame, source_file: str, original: pl.Series) -> pl.DataFrame:
    """Give rows of a slice (`source_file`) back the province file's row numbers: slice line
    i + 2 → `original[i]`."""
    if "source_file" not in frame.columns or "source_row" not in frame.columns or frame.height == 0:
        return frame
    lookup = pl.DataFrame({
        "source_row": pl.int_range(SLICE_HEADER_LINE + 1, SLICE_HEADER_LINE + 1 + original.len(), eager=True,
                                   dtype=pl.Int64),
        "_original": original.cast(pl.Int64),
    })
    dtype = frame.schema["source_row"]
    out = frame.with_columns(pl.col("source_row").cast(pl.Int64)).join(
        lookup, on="source_row", how="left", maintain_order="left"
    )
    mine = pl.col("source_file") == source_file
    return out.with_columns(
        pl.when(mine).then(pl.col("_original")).otherwise(pl.col("source_row")).cast(dtype).alias("source_row")
    ).drop("_original")
