"""The floor: the least work any matching job does on a county — read every input as text and
join each extract on its raw ID column against the roster's raw ID column, writing links.csv.

No normalisation, no fuzzy tiers, no checks, no report: this is what Excel VLOOKUP does, done by
polars. `bench_run.py` measures fanpin's whole job against it. Reading follows the same paths a
clerk's files take: CSVs are decoded (UTF-8, else GB18030) and parsed by polars with every column
as text; Excel files go through fastexcel with every column as text. The header row is the first
row holding an ID heading (title rows above it are common).

    python benchmarks/bench_floor.py COUNTY/fanpin.toml --out DIR
"""

from __future__ import annotations

import argparse
import io
import sys
import time
import tomllib
from pathlib import Path

import fastexcel
import polars as pl

ID_HINTS = ("身份证", "证件号", "公民身份", "残疾人证号")


def _id_column(headings: list[str]) -> str | None:
    """The first heading that names an ID number.

    >>> _id_column(["序号", "姓名", "公民身份号码"])
    '公民身份号码'
    """
    return next((h for h in headings if any(k in str(h) for k in ID_HINTS)), None)


def _read_csv(path: Path) -> pl.DataFrame:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("gb18030")
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines[:30]) if _id_column(line.split(",")))
    return pl.read_csv(
        io.StringIO(text), skip_rows=header, infer_schema=False, truncate_ragged_lines=True
    )


def _read_excel(path: Path) -> pl.DataFrame:
    reader = fastexcel.read_excel(str(path))
    probe = reader.load_sheet(0, header_row=None, n_rows=30, dtypes="string").to_polars()
    header = next(i for i, row in enumerate(probe.iter_rows()) if _id_column([str(c) for c in row]))
    return reader.load_sheet(0, header_row=header, dtypes="string").to_polars()


def read_any(path: Path) -> pl.DataFrame:
    """Every cell as text, header found below title rows."""
    if path.suffix.lower() in (".xlsx", ".xls", ".xlsm"):
        return _read_excel(path)
    return _read_csv(path)


def floor(config_path: Path, out_dir: Path) -> int:
    """Read every input of the config, join on raw ID, write links.csv; return extract rows."""
    config = tomllib.loads(config_path.read_text(encoding="utf-8"))
    base = config_path.parent
    roster = read_any(base / config["roster"]["path"])
    rid = _id_column(roster.columns)
    keys = roster.select(
        pl.col(rid).alias("_id"), pl.int_range(2, roster.height + 2).alias("roster_row")
    ).unique("_id", keep="first")
    links = []
    for spec in config.get("extracts", []):
        frame = read_any(base / spec["path"])
        col = _id_column(frame.columns)
        links.append(
            frame.select(pl.col(col).alias("_id"))
            .with_row_index("source_row", offset=2)
            .join(keys, on="_id", how="left")
            .select(
                pl.lit(spec["sector"]).alias("sector"),
                pl.lit(spec["path"]).alias("source_file"),
                "source_row",
                "roster_row",
            )
        )
    out = pl.concat(links)
    out_dir.mkdir(parents=True, exist_ok=True)
    out.write_csv(out_dir / "links.csv")
    return out.height


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/_out/floor"))
    args = parser.parse_args()
    t0 = time.perf_counter()
    rows = floor(args.config, args.out)
    print(f"floor: {rows:,} extract rows read and joined in {time.perf_counter() - t0:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
