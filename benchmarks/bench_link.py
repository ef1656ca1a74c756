"""Benchmark the linker on a synthetic county (`fanpin synth`) against the ground truth.

    python benchmarks/bench_link.py [--households 3000] [--seed 7] [--speed] [--speed-households 50000]

Accuracy: every extract is loaded (`loaders.load_file`), prepared, linked, and compared with
`ground_truth/links_truth.csv`, beside an exact-ID baseline (Excel VLOOKUP: ID text equal to a
roster ID text). Per sector and per fault kind:

- precision = auto-links (`linked`) to the true roster row / all auto-links;
- recall = auto-links to the true roster row / rows whose true person is on the roster and
  which are usable (a usable ID, or a name plus birth date: the truth's `usable`);
- review share = `review` rows / all rows;
- namesake errors = auto-links to a roster person other than the true one whose name is the
  same (同名同姓 confusions; must be 0).

Speed (`--speed`): a county whose roster has about 180,000 persons and whose medical enrollment
extract has about 1,000,000 rows (`--speed-households 50000`), linked once; reports seconds
and peak RSS. Prints markdown tables ready to paste into README.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
import tomllib
from datetime import date
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fanpin_cli.linking import link  # noqa: E402
from fanpin_cli.loaders import load_file  # noqa: E402
from fanpin_cli.prepare import prepare  # noqa: E402
from fanpin_cli.synth import generate_county  # noqa: E402

REFERENCE = date(2026, 11, 30)
ROSTER = "roster"


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_prepared(files: dict[str, Path]) -> dict[str, pl.DataFrame]:
    """Every file of the synthetic county, loaded and prepared."""
    return {sector: prepare(load_file(path, sector).frame, REFERENCE) for sector, path in files.items()}


def vlookup(roster: pl.DataFrame, extract: pl.DataFrame) -> pl.Series:
    """Excel VLOOKUP on the ID column: the first roster row whose ID text equals the cell."""
    first = (
        roster.select(pl.col("id_number").alias("k"), pl.col("source_row").alias("vl_row"))
        .drop_nulls("k")
        .unique("k", keep="first", maintain_order=True)
    )
    return (
        extract.select(pl.col("id_number").alias("k"))
        .join(first, on="k", how="left", maintain_order="left")["vl_row"]
    )


def run_accuracy(households: int, seed: int, work: Path) -> pl.DataFrame:
    """Link every extract of a synthetic county; one row per extract row with truth and result."""
    t0 = time.perf_counter()
    synth = generate_county(households, seed, work)
    print(f"synth: {households} households, {synth.roster_rows} roster rows in {time.perf_counter() - t0:.1f}s",
          file=sys.stderr)
    frames = load_prepared(synth.files)
    roster = frames.pop(ROSTER)
    truth = pl.read_csv(work / "ground_truth" / "links_truth.csv",
                        schema_overrides={"true_household_id": pl.String, "faults": pl.String})
    names = roster.select(pl.col("source_row").alias("roster_row"), pl.col("name_key").alias("r_name"))
    out = []
    for sector, extract in frames.items():
        t1 = time.perf_counter()
        links = link(roster, extract, sector=sector)
        dt = time.perf_counter() - t1
        print(f"  {sector}: {extract.height} rows linked in {dt:.2f}s", file=sys.stderr)
        out.append(
            links.with_columns(
                extract["name_key"].alias("e_name"),
                vlookup(roster, extract).alias("vl_row"),
            )
        )
    res = pl.concat(out).join(names, on="roster_row", how="left")
    return res.join(truth, on=["sector", "source_file", "source_row"], how="left")


def metrics(frame: pl.DataFrame, by: str) -> pl.DataFrame:
    """Precision, recall, review share (linker and VLOOKUP) grouped by `by`."""
    on_roster = pl.col("true_roster_row").is_not_null()
    eligible = on_roster & pl.col("usable")
    linked = pl.col("match_status") == "linked"
    right = linked & (pl.col("roster_row") == pl.col("true_roster_row")).fill_null(False)
    wrong = linked & ~right
    vl_linked = pl.col("vl_row").is_not_null()
    vl_right = vl_linked & (pl.col("vl_row") == pl.col("true_roster_row")).fill_null(False)
    return (
        frame.group_by(by)
        .agg(
            pl.len().alias("rows"),
            eligible.sum().alias("eligible"),
            linked.sum().alias("linked"),
            wrong.sum().alias("wrong"),
            (wrong & (pl.col("e_name") == pl.col("r_name")).fill_null(False)).sum().alias("namesake_errors"),
            (right.sum() / linked.sum()).alias("precision"),
            ((right & eligible).sum() / eligible.sum()).alias("recall"),
            ((pl.col("match_status") == "review").sum() / pl.len()).alias("review_share"),
            ((pl.col("match_status") == "review") & eligible).sum().alias("review_eligible"),
            (vl_right.sum() / vl_linked.sum()).alias("vlookup_precision"),
            ((vl_right & eligible).sum() / eligible.sum()).alias("vlookup_recall"),
        )
        .sort(by)
    )


def fault_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per (extract row, fault kind); rows without faults under `none`."""
    return frame.with_columns(
        pl.when(pl.col("faults").fill_null("") == "").then(pl.lit("none")).otherwise(pl.col("faults"))
        .str.split(";").alias("fault")
    ).explode("fault")


def markdown(table: pl.DataFrame, key: str) -> str:
    """A markdown table of `metrics` output."""
    head = (f"| {key} | rows | eligible | precision | recall | review share | namesake errors | "
            "VLOOKUP precision | VLOOKUP recall |")
    lines = [head, "|" + "---|" * 9]

    def pct(v: float | None) -> str:
        return "–" if v is None else f"{100 * v:.2f}%"

    for r in table.iter_rows(named=True):
        lines.append(
            f"| {r[key]} | {r['rows']} | {r['eligible']} | {pct(r['precision'])} | {pct(r['recall'])} | "
            f"{pct(r['review_share'])} | {r['namesake_errors']} | {pct(r['vlookup_precision'])} | "
            f"{pct(r['vlookup_recall'])} |"
        )
    return "\n".join(lines)


def _generate(households: int, seed: int, work: Path) -> None:
    t0 = time.perf_counter()
    synth = generate_county(households, seed, work)
    print(f"synth (speed): {synth.rows} in {time.perf_counter() - t0:.1f}s", file=sys.stderr)


def run_speed(households: int, seed: int, work: Path) -> None:
    """Link the medical enrollment extract of a large county once; print time and memory.

    The county is generated in a child process (or reused from `work`), so the peak RSS
    measured here is that of loading, preparing and linking only.
    """
    if not (work / "fanpin.toml").is_file():
        child = multiprocessing.get_context("spawn").Process(target=_generate, args=(households, seed, work))
        child.start()
        child.join()
    cfg = tomllib.loads((work / "fanpin.toml").read_text(encoding="utf-8"))
    paths = {x["sector"]: work / x["path"] for x in cfg["extracts"]}
    t0 = time.perf_counter()
    roster = prepare(load_file(work / cfg["roster"]["path"], ROSTER).frame, REFERENCE)
    extract = prepare(load_file(paths["medical_enrollment"], "medical_enrollment").frame, REFERENCE)
    t_prep = time.perf_counter() - t0
    rss_before = peak_rss_mb()
    t0 = time.perf_counter()
    links = link(roster, extract, sector="medical_enrollment")
    t_link = time.perf_counter() - t0
    counts = links["match_status"].value_counts().sort("match_status")
    print()
    print("| roster persons | extract rows | load + prepare (s) | link (s) | peak RSS (MB) |")
    print("|---|---|---|---|---|")
    print(f"| {roster.height} | {extract.height} | {t_prep:.1f} | {t_link:.1f} | {peak_rss_mb():.0f} |")
    print(f"\n(peak RSS before linking: {rss_before:.0f} MB; statuses: "
          f"{dict(zip(counts['match_status'], counts['count'], strict=True))})")


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--speed", action="store_true", help="also run the 180k × 1M speed test")
    ap.add_argument("--speed-only", action="store_true")
    ap.add_argument("--speed-households", type=int, default=50000)
    ap.add_argument("--out", type=Path, default=None,
                    help="keep the synthetic counties here (a speed county already there is reused)")
    args = ap.parse_args(argv)
    base = args.out or Path(tempfile.mkdtemp(prefix="fanpin-bench-link-"))
    if not args.speed_only:
        res = run_accuracy(args.households, args.seed, base / "accuracy")
        # Rows no linker may auto-link under the rules: a valid ID two digits from the roster's
        # (the 'typo that kept the check valid'), and roster rows whose own ID is missing or
        # copied from a relative (only the name is left to compare).
        blocked = pl.col("faults").fill_null("").str.contains("id_typo_valid_checksum|roster_id_missing|roster_id_duplicate")
        overall = metrics(
            pl.concat([
                res.with_columns(pl.lit("all").alias("scope")),
                res.filter(~blocked).with_columns(pl.lit("all, without rule-blocked rows").alias("scope")),
            ]),
            "scope",
        )
        print(f"\n### Linking accuracy ({args.households} households, seed {args.seed})\n")
        print(markdown(overall, "scope"))
        print("\n#### Per sector\n")
        print(markdown(metrics(res, "sector"), "sector"))
        print("\n#### Per fault kind\n")
        print(markdown(metrics(fault_rows(res), "fault"), "fault"))
    if args.speed or args.speed_only:
        run_speed(args.speed_households, args.seed, base / "speed")


if __name__ == "__main__":
    main()
