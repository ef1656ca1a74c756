"""The monthly loop's memory: an embedded DuckDB history of every run, the villages' answers
read back from returned workbooks, and what the next run does with them.

    view = load_view(settings.path, config.county, config.period)   # before compute
    ...compute(config, history=view)...                              # pure
    record_run(settings.path, run)                                   # after the outputs
"""

from .apply import (
    CONFIRMED_METHOD,
    FlagHistory,
    apply_flag_history,
    apply_link_verdicts,
    with_evidence_key,
)
from .settings import HistorySettings, history_settings
from .store import HistoryBusyError, HistoryError, RunRecord, connect, record_run
from .view import HistoryView, load_view

__all__ = [
    "CONFIRMED_METHOD", "FlagHistory", "HistoryBusyError", "HistoryError", "HistoryView", "RunRecord",
    "HistorySettings", "apply_flag_history", "history_settings", "apply_link_verdicts", "connect", "load_view", "record_run", "with_evidence_key",
]
