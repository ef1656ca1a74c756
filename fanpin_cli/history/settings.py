"""The `[history]` table of fanpin.toml: where the history file is and how the loop behaves.

```toml
[history]
path = "历史/fanpin-history.duckdb"   # default: fanpin-history.duckdb beside the config
exempt_months = 6                     # or { default = 6, MED_HIGH_OOP = 3 } per rule
verify_days = 15                      # a flag with no answer this long after it was sent is 超期未核实
```

>>> import pathlib
>>> s = parse_settings({}, pathlib.Path("/县/fanpin.toml"))
>>> (s.path.name, s.exempt_months, s.verify_days)
('fanpin-history.duckdb', 6, 15)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fanpin_cli.errors import ConfigError

from .apply import DEFAULT_EXEMPT_MONTHS, DEFAULT_VERIFY_DAYS

DEFAULT_FILE = "fanpin-history.duckdb"
_KEYS = {"path", "exempt_months", "verify_days"}


@dataclass(frozen=True)
class HistorySettings:
    """Where the history lives and the loop's parameters."""

    path: Path
    exempt_months: int | dict[str, int] = DEFAULT_EXEMPT_MONTHS
    verify_days: int = DEFAULT_VERIFY_DAYS

    def params(self) -> dict[str, Any]:
        """The effective parameters, for the run's record."""
        return {"exempt_months": self.exempt_months, "verify_days": self.verify_days}


def _months(value: Any, name: str) -> int | dict[str, int]:
    def ok(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 120

    if ok(value):
        return int(value)
    if isinstance(value, dict) and value and all(ok(v) for v in value.values()):
        return {str(k): int(v) for k, v in value.items()}
    raise ConfigError("[history] exempt_months 应为月数（0–120），或按规则分别设置，如 { default = 6, MED_HIGH_OOP = 3 }",
                      file=name)


def parse_settings(table: dict[str, Any], config_path: Path) -> HistorySettings:
    """Check the `[history]` table of the config at `config_path`."""
    name = config_path.name
    unknown = set(table) - _KEYS
    if unknown:
        raise ConfigError(f"[history] 有未知的键：{'、'.join(sorted(unknown))}（可用：path、exempt_months、verify_days）",
                          file=name)
    raw = table.get("path", DEFAULT_FILE)
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError("[history] path 应为文件路径，如 \"fanpin-history.duckdb\"", file=name)
    days = table.get("verify_days", DEFAULT_VERIFY_DAYS)
    if not isinstance(days, int) or isinstance(days, bool) or days < 0:
        raise ConfigError("[history] verify_days 应为天数（如 15）", file=name)
    months = _months(table.get("exempt_months", DEFAULT_EXEMPT_MONTHS), name)
    return HistorySettings((config_path.parent / raw).resolve(), months, days)


def history_settings(config: Any) -> HistorySettings:
    """The settings of a loaded RunConfig."""
    return parse_settings(getattr(config, "history", {}) or {}, config.config_path)

