"""The end-of-run report: measures, `summary.json`, the equity chart and the console text.

Not an actor: pure functions over what the actors answered at the end of a
run. `measures` computes the figures, `summary` builds and writes the JSON,
`chart` draws `equity.png` (the only module that imports matplotlib, and only
when it draws), `text` formats the console report. The names below are the
ones callers used when this was one module.
"""

from __future__ import annotations

from actors.report.convert import dec_str, dt_to_iso, dt_to_ms, ms_to_iso, ratio_str, to_jsonable
from actors.report.measures import final_unrealized, hold_return, max_drawdown, max_drawdown_span, win_rate
from actors.report.summary import CHART_FILE, SUMMARY_FILE, build_summary, write_report
from actors.report.text import format_report

__all__ = [
    "CHART_FILE",
    "SUMMARY_FILE",
    "build_summary",
    "dec_str",
    "dt_to_iso",
    "dt_to_ms",
    "final_unrealized",
    "format_report",
    "hold_return",
    "max_drawdown",
    "max_drawdown_span",
    "ms_to_iso",
    "ratio_str",
    "to_jsonable",
    "win_rate",
    "write_report",
]
