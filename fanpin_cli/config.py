"""The run configuration `fanpin.toml` (see CONTRACT.md); paths are relative to the file.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "r.csv").write_text("户编号,姓名,证件号码\\n", encoding="utf-8")
>>> _ = (d / "fanpin.toml").write_text('[run]\\ncounty="永顺县"\\nreference_date="2026-11-30"\\n[roster]\\npath="r.csv"\\n', encoding="utf-8")
>>> load_config(d / "fanpin.toml").period
'2026-11'
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from fanpin_cli.errors import ConfigError, FanpinError
from fanpin_cli.fields import (
    SECTOR_TITLES,
    field_choices,
    sector_choices,
    sector_fields,
    sector_key,
)

# Reference dates fanpin accepts: the monitoring policy's era, and not more than a year ahead.
EARLIEST_REFERENCE = date(2000, 1, 1)
LATEST_AHEAD_DAYS = 366

_INPUT_KEYS = ("columns", "encoding", "header_row", "path", "sector", "sheet")
_TOP_KEYS = ("run", "roster", "extracts", "rules", "history")
_RUN_KEYS = ("county", "period", "reference_date")


@dataclass(frozen=True)
class InputSpec:
    """One input file as the config names it."""

    sector: str
    path: Path
    source_file: str  # the path exactly as written in the config (used in every output)
    sheet: str | int | None = None
    header_row: int | None = None
    encoding: str | None = None
    columns: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunConfig:
    """A parsed fanpin.toml."""

    config_path: Path
    county: str
    period: str
    reference_date: date
    roster: InputSpec
    extracts: list[InputSpec]
    rules: dict[str, Any] = field(default_factory=dict)
    history: dict[str, Any] = field(default_factory=dict)  # [history]: see history/settings.py

    @property
    def inputs(self) -> list[InputSpec]:
        """Roster first, then the extracts in config order."""
        return [self.roster, *self.extracts]


def _input(table: Any, where: str, base: Path, name: str, default_sector: str | None) -> InputSpec:
    return InputSpec(**input_fields(table, where, base, name, default_sector))


def input_fields(
    table: Any, where: str, base: Path, name: str, default_sector: str | None = None, *,
    remote_ok: bool = False, path_what: str = "数据文件路径",
) -> dict[str, Any]:
    """The checked fields of one input table (`[roster]`, `[[extracts]]`, a province's
    `[[extracts]]`) as `InputSpec` keyword arguments: keys, sector (English or Chinese name),
    path (a file that exists; with `remote_ok` also a `scheme://` URI, kept as text), sheet,
    header_row, encoding, columns (each a field of the sector). Raises a one-line ConfigError."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where} 应为表（键 = 值）", file=name)
    check_keys(table, _INPUT_KEYS, where, name)
    written = table.get("sector", default_sector)
    sector = sector_key(written) if isinstance(written, str) else None
    if sector is None or (default_sector is None and sector == "roster"):
        raise ConfigError(f"{where} 的 sector「{written}」不正确（可选：{sector_choices(roster=False)}）", file=name)
    raw_path = table.get("path")
    if not isinstance(raw_path, str) or not raw_path.strip():
        raise ConfigError(f"{where} 缺少 path（{path_what}）", file=name)
    path: Path | str = raw_path if remote_ok and "://" in raw_path else _local_file(raw_path, where, base, name)
    header_row = table.get("header_row")
    if header_row is not None and (not isinstance(header_row, int) or header_row < 1):
        raise ConfigError(f"{where} 的 header_row 应为从 1 开始的行号", file=name)
    sheet = table.get("sheet")
    if sheet is not None and not isinstance(sheet, str | int):
        raise ConfigError(f"{where} 的 sheet 应为工作表名称或序号", file=name)
    columns = table.get("columns", {})
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise ConfigError(f"{where} 的 columns 应为 {{ \"表头\" = \"字段名\" }}", file=name)
    known = sector_fields(sector)
    for heading, target in columns.items():
        if target not in known:
            raise ConfigError(
                f"{where} 的 columns 中「{heading}」= \"{target}\" 不是{SECTOR_TITLES[sector]}的字段名"
                f"（可用：{field_choices(sector)}）",
                file=name,
                column="columns",
            )
    encoding = table.get("encoding")
    if encoding is not None and not isinstance(encoding, str):
        raise ConfigError(f"{where} 的 encoding 应为文本，如 \"gbk\"", file=name)
    return dict(sector=sector, path=path, source_file=raw_path, sheet=sheet, header_row=header_row,  # noqa: C408
                encoding=encoding, columns=dict(columns))


def _local_file(raw_path: str, where: str, base: Path, name: str) -> Path:
    """`raw_path` resolved against `base`; a ConfigError unless it is a readable file."""
    try:
        path = (base / raw_path).resolve()
    except (OSError, RuntimeError):  # a symlink loop
        path = base / raw_path
    if not path.is_file():
        from fanpin_cli.loaders import path_problem  # (polars: not imported to read a good config)

        problem = path_problem(path) or "不是数据文件"
        if problem.startswith("找不到文件"):
            raise ConfigError(f"{where} 的文件不存在：{raw_path}", file=name)
        raise ConfigError(f"{where} 的文件 {raw_path}：{problem}", file=name)
    return path


def check_keys(table: dict[str, Any], allowed: tuple[str, ...], where: str, name: str) -> None:
    """A ConfigError naming the keys of `table` not in `allowed` (`where` "" = the file's top level).

    >>> check_keys({"county": "永顺县", "perod": "2026-11"}, _RUN_KEYS, "[run]", "fanpin.toml")
    Traceback (most recent call last):
    fanpin_cli.errors.ConfigError: fanpin.toml：[run] 有未知的键：perod（可用：county、period、reference_date）
    """
    unknown = set(table) - set(allowed)
    if unknown:
        what = f"{where} 有未知的键" if where else "有未知的表或键"
        raise ConfigError(f"{what}：{'、'.join(sorted(unknown))}（可用：{'、'.join(allowed)}）", file=name)


def read_toml(path: Path, what: str = "配置文件") -> dict[str, Any]:
    """The TOML file `path` as a dict; a missing file, another encoding or bad syntax is a
    one-line Chinese ConfigError naming the file (`what` says which kind of file it is)."""
    name = path.name
    if not path.is_file():
        raise ConfigError(f"找不到{what}（{path}）", file=name)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ConfigError("配置文件应为 UTF-8 编码", file=name) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"配置文件格式错误：{exc}", file=name) from exc


def load_config(path: Path) -> RunConfig:
    """Parse and check `path`; raises ConfigError with a one-line Chinese reason."""
    name = path.name
    data = read_toml(path)
    run = data.get("run")
    if not isinstance(run, dict):
        raise ConfigError("缺少 [run] 表（county、period、reference_date）", file=name)
    check_keys(run, _RUN_KEYS, "[run]", name)
    county = shown_name(str(run.get("county", "")).strip())
    if not county:
        raise ConfigError("[run] 缺少 county（县名）", file=name)
    ref = run.get("reference_date")
    if isinstance(ref, str):
        try:
            ref = date.fromisoformat(ref)
        except ValueError as exc:
            raise ConfigError(f"[run] reference_date「{ref}」应为 YYYY-MM-DD 日期", file=name) from exc
    if not isinstance(ref, date):
        raise ConfigError("[run] 缺少 reference_date（如 \"2026-11-30\"）", file=name)
    check_reference_date(ref, "[run] reference_date", file=name)
    period = str(run.get("period") or f"{ref.year}-{ref.month:02d}")
    if not re.fullmatch(r"(19|20)\d{2}-(0[1-9]|1[0-2])", period):
        raise ConfigError(f"[run] period「{period}」应为 YYYY-MM 月份，如 \"2026-11\"", file=name)
    roster, extracts = load_inputs(path, data)
    rules = data.get("rules", {})
    if not isinstance(rules, dict):
        raise ConfigError("[rules] 应为表", file=name)
    check_rule_overrides(rules, file=name)
    history = data.get("history", {})
    if not isinstance(history, dict):
        raise ConfigError("[history] 应为表", file=name)
    from fanpin_cli.history.settings import parse_settings

    parse_settings(history, path)  # checked now, before any file is read
    return RunConfig(path.resolve(), county, period, ref, roster, extracts, rules, history)


def shown_name(text: str) -> str:
    """A county's or province's name as fanpin keeps it: an ID typed into it masked (the name
    reaches every output, folder name and history). A name without six digits in a row is
    returned as it is, without loading the masker.

    >>> shown_name("永顺县"), shown_name("永顺县433127198212278173")
    ('永顺县', '永顺县433127***********3')
    """
    if not re.search(r"[0-9０-９]{6}", text):
        return text
    from fanpin_cli.privacy import mask_text

    return mask_text(text)


def load_inputs(path: Path, data: dict[str, Any] | None = None) -> tuple[InputSpec, list[InputSpec]]:
    """The roster and the extracts that config `path` names (`data`: the file as read
    already), checked as `load_config` checks them, the rest of the file unread: what the
    `fanpin run` command's first step needs (`launch`). Raises ConfigError.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "r.csv").write_text("户编号,姓名,证件号码\\n", encoding="utf-8")
    >>> _ = (d / "fanpin.toml").write_text('[roster]\\npath="r.csv"\\n[[extracts]]\\nsector="公安"\\npath="r.csv"\\n', encoding="utf-8")
    >>> roster, extracts = load_inputs(d / "fanpin.toml")
    >>> roster.sector, [e.sector for e in extracts]
    ('roster', ['police'])
    """
    name = path.name
    data = read_toml(path) if data is None else data
    base = path.resolve().parent
    if "roster" not in data:
        raise ConfigError("缺少 [roster] 表（监测对象信息文件）", file=name)
    # a typo such as [[extract]] would otherwise silently drop every extract
    check_keys(data, _TOP_KEYS, "", name)
    roster = _input(data["roster"], "[roster]", base, name, default_sector="roster")
    extracts_raw = data.get("extracts", [])
    if not isinstance(extracts_raw, list):
        raise ConfigError("[[extracts]] 应为表数组", file=name)
    extracts = [
        _input(t, f"第{i}个 [[extracts]]", base, name, default_sector=None)
        for i, t in enumerate(extracts_raw, start=1)
    ]
    roster, *extracts = distinct_labels([roster, *extracts], name)
    return roster, extracts


def _where(i: int) -> str:
    return "[roster]" if i == 0 else f"第{i}个 [[extracts]]"


def distinct_labels(specs: list[InputSpec], name: str) -> list[InputSpec]:
    """`specs` (roster first) each with a `source_file` of its own: every output row names its
    input by (source_file, source_row), so one workbook listed once per sheet (各乡镇分表, 每月一个
    工作表) must not give two sheets' row 5 the same name — their flags and issues would be joined
    to each other's rows. A label written twice gets its sheet (`教育.xlsx「城关镇」`), then its
    sector's title; the same sheet of the same file for the same sector twice would count its
    persons twice and is refused (ConfigError naming both entries).

    >>> from pathlib import Path
    >>> e = lambda sheet, sector="education": InputSpec(sector, Path("/d/教育.xlsx"), "教育.xlsx", sheet=sheet)
    >>> r = InputSpec("roster", Path("/d/r.xlsx"), "r.xlsx")
    >>> [s.source_file for s in distinct_labels([r, e("城关镇"), e("石堤镇")], "fanpin.toml")]
    ['r.xlsx', '教育.xlsx「城关镇」', '教育.xlsx「石堤镇」']
    >>> [s.source_file for s in distinct_labels([r, e(None), e(None, "police")], "fanpin.toml")]
    ['r.xlsx', '教育.xlsx（教育学籍资助）', '教育.xlsx（公安户籍注销）']
    >>> distinct_labels([r, e(2), e("2")], "fanpin.toml")
    Traceback (most recent call last):
    ...
    fanpin_cli.errors.ConfigError: fanpin.toml：第1个 [[extracts]] 和第2个 [[extracts]] 是同一文件（教育.xlsx）的同一工作表、同一类数据：其中每个人会被算两次，请删去一个
    """
    seen: dict[tuple[str, str | None, str], int] = {}
    for i, spec in enumerate(specs):
        sheet = None if spec.sheet is None else str(spec.sheet)
        first = seen.setdefault((str(spec.path), sheet, spec.sector), i)
        if first != i:
            raise ConfigError(f"{_where(first)} 和{_where(i)} 是同一文件（{spec.source_file}）"
                              "的同一工作表、同一类数据：其中每个人会被算两次，请删去一个", file=name)
    labelled = list(specs)
    for part in (lambda s: None if s.sheet is None else f"「{s.sheet}」", lambda s: f"（{SECTOR_TITLES[s.sector]}）"):
        counts = Counter(s.source_file for s in labelled)
        labelled = [replace(s, source_file=s.source_file + (part(s) or "")) if counts[s.source_file] > 1 else s
                    for s in labelled]
    return labelled


def check_reference_date(value: date, key: str, *, file: str | None = None, today: date | None = None) -> date:
    """A reference date in a sane range (2000-01-01 … a year from today), else ConfigError.

    >>> check_reference_date(date(9999, 12, 31), "[run] reference_date", today=date(2026, 11, 30))
    Traceback (most recent call last):
    ...
    fanpin_cli.errors.ConfigError: [run] reference_date「9999-12-31」不在合理范围内（应在 2000-01-01 至 2027-12-01 之间）
    """
    latest = (today or date.today()) + timedelta(days=LATEST_AHEAD_DAYS)
    if not EARLIEST_REFERENCE <= value <= latest:
        raise ConfigError(
            f"{key}「{value.isoformat()}」不在合理范围内（应在 {EARLIEST_REFERENCE.isoformat()} 至 {latest.isoformat()} 之间）",
            file=file,
        )
    return value


def check_rule_overrides(overrides: dict[str, Any], *, file: str | None = None) -> None:
    """Validate `[rules]` against the rule files before any input is read: known parameters,
    finite numbers in each parameter's range, `enabled` booleans (ConfigError otherwise)."""
    from fanpin_cli.flagging import effective_parameters, enabled_rules, load_rules

    try:
        rules = load_rules()
        effective_parameters(rules, overrides)
        enabled_rules(rules, overrides)
    except ConfigError as error:
        raise ConfigError(error.message, file=file) from error
    except FanpinError:
        raise


def check_outputs_apart(config: RunConfig, out_dir: Path) -> None:
    """No input may sit inside the output folder (it would be overwritten or swapped away).

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> spec = InputSpec("police", d / "links.csv", "links.csv")
    >>> cfg = RunConfig(d / "fanpin.toml", "永顺县", "2026-11", date(2026, 11, 30), spec, [])
    >>> check_outputs_apart(cfg, d)
    Traceback (most recent call last):
    ...
    fanpin_cli.errors.ConfigError: links.csv：输入文件在输出文件夹中，运行会覆盖它：请用 --out 指定另一个文件夹
    """
    out = out_dir.resolve()
    for spec in config.inputs:
        path = spec.path.resolve()
        if path == out or out in path.parents:
            raise ConfigError("输入文件在输出文件夹中，运行会覆盖它：请用 --out 指定另一个文件夹", file=spec.source_file)
