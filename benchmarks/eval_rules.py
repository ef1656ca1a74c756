"""Precision and recall of every flag rule on a synthetic county, against its ground truth.

    python benchmarks/eval_rules.py --households 2000 --seed 7
    python benchmarks/eval_rules.py --dir path/to/synth-county [--no-linker] [--show 5]

The county's files are loaded and prepared as the pipeline does, then the rules are evaluated
twice: (a) on the TRUE links of `ground_truth/links_truth.csv` ("where linkage is correct"),
and (b) on the real linker's links (`fanpin_cli.linking.link`) when it is importable. Flags
are compared with `ground_truth/flags_truth.csv` by key: roster_row for person rules,
household_id for household rules, (source_file, source_row) for CIV_CANDIDATE. Precision is
that of the `confirmed` flags (the red/yellow/blue lists); recall counts `pending_review` flags
too (they are listed apart, "待核实后确定"). Output: one markdown table per run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tomllib
from datetime import date
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fanpin_cli.flagging import evaluate, load_rules  # noqa: E402
from fanpin_cli.loaders import load_file  # noqa: E402
from fanpin_cli.prepare import prepare  # noqa: E402

LINK_COLS = ("roster_row", "household_id", "match_status", "match_method")


def load_county(folder: Path) -> tuple[dict, pl.DataFrame, dict[str, list[pl.DataFrame]], date]:
    """(config, prepared roster, prepared extracts by sector, reference date)."""
    cfg = tomllib.loads((folder / "fanpin.toml").read_text(encoding="utf-8"))
    ref = date.fromisoformat(str(cfg["run"]["reference_date"]))

    def load(entry: dict, sector: str) -> pl.DataFrame:
        loaded = load_file(
            folder / entry["path"],
            sector,
            source_file=entry["path"],
            sheet=entry.get("sheet"),
            header_row=entry.get("header_row"),
            encoding=entry.get("encoding"),
            columns=entry.get("columns"),
        )
        return prepare(loaded.frame, ref)

    roster = load(cfg["roster"], "roster")
    extracts: dict[str, list[pl.DataFrame]] = {}
    for entry in cfg.get("extracts", []):
        extracts.setdefault(entry["sector"], []).append(load(entry, entry["sector"]))
    return cfg, roster, extracts, ref


def true_evidence(folder: Path, extracts: dict[str, list[pl.DataFrame]]) -> dict[str, pl.DataFrame]:
    truth = pl.read_csv(
        folder / "ground_truth" / "links_truth.csv",
        schema_overrides={"true_household_id": pl.String, "source_row": pl.Int64, "true_roster_row": pl.Int64},
    ).select(
        "source_file",
        "source_row",
        pl.col("true_roster_row").alias("roster_row"),
        pl.col("true_household_id").alias("household_id"),
        pl.when(pl.col("true_roster_row").is_not_null()).then(pl.lit("linked")).otherwise(pl.lit("unlinked")).alias("match_status"),
        pl.lit("truth").alias("match_method"),
    )
    out = {}
    for sector, frames in extracts.items():
        joined = [f.drop([c for c in LINK_COLS if c in f.columns]).join(truth, on=["source_file", "source_row"], how="left") for f in frames]
        out[sector] = pl.concat(joined, how="diagonal_relaxed").with_columns(pl.col("match_status").fill_null("unlinked"))
    return out


def linker_evidence(roster: pl.DataFrame, extracts: dict[str, list[pl.DataFrame]]) -> dict[str, pl.DataFrame] | None:
    try:
        from fanpin_cli.linking import link
    except ImportError as exc:
        print(f"(linker not importable: {exc})", file=sys.stderr)
        return None
    out = {}
    for sector, frames in extracts.items():
        joined = []
        for f in frames:
            links = link(roster, f, sector=sector)
            keep = [c for c in ("source_file", "source_row", *LINK_COLS, "rejected") if c in links.columns]
            base = f.drop([c for c in (*LINK_COLS, "rejected") if c in f.columns])
            joined.append(base.join(links.select(keep), on=["source_file", "source_row"], how="left"))
        out[sector] = pl.concat(joined, how="diagonal_relaxed")
    return out


def keyed(frame: pl.DataFrame) -> pl.DataFrame:
    """One key string per flag: what identifies it for the comparison."""
    return frame.select(
        "rule_id",
        pl.when(pl.col("rule_id") == "CIV_CANDIDATE")
        .then(pl.format("{}#{}", pl.col("source_file"), pl.col("source_row")))
        .when(pl.col("roster_row").is_not_null())
        .then(pl.format("r{}", pl.col("roster_row")))
        .otherwise(pl.format("h{}", pl.col("household_id")))
        .alias("key"),
    ).unique()


def score(flags: pl.DataFrame, truth: pl.DataFrame, rule_ids: list[str], show: int = 0) -> pl.DataFrame:
    """Per rule: precision of the confirmed flags, recall of confirmed + pending ones (a pending
    flag is listed for the village too, apart), and how many pending flags are true."""
    if "evidence_status" not in flags.columns:
        flags = flags.with_columns(pl.lit("confirmed").alias("evidence_status"))
    got, want = keyed(flags), keyed(truth)
    confirmed = keyed(flags.filter(pl.col("evidence_status") == "confirmed"))
    pending = keyed(flags.filter(pl.col("evidence_status") == "pending_review"))
    on = ["rule_id", "key"]
    tp = confirmed.join(want, on=on, how="semi")
    fp = confirmed.join(want, on=on, how="anti")
    fn = want.join(got, on=on, how="anti")
    found = got.join(want, on=on, how="semi")
    rows = []
    for rid in rule_ids:
        def n(frame: pl.DataFrame, rid: str = rid) -> int:
            return frame.filter(pl.col("rule_id") == rid).height

        t, p, miss, hit = n(tp), n(fp), n(fn), n(found)
        pend = pending.filter(pl.col("rule_id") == rid)
        rows.append({
            "rule_id": rid, "truth": n(want), "confirmed": t + p, "pending": pend.height,
            "pending_true": pend.join(want, on=on, how="semi").height, "tp": t, "fp": p, "fn": miss,
            "precision": t / (t + p) if t + p else 1.0,
            "recall": hit / (hit + miss) if hit + miss else 1.0,
            "recall_confirmed": t / n(want) if n(want) else 1.0,
        })
        if show and (p or miss):
            print(f"  {rid}: FP {fp.filter(pl.col('rule_id') == rid)['key'].head(show).to_list()} "
                  f"FN {fn.filter(pl.col('rule_id') == rid)['key'].head(show).to_list()}", file=sys.stderr)
    return pl.DataFrame(rows)


def markdown(table: pl.DataFrame, title: str) -> str:
    lines = [
        f"### {title}",
        "",
        "| rule | truth | confirmed | TP | FP | pending (true) | FN | precision (confirmed) | recall (confirmed + pending) | recall (confirmed only) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in table.iter_rows(named=True):
        lines.append(
            f"| {r['rule_id']} | {r['truth']} | {r['confirmed']} | {r['tp']} | {r['fp']} | "
            f"{r['pending']} ({r['pending_true']}) | {r['fn']} | {r['precision']:.2%} | {r['recall']:.2%} | "
            f"{r['recall_confirmed']:.2%} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, help="an existing synthetic county (with fanpin.toml and ground_truth/)")
    ap.add_argument("--households", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--no-linker", action="store_true", help="only the true-links run")
    ap.add_argument("--show", type=int, default=0, help="print up to N mismatching keys per rule")
    args = ap.parse_args(argv)

    folder = args.dir
    if folder is None:
        from fanpin_cli.synth import generate_county

        folder = Path(tempfile.mkdtemp(prefix="fanpin-eval-"))
        t0 = time.perf_counter()
        generate_county(args.households, args.seed, folder)
        print(f"synth: {args.households} households, seed {args.seed} → {folder} ({time.perf_counter() - t0:.1f}s)", file=sys.stderr)
    cfg, roster, extracts, ref = load_county(folder)
    rules = load_rules()
    overrides = cfg.get("rules") or {}
    truth = pl.read_csv(
        folder / "ground_truth" / "flags_truth.csv",
        schema_overrides={"household_id": pl.String, "roster_row": pl.Int64, "source_row": pl.Int64},
    )
    rule_ids = [r.id for r in rules]
    runs = [("true links (linkage correct)", lambda: true_evidence(folder, extracts))]
    if not args.no_linker:
        runs.append(("real linker", lambda: linker_evidence(roster, extracts)))
    print(f"roster rows: {roster.height}; reference date {ref}\n")
    for title, make in runs:
        t0 = time.perf_counter()
        evidence = make()
        if evidence is None:
            continue
        t1 = time.perf_counter()
        flags = evaluate(rules, roster, evidence, reference_date=ref, overrides=overrides)
        t2 = time.perf_counter()
        print(markdown(score(flags, truth, rule_ids, args.show), title))
        print(f"\n(evidence {t1 - t0:.1f}s, rules {t2 - t1:.2f}s, {flags.height} flags)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
