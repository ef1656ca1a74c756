"""Flag rules as data: `rules/*.yaml` → `Rule` objects (`loader.py`, kinds declared in
`kinds.py`) → flags (`engine.py`; see docs/ARCHITECTURE.md).

>>> from fanpin_cli.flagging import load_rules
>>> rules = load_rules()          # the bundled rules/ folder
>>> len(rules) >= 12
True
"""

from __future__ import annotations

from fanpin_cli.lazy import lazy_names

# Where each public name lives: imported on first use (PEP 562), so that a process needing one
# small module (the report process: `flagging.households`) does not import the engine, and with
# it linking and numpy (~0.2 s at start).
_SOURCES: dict[str, str] = {
    "FLAG_COLUMNS": "engine",
    "KINDS": "kinds",
    "Kind": "kinds",
    "LEVELS": "model",
    "LEVEL_TITLES": "model",
    "Parameter": "model",
    "Rule": "model",
    "area_summary": "households",
    "bundled_flags": "engine",
    "bundled_rule": "loader",
    "effective_parameters": "model",
    "empty_flags": "engine",
    "enabled_rules": "model",
    "evaluate": "engine",
    "household_levels": "households",
    "household_summary": "households",
    "load_rule_file": "loader",
    "load_rules": "loader",
    "parse_rules_text": "loader",
    "rule_summary": "households",
    "skipped_rules": "engine",
}


__all__ = sorted(_SOURCES)


__getattr__, __dir__ = lazy_names(__name__, _SOURCES, globals())
