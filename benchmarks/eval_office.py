"""Does a county survive LibreOffice? Clean extracts vs the same extracts opened and saved by
LibreOffice Calc with its default column types (IDs become numbers), as .xlsx and as .xls.

    python benchmarks/eval_office.py --households 3000 --seed 11
    python benchmarks/eval_office.py --dir path/to/synth-county

Steps: `fanpin synth` (unless --dir), then every extract is written as a UTF-8 CSV (an .xlsx
extract through LibreOffice's own CSV export) with its headings written differently (`姓  名`,
`证件号码（必填）`, a line break inside `公民身份号码` …), a 合计 row and a 填表人 footer
added, and converted with
`soffice --headless --infilter=CSV:44,34,76,1 --convert-to xlsx|xls` — LibreOffice's default
column types, so ID columns become numbers (.xlsx keeps 15 significant digits, .xls the
double). The roster stays as it is. `fanpin run` runs on the clean, the .xlsx and the .xls
county; the table gives link recall and precision against `ground_truth/links_truth.csv`, and
every rule's flagged persons and households, with the difference from the clean run.

Needs LibreOffice (`soffice` on PATH). A private LibreOffice profile is used, so the script
can run beside another LibreOffice.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
FANPIN = [str(Path(sys.executable).with_name("fanpin"))]


def soffice(args: list[str], profile: Path) -> None:
    """Run LibreOffice headless with a private profile; raise if it fails."""
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        raise SystemExit("LibreOffice (soffice) is not installed")
    cmd = [exe, f"-env:UserInstallation={profile.as_uri()}", "--headless", *args]
    subprocess.run(cmd, check=True, capture_output=True, timeout=1800)


def to_utf8_csv(src: Path, dest: Path, profile: Path) -> None:
    """The extract as a UTF-8 comma-separated CSV (text cells stay text)."""
    if src.suffix.lower() == ".csv":
        data = src.read_bytes()
        for enc in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        dest.write_text(text, encoding="utf-8")
        return
    outdir = dest.parent / "_export"
    outdir.mkdir(exist_ok=True)
    soffice(["--convert-to", 'csv:Text - txt - csv (StarCalc):44,34,76,1', "--outdir", str(outdir), str(src)], profile)
    (outdir / (src.stem + ".csv")).replace(dest)


# Headings as clerks write them (fields.py normalises these): marker suffixes, spaces, breaks.
HEADING_VARIANTS = {"姓名": "姓  名", "身份证号": "证件号码（必填）", "公民身份号码": "公民身份\n号码",
                    "证件号码": "身份证号(必填)", "身份证号码": "身份证件号码"}


def vary(csv: Path) -> None:
    """Headings written differently, a 合计 row under the data and a 填表人 footer, as a
    county department's export has them."""
    import csv as csvlib
    import io

    rows = list(csvlib.reader(io.StringIO(csv.read_text(encoding="utf-8"))))
    header = next((i for i, r in enumerate(rows) if sum(bool(c.strip()) for c in r) >= 3), 0)
    rows[header] = [HEADING_VARIANTS.get(c, c) for c in rows[header]]
    width = len(rows[header])
    total = ["合计", f"{len(rows) - header - 1}人"] + [""] * (width - 2)
    footer = ["填表人：李明    审核人：王强    联系电话：0743-5221234"] + [""] * (width - 1)
    buf = io.StringIO()
    csvlib.writer(buf, lineterminator="\r\n").writerows([*rows, total, footer])
    csv.write_text(buf.getvalue(), encoding="utf-8")


def office_county(clean: Path, out: Path, fmt: str, profile: Path) -> dict[str, str]:
    """A copy of `clean` whose extracts went through LibreOffice as `fmt`; returns old → new
    file names."""
    cfg_text = (clean / "fanpin.toml").read_text(encoding="utf-8")
    cfg = tomllib.loads(cfg_text)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy2(clean / cfg["roster"]["path"], out / cfg["roster"]["path"])
    staging = out / "_csv"
    staging.mkdir(exist_ok=True)
    renamed: dict[str, str] = {}
    csvs = []
    for entry in cfg["extracts"]:
        src = clean / entry["path"]
        csv = staging / (src.stem + ".csv")
        to_utf8_csv(src, csv, profile)
        vary(csv)
        csvs.append(csv)
        renamed[entry["path"]] = src.stem + "." + fmt
    soffice(["--infilter=CSV:44,34,76,1", "--convert-to", fmt, "--outdir", str(out), *map(str, csvs)], profile)
    for old, new in renamed.items():
        cfg_text = cfg_text.replace(f'"{old}"', f'"{new}"')
    (out / "fanpin.toml").write_text(cfg_text, encoding="utf-8")
    shutil.rmtree(staging)
    return renamed


def run_fanpin(county: Path, out: Path) -> float:
    """`fanpin run` on the county; returns seconds."""
    started = time.perf_counter()
    subprocess.run(
        [*FANPIN, "run", str(county / "fanpin.toml"), "--out", str(out), "-q"],
        check=True, cwd=ROOT, capture_output=True, timeout=3600,
    )
    return time.perf_counter() - started


def link_scores(truth: pl.DataFrame, out: Path, renamed: dict[str, str]) -> tuple[float, float]:
    """(recall, precision) of linked rows against the true roster rows."""
    links = pl.read_csv(out / "links.csv", infer_schema=False).select(
        "source_file", pl.col("source_row").cast(pl.Int64), pl.col("roster_row").cast(pl.Int64), "match_status"
    )
    t = truth.with_columns(pl.col("source_file").replace(renamed))
    joined = t.join(links, on=["source_file", "source_row"], how="left")
    linked = joined.filter(pl.col("match_status") == "linked")
    correct = linked.filter(pl.col("roster_row") == pl.col("true_roster_row")).height
    should = joined.filter(pl.col("true_roster_row").is_not_null()).height
    return correct / max(should, 1), correct / max(linked.height, 1)


def rule_counts(out: Path) -> dict[str, tuple[int, int]]:
    """Per rule: (persons confirmed, persons pending review) — households for household rules
    are in summary.json too; persons is the finer count."""
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return {r["rule_id"]: (r["persons"], r.get("pending_persons") or 0) for r in summary["rules"]}


def pct(a: float, b: float) -> str:
    if a == b:
        return "0.0%"
    return "∞" if a == 0 else f"{(b - a) / a * 100:+.1f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--dir", type=Path, help="an existing synthetic county (fanpin synth output)")
    parser.add_argument("--keep", type=Path, help="keep the work folder here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fanpin-office-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    profile = work / "lo-profile"
    clean = args.dir or work / "clean"
    if args.dir is None:
        subprocess.run([*FANPIN, "synth", "--households", str(args.households),
                        "--seed", str(args.seed), "--out", str(clean)], check=True, cwd=ROOT, capture_output=True)
    truth = pl.read_csv(clean / "ground_truth" / "links_truth.csv", infer_schema=False).select(
        "source_file", pl.col("source_row").cast(pl.Int64), pl.col("true_roster_row").cast(pl.Int64)
    )
    versions: dict[str, tuple[Path, dict[str, str]]] = {"clean": (clean, {})}
    for fmt in ("xlsx", "xls"):
        started = time.perf_counter()
        if (work / f"office-{fmt}" / "fanpin.toml").is_file():  # --keep folder from an earlier run
            names = tomllib.loads((clean / "fanpin.toml").read_text(encoding="utf-8"))["extracts"]
            versions[fmt] = (work / f"office-{fmt}", {e["path"]: Path(e["path"]).stem + "." + fmt for e in names})
            continue
        renamed = office_county(clean, work / f"office-{fmt}", fmt, profile)
        print(f"LibreOffice → {fmt}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
        versions[fmt] = (work / f"office-{fmt}", renamed)
    scores, counts = {}, {}
    for name, (county, renamed) in versions.items():
        out = work / f"out-{name}"
        seconds = run_fanpin(county, out)
        print(f"fanpin run ({name}): {seconds:.1f} s", file=sys.stderr)
        scores[name] = link_scores(truth, out, renamed)
        counts[name] = rule_counts(out)
    version = subprocess.run(["soffice", "--version"], capture_output=True, text=True).stdout.strip()
    print(f"Synthetic county: {clean.name if args.dir else f'--households {args.households} --seed {args.seed}'}; {version}\n")
    print("| | clean | LibreOffice .xlsx | LibreOffice .xls |")
    print("|---|---:|---:|---:|")
    for i, label in enumerate(("link recall", "link precision")):
        c = scores["clean"][i]
        print(f"| {label} | {c:.2%} | {scores['xlsx'][i]:.2%} ({(scores['xlsx'][i] - c) * 100:+.2f} pt) "
              f"| {scores['xls'][i]:.2%} ({(scores['xls'][i] - c) * 100:+.2f} pt) |")
    print("\n| rule (persons flagged: confirmed + pending review) | clean | .xlsx | Δ confirmed | Δ all | .xls "
          "| Δ confirmed | Δ all |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    worst = {"confirmed": 0.0, "all": 0.0}
    for rule in sorted(counts["clean"]):
        cp, cq = counts["clean"][rule]
        row = [f"| `{rule}` | {cp} + {cq}"]
        for fmt in ("xlsx", "xls"):
            p, q = counts[fmt].get(rule, (0, 0))
            row.append(f"{p} + {q} | {pct(cp, p)} | {pct(cp + cq, p + q)}")
            if cp:
                worst["confirmed"] = max(worst["confirmed"], abs(p - cp) / cp)
            if cp + cq:
                worst["all"] = max(worst["all"], abs(p + q - cp - cq) / (cp + cq))
        print(" | ".join(row) + " |")
    print(f"\nLargest difference in a rule's confirmed count (the red/yellow/blue lists): {worst['confirmed']:.2%}; "
          f"in its confirmed + pending count (every person listed): {worst['all']:.2%}")

if __name__ == "__main__":
    main()
