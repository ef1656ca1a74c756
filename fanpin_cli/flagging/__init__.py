"""Flag rules as data: `rules/*.yaml` → `Rule` objects (`loader.py`, kinds declared in
`kinds.py`) → flags (`engine.py`; see docs/ARCHITECTURE.md).

>>> rules = load_rules()          # the bundled rules/ folder
>>> len(rules) >= 12
True
"""

from fanpin_cli.flagging.engine import (
    FLAG_COLUMNS,
    bundled_flags,
    empty_flags,
    evaluate,
    skipped_rules,
)
from fanpin_cli.flagging.households import (
    area_summary,
    household_levels,
    household_summary,
    rule_summary,
)
from fanpin_cli.flagging.kinds import KINDS, Kind
from fanpin_cli.flagging.loader import bundled_rule, load_rule_file, load_rules, parse_rules_text
from fanpin_cli.flagging.model import (
    LEVEL_TITLES,
    LEVELS,
    Parameter,
    Rule,
    effective_parameters,
    enabled_rules,
)

__all__ = [
    "FLAG_COLUMNS",
    "KINDS",
    "LEVELS",
    "LEVEL_TITLES",
    "Kind",
    "Parameter",
    "Rule",
    "area_summary",
    "bundled_flags",
    "bundled_rule",
    "effective_parameters",
    "empty_flags",
    "enabled_rules",
    "evaluate",
    "household_levels",
    "household_summary",
    "load_rule_file",
    "load_rules",
    "parse_rules_text",
    "rule_summary",
    "skipped_rules",
]
