"""Synthetic county generator: a roster, every sector extract in the forms clerks receive, and
the ground truth (true links, expected flags, injected quality faults).

>>> from pathlib import Path
>>> import tempfile
>>> r = generate_county(30, 7, Path(tempfile.mkdtemp()))
>>> sorted(r.files)[:2]
['civil_affairs', 'disability']
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from ..fields import SECTOR_TITLES
from . import sectors, truth, writers
from .extracts import Extract, finalize
from .population import make_county
from .roster import HEADINGS, build_roster

__all__ = ["SynthResult", "generate_county", "SAMPLE_HOUSEHOLDS", "SAMPLE_SEED"]

SAMPLE_HOUSEHOLDS = 300
SAMPLE_SEED = 20261122
ROSTER_FILE = "监测对象信息.xlsx"


@dataclass
class SynthResult:
    """What `generate_county` wrote."""

    out_dir: Path
    config_path: Path
    roster_rows: int
    households: int
    files: dict[str, Path] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    persons: int = 0
    elapsed_seconds: float = 0.0


def generate_county(
    households: int,
    seed: int,
    out_dir: Path,
    *,
    reference_date: date = date(2026, 11, 30),
    county: str = "永顺县",
    population_factor: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> SynthResult:
    """Generate a synthetic county of `households` roster households into `out_dir`.

    `population_factor` is the county's population per roster household (default 20, which makes
    the medical enrollment extract about 20 rows per household). Deterministic for a seed.
    """
    if households < 1:
        raise ValueError("households must be at least 1")
    t0 = time.perf_counter()
    say = progress or (lambda _msg: None)
    state = build_county(households, seed, reference_date=reference_date, county=county,
                         population_factor=population_factor, progress=say)
    result = write_county(state, Path(out_dir), progress=say)
    result.elapsed_seconds = time.perf_counter() - t0
    return result


@dataclass
class CountyState:
    """A generated county before it is written: people, roster and every sector's extract."""

    c: object
    roster: Extract
    exs: dict[str, Extract]
    rt: object
    households: int
    county: str
    reference_date: date


def build_county(
    households: int,
    seed: int,
    *,
    reference_date: date = date(2026, 11, 30),
    county: str = "永顺县",
    population_factor: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> CountyState:
    """Generate the county in memory (see `generate_county`)."""
    say = progress or (lambda _msg: None)
    rng = np.random.default_rng(seed)
    ref = reference_date
    say("生成人口与家庭")
    c = make_county(rng, households, ref, county, population_factor or 20.0)
    export_date = (ref - timedelta(days=25)).isoformat()
    rt = build_roster(c, rng, export_date)
    w = sectors.World(c, rt, rng, ref)
    say("生成行业部门数据")
    pol = sectors.police(w)
    civ = sectors.civil_affairs(w, sectors.no_labor(c))
    enr = sectors.medical_enrollment(w, pol, civ)
    clm = sectors.medical_claims(w)
    edu = sectors.education(w, pol)
    hou = sectors.housing(w)
    dis, suffix = sectors.disability(w)
    exs = {e.sector: e for e in (civ, enr, clm, edu, hou, pol, dis)}
    say("注入数据错误")
    for e in exs.values():
        finalize(e, c.people, rng, ref, suffix=suffix if e.sector == "disability" else None)
    roster = Extract("roster", ROSTER_FILE, "xlsx", "", list(HEADINGS), rt.columns, rt.person, "证件号码", "姓名",
                     title_rows=rt.title_rows, sheet="监测对象", faults=rt.faults)
    return CountyState(c, roster, exs, rt, households, county, ref)


def write_county(state: CountyState, out_dir: Path, *, progress: Callable[[str], None] | None = None,
                 extra_config: str = "") -> SynthResult:
    """Write a county's files, ground truth, fanpin.toml and README into `out_dir`."""
    say = progress or (lambda _msg: None)
    c, roster, exs, ref = state.c, state.roster, state.exs, state.reference_date
    (out_dir / "ground_truth").mkdir(parents=True, exist_ok=True)
    say("写出文件")
    files = {"roster": writers.write_extract(roster, out_dir, numeric=("家庭人数", "人均纯收入（元）"))}
    for e in exs.values():
        files[e.sector] = writers.write_extract(e, out_dir, numeric=("序号",))
    say("写出标准答案")
    roster_row = np.zeros(c.people.n, dtype=np.int64)
    roster_row[roster.person] = roster.source_row
    tags = np.full(c.people.n, "", dtype=object)
    for person, tag in state.rt.tags.items():
        tags[person] = tag
    gt = out_dir / "ground_truth"
    truth.write_persons(c, roster_row, gt / "persons.csv")
    ordered = [exs[s] for s in ("civil_affairs", "medical_enrollment", "medical_claims", "education", "housing",
                                "police", "disability")]
    truth.write_links(c, ordered, roster_row, tags, gt / "links_truth.csv")
    truth.compute_flags(c, exs, roster_row, ref).write_csv(gt / "flags_truth.csv")
    truth.quality_rows(c, roster, exs, ref).write_csv(gt / "quality_truth.csv")
    config = _write_config(out_dir, state.county, ref, roster, ordered, extra_config)
    _write_readme(out_dir, state.county, state.households, roster, ordered)
    rows = {"roster": roster.n, **{e.sector: e.n for e in ordered}}
    return SynthResult(out_dir, config, roster.n, state.households, files, rows, c.people.n)


def _write_config(out_dir: Path, county: str, ref: date, roster: Extract, exs: list[Extract], extra: str = "") -> Path:
    lines = [
        "# fanpin 运行配置（合成数据）",
        "[run]",
        f'county = "{county}"',
        f'period = "{ref:%Y-%m}"',
        f'reference_date = "{ref.isoformat()}"',
        "",
        "[roster]",
        f'path = "{roster.file_name}"',
        "",
    ]
    for e in exs:
        lines += ["[[extracts]]", f'sector = "{e.sector}"', f'path = "{e.file_name}"', ""]
    lines += ["[rules]", "income_line = 6000", "oop_line = 9342", ""]
    if extra:
        lines += [extra, ""]
    path = out_dir / "fanpin.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _write_readme(out_dir: Path, county: str, households: int, roster: Extract, exs: list[Extract]) -> None:
    enc = {"gb18030": "GBK（GB18030）编码 CSV", "utf-8": "UTF-8 编码 CSV", "utf-8-sig": "UTF-8（带BOM）编码 CSV",
           "": "Excel 工作簿"}
    lines = [
        f"合成数据：{county}（虚构，{households} 户监测对象/脱贫户；所有姓名、身份证号均为随机生成，不对应真实人员）",
        "",
        "文件说明：",
        f"  {roster.file_name}：防返贫监测对象信息（{roster.n} 行，{enc['']}，表头上方有标题行）",
    ]
    for e in exs:
        lines.append(f"  {e.file_name}：{SECTOR_TITLES[e.sector]}（{e.n} 行，{enc[e.encoding]}）")
    lines += [
        "  fanpin.toml：运行配置（fanpin run fanpin.toml）",
        "  ground_truth/：标准答案，用于检验比对效果",
        "    persons.csv：全部人员的真实姓名、身份证号、出生日期及在名单中的行号",
        "    links_truth.csv：各部门文件每一数据行对应的真实人员、行号及注入的错误类型",
        "    flags_truth.csv：按真实对应关系计算的预警结果",
        "    quality_truth.csv：注入的数据质量问题（文件、行号、字段、检查项）",
        "",
        "行号：打开文件时看到的行号（从1开始，标题行、表头行计入；CSV 表头为第1行）。",
    ]
    (out_dir / "README.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
