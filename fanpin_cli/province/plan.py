"""The province run's plan, made on the driver before any data is read: each county's config
read and checked (a county whose config fails carries its error and is not run), the rules
loaded and checked once.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "p.toml").write_text('[province]\\nname="湘西州"\\n[[counties]]\\nconfig="龙山县/fanpin.toml"\\n', encoding="utf-8")
>>> from fanpin_cli.province.config import load_province
>>> plan = make_plan(load_province(d / "p.toml"), d / "out")
>>> plan.jobs[0].county, plan.jobs[0].error[:6]
('龙山县', 'fanpin')
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from fanpin_cli.config import check_outputs_apart, load_config
from fanpin_cli.errors import FanpinError
from fanpin_cli.province.config import ProvinceConfig
from fanpin_cli.province.county import (
    CountyJob,
    county_dir,
    county_key,
    key_fingerprint,
    with_history,
)


@dataclass
class Plan:
    """The counties to run (in PROVINCE.toml order) and the checked rules."""

    province: ProvinceConfig
    jobs: list[CountyJob]
    rules: list[Any]


def make_plan(province: ProvinceConfig, out_dir: Path) -> Plan:
    """Read every county config; check the rules once (a bad rule file stops the province run:
    it would fail every county alike)."""
    from fanpin_cli.flagging import load_rules

    rules = load_rules()
    jobs: list[CountyJob] = []
    taken: dict[str, int] = {}
    for i, entry in enumerate(province.counties, start=1):
        try:
            config = load_config(entry.config)
        except FanpinError as error:
            jobs.append(CountyJob(_unique(entry.label, taken, i), entry.given, None, str(error)))
            continue
        county = entry.name or config.county
        if county in taken:
            message = f"县名「{county}」与第{taken[county]}个县相同，输出文件夹会互相覆盖；请在 [[counties]] 中用 name 区分"
            jobs.append(CountyJob(_unique(county, taken, i), entry.given, None, message))
            continue
        taken[county] = i
        try:
            check_outputs_apart(config, county_dir(out_dir, county))
        except FanpinError as error:
            jobs.append(CountyJob(county, entry.given, None, str(error)))
            continue
        try:  # as `fanpin run` does: the county's key file, made once if missing; only its
            # fingerprint travels with the job (the task reads the file itself)
            check = key_fingerprint(county_key(config))
        except FanpinError as error:
            jobs.append(CountyJob(county, entry.given, None, str(error)))
            continue
        jobs.append(CountyJob(county, entry.given, config, key_check=check))
    return Plan(province, jobs, rules)


def read_histories(plan: Plan, out_dir: Path) -> Plan:
    """Each county's history view read here, on the driver, once; it travels with the county's
    job (a county whose history cannot be read fails alone)."""
    return replace(plan, jobs=[with_history(job, out_dir) for job in plan.jobs])


def _unique(name: str, taken: dict[str, int], i: int) -> str:
    """A name for a county that could not be read: its label, or label + its position."""
    if name in taken:
        name = f"{name}（第{i}个）"
    taken[name] = i
    return name
