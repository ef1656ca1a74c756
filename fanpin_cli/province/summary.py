"""province_summary.json: per county its status (or Chinese error), X户Y人 per rule and level,
quality score and link rates; the province extracts' split; cross-county matches.

>>> county_entry_from({"rules": [], "households_flagged": {"red": 2}, "quality": {"issues": 3},
...                    "scorecard": [], "inputs": [], "period": "2026-11", "reference_date": "2026-11-30"},
...                   "永顺县", "永顺县/fanpin.toml", 1.0)["households_flagged"]["red"]
2
"""

from __future__ import annotations

from typing import Any

import polars as pl

from fanpin_cli import __version__
from fanpin_cli.province.county import CountyOutcome
from fanpin_cli.province.cross import KIND_TITLES
from fanpin_cli.province.result import EngineResult
from fanpin_cli.tables import C


def _link_rates(inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for e in inputs:
        if e.get(C.rows_linked) is None:
            continue  # the roster
        rows = int(e.get(C.rows_read) or 0)
        out.append({
            "file": e["file"], "sector": e["sector"], "sector_title": e.get("sector_title"), C.rows_read: rows,
            C.rows_linked: e[C.rows_linked], C.rows_review: e[C.rows_review], C.rows_unlinked: e[C.rows_unlinked],
            "link_rate": round(e[C.rows_linked] / rows, 4) if rows else None,
        })
    return out


def county_entry_from(summary: dict[str, Any], county: str, given: str, seconds: float) -> dict[str, Any]:
    """The province's line for a county that ran, from its summary.json content."""
    whole = next((c for c in summary.get("scorecard", []) if c.get("level") == "全县"), {})
    links = _link_rates(summary.get("inputs", []))
    rows = sum(e[C.rows_read] for e in links)
    linked = sum(e[C.rows_linked] for e in links)
    return {
        "county": county, "config": given, "status": "ok", "error": None, "output": f"{county}/",
        "period": summary.get("period"), "reference_date": summary.get("reference_date"),
        "elapsed_seconds": seconds,
        "rules": summary.get("rules", []),
        "households_flagged": summary.get("households_flagged", {}),
        "quality": {
            "issues": (summary.get("quality") or {}).get("issues", 0),
            C.clean_rate: whole.get(C.clean_rate), "grade": whole.get("grade"),
        },
        "link_rate": round(linked / rows, 4) if rows else None,
        "links": links,
    }


def county_entry(outcome: CountyOutcome) -> dict[str, Any]:
    """The province's line for a county: its results, or its error."""
    if outcome.ok and outcome.summary is not None:
        return county_entry_from(outcome.summary, outcome.county, outcome.given, outcome.seconds)
    return {"county": outcome.county, "config": outcome.given, "status": "failed", "error": outcome.error,
            "output": None, "elapsed_seconds": outcome.seconds}


def _rule_totals(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    totals: dict[str, dict[str, Any]] = {}
    for e in entries:
        for r in e.get("rules", []):
            t = totals.setdefault(r[C.rule_id], {C.rule_id: r[C.rule_id], "title": r["title"], "level": r["level"],
                                                 "households": 0, "persons": 0, "counties": 0})
            t["households"] += int(r.get("households") or 0)
            t["persons"] += int(r.get("persons") or 0)
            t["counties"] += 1 if r.get("status", "evaluated") == "evaluated" else 0
    return [t | {"text": f"{t['households']}户{t['persons']}人"} for t in totals.values()]


def province_summary(name: str, config_file: str, engine: str, master: str | None, result: EngineResult,
                     elapsed: float) -> dict[str, Any]:
    """province_summary.json's content. Holds no ID number: every text masked (`privacy.mask_data`:
    county names, input file names, error messages), as a county's summary.json is."""
    from fanpin_cli.privacy import mask_data

    entries = mask_data([county_entry(o) for o in result.outcomes])
    ok = [e for e in entries if e["status"] == "ok"]
    levels = {lvl: sum(int(e["households_flagged"].get(lvl, 0)) for e in ok) for lvl in ("red", "yellow", "blue")}
    cross = result.cross
    by_kind = {k: int(cross.filter(pl.col("kind") == k).height) for k in KIND_TITLES}
    return mask_data({
        "version": __version__,
        "province": name,
        "config": config_file,
        "engine": engine,
        "master": master,
        "counties": entries,
        "totals": {
            "counties": len(entries), "counties_ok": len(ok), "counties_failed": len(entries) - len(ok),
            "households_flagged": levels, "rules": _rule_totals(ok),
        },
        "extracts": [s.to_dict() for s in result.extracts],
        "unassigned_rows": int(result.unassigned.height) if result.unassigned is not None else 0,
        "cross_county": {"matches": int(cross.height), "by_kind": by_kind},
        "elapsed_seconds": round(elapsed, 3),
    })
