"""`PROVINCE.toml`: the counties of a province (or prefecture) run together (CONTRACT.md
"Province"); paths are relative to the file.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "p.toml").write_text('[province]\\nname="湘西州"\\n[[counties]]\\nconfig="永顺县/fanpin.toml"\\n', encoding="utf-8")
>>> p = load_province(d / "p.toml")
>>> p.name, p.counties[0].label
('湘西州', '永顺县')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fanpin_cli.config import check_keys, input_fields, read_toml, shown_name
from fanpin_cli.errors import ConfigError

_TOP_KEYS = ("province", "counties", "extracts")
_PROVINCE_KEYS = ("name",)
_COUNTY_KEYS = ("config", "name")


@dataclass(frozen=True)
class CountyEntry:
    """One `[[counties]]` entry: its config file and the name its outputs go under until the
    config itself is read (its `[run] county`)."""

    config: Path
    given: str  # the path as written in PROVINCE.toml
    name: str | None = None  # optional `name = "…"`

    @property
    def label(self) -> str:
        """The county's name before its config is read: `name`, else the config's folder."""
        return self.name or self.config.parent.name or self.given


@dataclass(frozen=True)
class ProvinceExtract:
    """A province-wide extract (`[[extracts]]`), split among the counties."""

    sector: str
    path: str  # a local path (resolved) or a URI Spark reads (hdfs://, s3a://, …)
    source_file: str  # the path as written in PROVINCE.toml (used in every output)
    sheet: str | int | None = None
    header_row: int | None = None
    encoding: str | None = None
    columns: dict[str, str] = field(default_factory=dict)

    @property
    def is_remote(self) -> bool:
        """A URI (scheme://…) rather than a local file."""
        return "://" in self.path


@dataclass(frozen=True)
class ProvinceConfig:
    """A parsed PROVINCE.toml."""

    path: Path
    name: str
    counties: list[CountyEntry]
    extracts: list[ProvinceExtract]


def _extract(table: Any, where: str, base: Path, name: str) -> ProvinceExtract:
    """One province `[[extracts]]` entry, checked as a county's extract is (`config.input_fields`);
    its path may also be a URI that Spark reads."""
    fields = input_fields(table, where, base, name, remote_ok=True, path_what="全省数据文件路径")
    return ProvinceExtract(**{**fields, "path": str(fields["path"])})


def _county(table: Any, where: str, base: Path, name: str) -> CountyEntry:
    if not isinstance(table, dict):
        raise ConfigError(f"{where} 应为表（config = \"…/fanpin.toml\"）", file=name)
    check_keys(table, _COUNTY_KEYS, where, name)
    raw = table.get("config")
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(f"{where} 缺少 config（该县的 fanpin.toml 路径）", file=name)
    county = table.get("name")
    if county is not None and (not isinstance(county, str) or not county.strip()):
        raise ConfigError(f"{where} 的 name 应为县名", file=name)
    # A missing county config is that county's failure (reported in the province summary),
    # not the province's: the other counties still run.
    return CountyEntry((base / raw).resolve(), raw, shown_name(county.strip()) if county else None)


def load_province(path: Path) -> ProvinceConfig:
    """Parse and check PROVINCE.toml; raises ConfigError with a one-line Chinese reason."""
    name = path.name
    data = read_toml(path, "省级配置文件")
    check_keys(data, _TOP_KEYS, "", name)
    base = path.resolve().parent
    head = data.get("province")
    if not isinstance(head, dict):
        raise ConfigError("缺少 [province] 表（name = \"州/市/省名\"）", file=name)
    check_keys(head, _PROVINCE_KEYS, "[province]", name)
    title = shown_name(str(head.get("name", "")).strip())
    if not title:
        raise ConfigError("[province] 缺少 name", file=name)
    raw_counties = data.get("counties")
    if not isinstance(raw_counties, list) or not raw_counties:
        raise ConfigError("缺少 [[counties]]（每个县一项：config = \"…/fanpin.toml\"）", file=name)
    counties = [_county(t, f"第{i}个 [[counties]]", base, name) for i, t in enumerate(raw_counties, start=1)]
    seen: dict[Path, int] = {}
    for i, c in enumerate(counties, start=1):
        if c.config in seen:
            raise ConfigError(f"第{seen[c.config]}个和第{i}个 [[counties]] 是同一个配置文件：{c.given}", file=name)
        seen[c.config] = i
    raw_extracts = data.get("extracts", [])
    if not isinstance(raw_extracts, list):
        raise ConfigError("[[extracts]] 应为表数组", file=name)
    extracts = [_extract(t, f"第{i}个 [[extracts]]", base, name) for i, t in enumerate(raw_extracts, start=1)]
    return ProvinceConfig(path.resolve(), title, counties, extracts)
