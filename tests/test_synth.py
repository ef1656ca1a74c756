"""The synthetic county generator: determinism, valid IDs, fault kinds, truth files, encodings."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import tomllib
import unicodedata
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from pypinyin import lazy_pinyin
from stdnum.cn import ric

from fanpin_cli.fields import canonical_field
from fanpin_cli.synth import SAMPLE_HOUSEHOLDS, SAMPLE_SEED, generate_county
from fanpin_cli.synth.ids import checksum_ok

REF = date(2026, 11, 30)
EXTRAS = {"序号", "人员类别", "医疗机构名称", "户籍地址"}   # realistic headings no rule needs


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("county")
    generate_county(SAMPLE_HOUSEHOLDS, SAMPLE_SEED, out)
    return out


def _config(out: Path) -> dict:
    return tomllib.loads((out / "fanpin.toml").read_text(encoding="utf-8"))


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):   # an ID Excel turned into a number keeps 15 significant digits
        return str(int(Decimal(f"{v:.15g}"))) if v > 1e12 else f"{v:g}"
    return str(v)


def read_table(path: Path) -> tuple[list[str], dict[int, dict[str, str]], int]:
    """Headings, non-blank data rows by the row number a person sees, and blank rows seen."""
    if path.suffix == ".xlsx":
        wb = openpyxl.load_workbook(path, read_only=True)
        raw = [[_cell(v) for v in row] for row in wb.worksheets[0].iter_rows(values_only=True)]
        wb.close()
    else:
        data = path.read_bytes()
        enc = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else ("utf-8" if _is_utf8(data) else "gb18030")
        raw = list(csv.reader(io.StringIO(data.decode(enc))))
    header_at = next(i for i, r in enumerate(raw) if sum(bool(c.strip()) for c in r) >= 3)
    headings = raw[header_at]
    rows, blank = {}, 0
    for i, r in enumerate(raw[header_at + 1:], start=header_at + 2):
        if not any(c.strip() for c in r):
            blank += 1
            continue
        rows[i] = dict(zip(headings, r, strict=False))
    return headings, rows, blank


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def tables(county: Path) -> dict[str, tuple[list[str], dict[int, dict[str, str]], int]]:
    cfg = _config(county)
    files = [cfg["roster"]["path"]] + [e["path"] for e in cfg["extracts"]]
    return {f: read_table(county / f) for f in files}


@pytest.fixture(scope="module")
def truth(county: Path) -> dict[str, list[dict[str, str]]]:
    gt = county / "ground_truth"
    return {name: read_csv(gt / f"{name}.csv") for name in ("persons", "links_truth", "flags_truth", "quality_truth")}


def _id_heading(headings: list[str], sector: str) -> str:
    return next(h for h in headings if canonical_field(sector, h) == "id_number")


def _name_heading(headings: list[str], sector: str) -> str:
    return next(h for h in headings if canonical_field(sector, h) == "name")


def _sha(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate_county(40, 5, a)
    generate_county(40, 5, b)
    generate_county(40, 6, c)
    assert _sha(a) == _sha(b)
    assert _sha(a)["监测对象信息.xlsx"] != _sha(c)["监测对象信息.xlsx"]


def test_sample_data_is_current(county: Path) -> None:
    sample = Path(__file__).resolve().parents[1] / "sample_data"
    assert sum(p.stat().st_size for p in sample.rglob("*") if p.is_file()) < 3_000_000
    mine = _sha(county)
    theirs = {k: v for k, v in _sha(sample).items() if k in mine}
    assert theirs == mine, "run `python -m fanpin_cli.synth` to regenerate sample_data/"


def test_config_lists_every_file_without_sheet_or_header_row(county: Path) -> None:
    cfg = _config(county)
    assert cfg["run"] == {"county": "永顺县", "period": "2026-11", "reference_date": "2026-11-30"}
    sectors = {e["sector"] for e in cfg["extracts"]}
    assert sectors == {"civil_affairs", "medical_enrollment", "medical_claims", "education", "housing",
                       "police", "disability"}
    for entry in [cfg["roster"], *cfg["extracts"]]:
        assert (county / entry["path"]).is_file()
        assert "sheet" not in entry and "header_row" not in entry


def test_headings_are_known_aliases(county: Path, tables) -> None:
    cfg = _config(county)
    pairs = [("roster", cfg["roster"]["path"])] + [(e["sector"], e["path"]) for e in cfg["extracts"]]
    for sector, f in pairs:
        headings = tables[f][0]
        unknown = [h for h in headings if canonical_field(sector, h) is None and h not in EXTRAS]
        assert not unknown, (f, unknown)
        assert _id_heading(headings, sector) and _name_heading(headings, sector)


def test_links_truth_has_one_row_per_data_row(county: Path, tables, truth) -> None:
    cfg = _config(county)
    by_file = defaultdict(set)
    for r in truth["links_truth"]:
        key = (r["source_file"], int(r["source_row"]))
        assert key not in by_file[r["source_file"]]
        by_file[r["source_file"]].add(key)
    for e in cfg["extracts"]:
        _, rows, _ = tables[e["path"]]
        assert {k[1] for k in by_file[e["path"]]} == set(rows), e["path"]
    assert sum(t[2] for t in tables.values()) > 0, "some files carry blank rows"


def test_persons_roster_rows_point_at_the_person(county: Path, tables, truth) -> None:
    _, rows, _ = tables[_config(county)["roster"]["path"]]
    on = [p for p in truth["persons"] if p["on_roster"] == "true"]
    assert len(on) == len(rows)
    faulty = 0
    for p in on:
        row = rows[int(p["roster_row"])]
        faulty += row["证件号码"] != p["id_number"] or row["姓名"] != p["name"]
    assert 0 < faulty < len(on) * 0.02


def test_clean_rows_carry_valid_ids(county: Path, tables, truth) -> None:
    cfg = _config(county)
    sector_of = {e["path"]: e["sector"] for e in cfg["extracts"]}
    ids = {p["person_key"]: p["id_number"] for p in truth["persons"]}
    checked = 0
    for r in truth["links_truth"]:
        if r["faults"]:
            continue
        headings, rows, _ = tables[r["source_file"]]
        written = rows[int(r["source_row"])][_id_heading(headings, sector_of[r["source_file"]])]
        if r["sector"] == "disability":
            assert len(written) == 20 and written[18] in "1234567" and written[19] in "1234"
            written = written[:18]
        assert written == ids[r["true_person_key"]]
        ric.validate(written)
        checked += 1
    assert checked > 5000


def _adjacent_swap(a: str, b: str) -> bool:
    d = [i for i in range(len(a)) if a[i] != b[i]]
    return len(d) == 2 and d[1] == d[0] + 1 and a[d[0]] == b[d[1]] and a[d[1]] == b[d[0]]


def _strip_spaces(s: str) -> str:
    return re.sub(r"[\s\u3000\u00a0\u200b]", "", s)


ID_SHAPES = {
    "id_typo": lambda w, t: len(w) == 18 and sum(x != y for x, y in zip(w, t, strict=True)) == 1 and not checksum_ok(w),
    "id_typo_valid_checksum": lambda w, t: len(w) == 18 and w != t and checksum_ok(w),
    "id_transpose": lambda w, t: len(w) == 18 and _adjacent_swap(w, t) and not checksum_ok(w),
    "id_excel_000": lambda w, t: w == t[:15] + "000" and not checksum_ok(w),
    "id_excel_sci": lambda w, t: re.fullmatch(r"\d(\.\d+)?E\+(17|19)", w) is not None and w.startswith(t[0]),
    "id_legacy_15": lambda w, t: w == t[:6] + t[8:17],
    "id_fullwidth": lambda w, t: w != t and unicodedata.normalize("NFKC", w) == t,
    "id_spaces": lambda w, t: w != t and _strip_spaces(w) == t,
    "id_lower_x": lambda w, t: w.endswith("x") and w.upper() == t,
    "id_apostrophe": lambda w, t: w == "'" + t,
    "id_missing": lambda w, t: w == "",
    "id_edu_prefix": lambda w, t: len(w) == 19 and w[0] in "GJL" and w[1:] == t,
    "id_placeholder": lambda w, t: w.startswith("999999") and len(w) == 18,
}
NAME_SHAPES = {
    "name_traditional": lambda w, t: w != t and len(w) == len(t),
    "name_homophone": lambda w, t: w != t and lazy_pinyin(w) == lazy_pinyin(t),
    "name_spaces": lambda w, t: w != t and w.replace(" ", "") == t,
    "name_fullwidth": lambda w, t: "\u3000" in w and w.replace("\u3000", "") == t,
    "name_dot_variant": lambda w, t: "·" in t and "·" not in w and len(w) == len(t),
    "name_shape": lambda w, t: len(w) == len(t) and sum(x != y for x, y in zip(w, t, strict=True)) == 1,
    "name_missing": lambda w, t: w == "",
}


@pytest.mark.parametrize("kind", sorted(ID_SHAPES) + sorted(NAME_SHAPES))
def test_each_fault_kind_present_and_looks_as_described(kind: str, county: Path, tables, truth) -> None:
    sector_of = {e["path"]: e["sector"] for e in _config(county)["extracts"]}
    persons = {p["person_key"]: p for p in truth["persons"]}
    hits = [r for r in truth["links_truth"] if kind in r["faults"].split(";")]
    assert hits, f"{kind} never injected"
    for r in hits:
        headings, rows, _ = tables[r["source_file"]]
        row = rows[int(r["source_row"])]
        sector = sector_of[r["source_file"]]
        p = persons[r["true_person_key"]]
        if kind in ID_SHAPES:
            w, t = row[_id_heading(headings, sector)], p["id_number"]
            if sector == "disability" and kind not in ("id_excel_sci", "id_missing"):
                w = w[:-2]
            assert ID_SHAPES[kind](w, t), (kind, w, t)
        else:
            w = row[_name_heading(headings, sector)]
            assert NAME_SHAPES[kind](w, p["name"]), (kind, w, p["name"])
    if kind == "id_edu_prefix":
        assert {r["sector"] for r in hits} == {"education"}


@pytest.mark.parametrize("kind", ["roster_id_typo", "roster_id_duplicate", "roster_id_shared", "roster_id_missing",
                                  "roster_name_missing", "id_unknown_region"])
def test_roster_side_tags_present(kind: str, truth) -> None:
    assert any(kind in r["faults"].split(";") for r in truth["links_truth"])


def test_extract_fault_rate_is_realistic(truth) -> None:
    rows = [r for r in truth["links_truth"] if r["true_roster_row"]]
    injected = [r for r in rows if any(k and not k.startswith("roster_") and k != "id_unknown_region"
                                       for k in r["faults"].split(";"))]
    assert 0.08 <= len(injected) / len(rows) <= 0.15


@pytest.mark.parametrize("check", ["ID_INVALID_CHECKSUM", "ID_EXCEL_MANGLED", "ID_LEGACY_15", "ID_DUPLICATE",
                                   "HH_NO_HEAD", "HH_MULTI_HEAD", "HH_SIZE_MISMATCH", "REL_SEX_CONFLICT",
                                   "AGE_LABOR_CONFLICT", "SEX_ID_CONFLICT", "NAME_MISSING", "ID_MISSING",
                                   "ID_UNKNOWN_REGION", "BIRTH_ID_CONFLICT"])
def test_quality_truth_has_every_check(check: str, truth) -> None:
    assert any(q["check_id"] == check for q in truth["quality_truth"])


def test_gbk_files_are_gbk(county: Path) -> None:
    for name in ("民政_救助名单.csv", "医保_参保登记.csv", "残联_持证残疾人.csv"):
        data = (county / name).read_bytes()
        assert not _is_utf8(data), name
        assert data.decode("gb18030").startswith(("乡镇", "序号", "姓名"))
    assert (county / "医保_结算明细.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert _is_utf8((county / "公安_户籍注销.csv").read_bytes())


def test_same_name_pairs_exist(county: Path, tables, truth) -> None:
    by_name = defaultdict(set)
    by_name_birth = defaultdict(set)
    for p in truth["persons"]:
        by_name[p["name"]].add(p["id_number"])
        by_name_birth[(p["name"], p["birth_date"])].add(p["id_number"])
    assert sum(len(v) > 1 for v in by_name.values()) > 100
    assert any(len(v) > 1 for v in by_name_birth.values())
    _, rows, _ = tables[_config(county)["roster"]["path"]]
    village = Counter((r["行政村"], r["姓名"]) for r in rows.values() if r["姓名"])
    assert any(n > 1 for n in village.values())
    assert any("·" in p["name"] for p in truth["persons"])


def test_flags_truth_shape(truth) -> None:
    person_rules = {"MED_UNINSURED", "MED_HIGH_OOP", "EDU_DROPOUT", "EDU_AID_MISSING", "DIS_SEVERE"}
    hh_rules = {"HOUSE_UNSAFE", "CIV_NO_SAFETY_NET", "CIV_TEMP_AID", "POL_DEREGISTERED", "DIS_MULTI", "INC_BELOW_LINE"}
    seen = set()
    for f in truth["flags_truth"]:
        seen.add(f["rule_id"])
        if f["rule_id"] in person_rules:
            assert f["roster_row"] and f["household_id"] and not f["source_row"]
        elif f["rule_id"] in hh_rules:
            assert not f["roster_row"] and f["household_id"]
        else:
            assert f["rule_id"] == "CIV_CANDIDATE" and f["source_row"] and not f["household_id"]
    assert seen == person_rules | hh_rules | {"CIV_CANDIDATE"}


def test_oop_line_edges_follow_the_rule(county: Path, tables, truth) -> None:
    """Sums exactly at 9342.00 are flagged, 9341.99 and claims dated R−365 are not."""
    link = {int(r["source_row"]): r for r in truth["links_truth"] if r["sector"] == "medical_claims"}
    _, rows, _ = tables["医保_结算明细.csv"]
    start = REF - timedelta(days=365)
    sums: dict[str, Decimal] = defaultdict(Decimal)
    roster_row = {}
    for n, row in rows.items():
        t = link[n]
        d = date.fromisoformat(row["结算日期"][:10])
        if t["true_roster_row"] and start < d <= REF:
            sums[t["true_person_key"]] += Decimal(row["个人自付"])
            roster_row[t["true_person_key"]] = t["true_roster_row"]
    flagged = {f["roster_row"] for f in truth["flags_truth"] if f["rule_id"] == "MED_HIGH_OOP"}
    expected = {roster_row[k] for k, s in sums.items() if s >= Decimal("9342")}
    assert flagged == expected
    assert any(s == Decimal("9342.00") for s in sums.values())
    assert any(s == Decimal("9341.99") for s in sums.values())


def test_any_county_name_gets_its_own_address_code(tmp_path: Path) -> None:
    """`fanpin synth --county 慈利县` (张家界市, whose codes date from 1988) makes that county:
    its name in fanpin.toml, its address code in household numbers and most roster IDs."""
    from typer.testing import CliRunner

    from fanpin_cli.cli import app

    out = tmp_path / "慈利县"
    res = CliRunner().invoke(app, ["synth", "--households", "40", "--seed", "2", "--county", "慈利县",
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert _config(out)["run"]["county"] == "慈利县"
    with (out / "ground_truth" / "persons.csv").open(encoding="utf-8") as fh:
        roster = [r for r in csv.DictReader(fh) if r["on_roster"] == "true"]
    assert roster and all(r["household_id"].startswith("430821") for r in roster)
    regions = Counter(r["id_number"][:6] for r in roster)
    assert regions.most_common(1)[0][0] == "430821"
    assert all(checksum_ok(r["id_number"]) for r in roster if len(r["id_number"]) == 18)

def test_clean_roster_rows_obey_the_national_labour_rules(county: Path, truth) -> None:
    """No national check on 劳动技能 (60+ still 普通劳动力, a healthy 16–60 non-student 弱/丧失/无
    劳动力, a student over 16 with labour) fires on a roster row the generator did not fault."""
    from fanpin_cli.loaders import load_file
    from fanpin_cli.prepare import prepare
    from fanpin_cli.quality import check_file

    cfg = _config(county)
    roster = prepare(load_file(county / cfg["roster"]["path"], "roster").frame, REF)
    issues = check_file(roster, "roster", reference_date=REF)
    faulty = {int(q["source_row"]) for q in truth["quality_truth"] if q["source_file"] == cfg["roster"]["path"]}
    labour = ("ELDERLY_LABOR", "ELDERLY_LOST_LABOR", "ADULT_NO_LABOR", "ADULT_LOST_LABOR", "ADULT_WEAK_LABOR",
              "STUDENT_LABOR")
    fired = issues.filter(pl.col("check_id").is_in(labour))
    assert fired.height == 0 or set(fired["source_row"].to_list()) <= faulty, fired.head(5)
