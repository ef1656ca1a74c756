"""Benchmark: load and normalize a 1,000,000-row GBK CSV extract.

Writes a medical-enrollment-shaped GBK CSV (title row, Excel-mangled and full-width IDs,
traditional characters, spaces in names), then times `load_file` (decode, header detection,
mapping, blank rows) and `prepare` (ID decoding + name keys).

    python benchmarks/bench_load.py [--rows 1000000] [--keep]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from fanpin_cli.idnum import CHECK_CHARS, WEIGHTS
from fanpin_cli.loaders import load_file
from fanpin_cli.prepare import prepare

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤劉張陳黃趙")
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华国红建文玉春梅林海云飞鹏辉晓小莉婷雪琴慧佳")


def make_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """n valid 18-digit IDs (vectorized checksum)."""
    region = rng.choice(np.array([433127, 433101, 433122, 430102, 110105]), n)
    born = np.datetime64("1940-01-01") + rng.integers(0, 365 * 80, n).astype("timedelta64[D]")
    ymd = np.char.replace(np.datetime_as_string(born, unit="D"), "-", "")
    seq = rng.integers(0, 1000, n)
    body = np.char.add(np.char.add(region.astype(str), ymd), np.char.zfill(seq.astype(str), 3))
    codes = np.frombuffer("".join(body.tolist()).encode(), dtype=np.uint8).reshape(n, 17) - 48
    total = (codes * np.array(WEIGHTS)).sum(axis=1) % 11
    check = np.array(list(CHECK_CHARS))[total]
    return np.char.add(body, check)


def write_extract(path: Path, rows: int, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    ids = make_ids(rng, rows)
    names = np.char.add(rng.choice(SURNAMES, rows), rng.choice(GIVEN, rows))
    names = np.where(rng.random(rows) < 0.5, np.char.add(names, rng.choice(GIVEN, rows)), names)
    fault = rng.random(rows)
    ids = np.where(fault < 0.02, np.char.add(ids.astype("<U15"), "000"), ids)
    ids = np.where((fault >= 0.02) & (fault < 0.03), np.char.add("4.33127E+17", ""), ids)
    ids = np.where((fault >= 0.03) & (fault < 0.04), np.char.add(" ", ids), ids)
    frame = pl.DataFrame(
        {
            "姓名": names,
            "公民身份号码": ids,
            "险种类型": rng.choice(["城乡居民基本医疗保险", "职工基本医疗保险"], rows, p=[0.9, 0.1]),
            "参保状态": rng.choice(["参保缴费", "正常参保", "暂停参保", "终止参保"], rows, p=[0.6, 0.3, 0.05, 0.05]),
            "参保年度": "2026",
        }
    )
    text = "永顺县城乡居民医保参保登记（2026年度）\n" + frame.write_csv()
    path.write_bytes(text.encode("gb18030"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the generated CSV")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "医保_参保登记.csv"
        write_extract(path, args.rows)
        size_mb = path.stat().st_size / 1e6
        t0 = time.perf_counter()
        loaded = load_file(path, "medical_enrollment")
        t1 = time.perf_counter()
        prepared = prepare(loaded.frame, date(2026, 11, 30))
        t2 = time.perf_counter()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        assert prepared.height == args.rows, (prepared.height, args.rows)
        statuses = prepared["id_status"].value_counts().sort("id_status")
        print(f"file: {size_mb:.0f} MB GBK, {args.rows:,} rows, encoding detected {loaded.encoding}")
        print(f"load_file : {t1 - t0:6.2f} s")
        print(f"prepare   : {t2 - t1:6.2f} s")
        print(f"total     : {t2 - t0:6.2f} s   (target ≤ 5 s)   peak RSS {peak:,.0f} MB")
        print(statuses)
        if args.keep:
            keep = Path("benchmarks/_data")
            keep.mkdir(parents=True, exist_ok=True)
            path.replace(keep / path.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
