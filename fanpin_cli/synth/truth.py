"""Ground truth of a synthetic county: persons, the true link of every extract row, the flags
CONTRACT.md's rules give on true links, and the quality issues the written files carry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from fanpin_cli.tables import C

from . import ids
from .extracts import Extract
from .population import KIND_ROSTER, County, age_at
from .sectors import no_labor

ACTIVE_ENROLL = ("参保缴费", "正常参保", "正常", "已参保")
SAFETY_NET = ("农村低保", "城市低保", "特困供养")
MALE_REL = ("之子", "之父", "之孙子", "之女婿", "之外孙子", "之祖父", "之兄", "之弟")
FEMALE_REL = ("之女", "之母", "之孙女", "之儿媳", "之外孙女", "之祖母", "之姐", "之妹")
LEVELS = {"MED_UNINSURED": "red", "MED_HIGH_OOP": "red", "EDU_DROPOUT": "red", "EDU_AID_MISSING": "yellow",
          "HOUSE_UNSAFE": "red", "CIV_NO_SAFETY_NET": "red", "CIV_TEMP_AID": "yellow", "CIV_CANDIDATE": "blue",
          "POL_DEREGISTERED": "yellow", "DIS_MULTI": "yellow", "DIS_SEVERE": "blue", "INC_BELOW_LINE": "red"}
_NORMALIZABLE = {"id_fullwidth", "id_spaces", "id_lower_x", "id_apostrophe", "id_legacy_15", "id_edu_prefix"}
_REPAIRABLE = {"id_typo", "id_typo_valid_checksum", "id_transpose", "id_excel_000"}


@dataclass
class Params:
    """Rule parameters (CONTRACT.md defaults)."""

    income_line: float = 6000.0
    oop_line_cents: int = 934200
    age_min: int = 6
    age_max: int = 16
    oop_window: int = 365
    temp_window: int = 183


def person_keys(n: int) -> pl.Series:
    """P0000001 … for every person index."""
    return pl.select(pl.concat_str([pl.lit("P"), pl.int_range(1, n + 1).cast(pl.String).str.zfill(7)])).to_series()


def _strs(v: np.ndarray) -> pl.Series:
    return pl.Series(v.tolist(), dtype=pl.String)


def _masked(values: np.ndarray, keep: np.ndarray, dtype: pl.DataType) -> pl.Series:
    """A series with nulls where `keep` is false."""
    if dtype == pl.String:
        return pl.Series(np.where(keep, values, None).tolist(), dtype=pl.String)  # noqa: E711
    s = pl.Series(values, dtype=dtype)
    drop = np.flatnonzero(~keep)
    return s.scatter(drop, None) if drop.size else s


def write_persons(c: County, roster_row: np.ndarray, path: Path) -> None:
    """persons.csv: every synthetic person with true name, ID, birth date and roster position."""
    p = c.people
    on = p.kind == KIND_ROSTER
    hid = _masked(c.households.hid[np.maximum(p.hh, 0)], on, pl.String)
    pop = np.array(["roster", "county", "outsider"], dtype=object)[p.kind]
    pl.DataFrame({
        "person_key": person_keys(p.n), "name": _strs(p.name), "id_number": _strs(p.id),
        "birth_date": pl.Series(p.birth).cast(pl.String), "sex": _strs(np.where(p.male, "男", "女").astype(object)),
        "on_roster": on, "roster_row": _masked(roster_row, on, pl.Int64),
        "household_id": hid, "population": _strs(pop),
    }, strict=False).write_csv(path)


def _unknown_region(c: County) -> np.ndarray:
    known = np.fromiter(ids.known_codes(), dtype=np.int64)
    return ~np.isin(c.people.region, known)


def row_faults(ex: Extract, c: County, tags: np.ndarray, unknown: np.ndarray) -> np.ndarray:
    """Fault kinds of each extract row, with roster-side tags and unknown-region persons."""
    f = ex.faults.copy()
    for extra in (tags[ex.person], np.where(unknown[ex.person], "id_unknown_region", "")):
        has = extra != ""
        f[has] = np.where(f[has] == "", extra[has], f[has] + ";" + extra[has])
    return f


def usable(ex: Extract) -> np.ndarray:
    """Rows that carry a valid or normalizable ID, a repairable ID plus a name, or a name plus a
    birth date (education)."""
    out = np.ones(ex.n, dtype=bool)
    for i in np.flatnonzero(ex.faults != "").tolist():
        f = ex.faults[i]
        kinds = set(f.split(";"))
        named = "name_missing" not in kinds
        idk = {k for k in kinds if k.startswith("id_")}
        if not idk or idk <= _NORMALIZABLE:
            out[i] = True
        elif idk <= _REPAIRABLE | _NORMALIZABLE:
            out[i] = named
        else:
            out[i] = named and ex.sector == "education"
    return out


def write_links(c: County, extracts: list[Extract], roster_row: np.ndarray, tags: np.ndarray, path: Path) -> None:
    """links_truth.csv: one row per data row of every extract."""
    keys = person_keys(c.people.n)
    unknown = _unknown_region(c)
    on = c.people.kind == KIND_ROSTER
    hid_all = c.households.hid[np.maximum(c.people.hh, 0)]
    frames = []
    for ex in extracts:
        pr = ex.person
        frames.append(pl.DataFrame({
            "sector": pl.repeat(ex.sector, ex.n, eager=True), "source_file": pl.repeat(ex.file_name, ex.n, eager=True),
            "source_row": ex.source_row, "true_person_key": keys.gather(pr),
            "true_roster_row": _masked(roster_row[pr], on[pr], pl.Int64),
            "true_household_id": _masked(hid_all[pr], on[pr], pl.String),
            "faults": _strs(row_faults(ex, c, tags, unknown)), "usable": usable(ex),
        }, strict=False))
    pl.concat(frames).write_csv(path)


def _by(ex: dict[str, Extract], sector: str) -> Extract:
    return ex[sector]


def compute_flags(c: County, exs: dict[str, Extract], roster_row: np.ndarray, ref: date,
                  prm: Params | None = None) -> pl.DataFrame:
    """flags_truth rows from true links and true roster attributes."""
    prm = prm or Params()
    p = c.people
    n = p.n
    R = np.datetime64(ref, "D")
    on = p.kind == KIND_ROSTER
    hh = np.where(on, p.hh, -1)
    hid = c.households.hid
    rows: list[tuple[str, str, int | None, str | None, int | None]] = []

    def mark(persons: np.ndarray, mask: np.ndarray) -> np.ndarray:
        out = np.zeros(n, dtype=bool)
        out[persons[mask]] = True
        return out

    pol_ex = _by(exs, "police")
    pol = mark(pol_ex.person, np.ones(pol_ex.n, bool))
    enr = _by(exs, "medical_enrollment")
    active = mark(enr.person, np.isin(enr.meta["status"], ACTIVE_ENROLL))
    cl = _by(exs, "medical_claims")
    inwin = (cl.meta["date"] > R - prm.oop_window) & (cl.meta["date"] <= R)
    oop = np.bincount(cl.person, weights=np.where(inwin, cl.meta["oop_cents"], 0), minlength=n)
    edu = _by(exs, "education")
    in_school = mark(edu.person, edu.meta["status"] == "在读")
    no_aid = mark(edu.person, (edu.meta["status"] == "在读") & np.isin(edu.meta["aid"], ("", "无", "否")))
    dis = _by(exs, "disability")
    severe = mark(dis.person, np.isin(dis.meta["grade"], ("一级", "二级")))
    disabled = mark(dis.person, np.ones(dis.n, bool))
    age = age_at(p.birth, ref)

    person_rules = {
        "MED_UNINSURED": on & ~active & ~pol,
        "MED_HIGH_OOP": on & (oop >= prm.oop_line_cents),
        "EDU_DROPOUT": on & (age >= prm.age_min) & (age <= prm.age_max) & ~in_school & ~pol,
        "EDU_AID_MISSING": on & no_aid,
        "DIS_SEVERE": on & severe,
    }
    for rule, m in person_rules.items():
        for i in np.flatnonzero(m).tolist():
            rows.append((rule, hid[hh[i]], int(roster_row[i]), None, None))

    n_hh = hid.size

    def hh_any(persons_mask: np.ndarray) -> np.ndarray:
        m = persons_mask & on
        return np.bincount(hh[m], minlength=n_hh) > 0

    hs = _by(exs, "housing")
    unsafe = mark(hs.person, np.isin(hs.meta["grade"], ("C级", "D级")) & (hs.meta["renovation"] != "已改造"))
    civ = _by(exs, "civil_affairs")
    net = mark(civ.person, np.isin(civ.meta["aid_type"], SAFETY_NET) & (civ.meta["status"] == "在保"))
    temp = mark(civ.person, (civ.meta["aid_type"] == "临时救助") & (civ.meta["date"] > R - prm.temp_window)
                & (civ.meta["date"] <= R))
    n_dis = np.bincount(hh[disabled & on], minlength=n_hh)
    h = c.households
    active_obj = ~np.isin(h.object_type, ("脱贫户", "")) & (h.risk_eliminated != "是")
    has_members = np.bincount(hh[on], minlength=n_hh) > 0
    hh_rules = {
        "HOUSE_UNSAFE": hh_any(unsafe),
        "CIV_NO_SAFETY_NET": no_labor(c) & ~hh_any(net),
        "CIV_TEMP_AID": hh_any(temp),
        "POL_DEREGISTERED": hh_any(pol),
        "DIS_MULTI": n_dis >= 2,
        "INC_BELOW_LINE": has_members & (h.income < prm.income_line) & ~active_obj,
    }
    for rule, m in hh_rules.items():
        for k in np.flatnonzero(m).tolist():
            rows.append((rule, hid[k], None, None, None))
    cand = np.isin(civ.meta["aid_type"], SAFETY_NET) & (civ.meta["status"] == "在保") & ~on[civ.person]
    for i in np.flatnonzero(cand).tolist():
        rows.append(("CIV_CANDIDATE", None, None, civ.file_name, int(civ.source_row[i])))
    df = pl.DataFrame(rows, schema={"rule_id": pl.String, "household_id": pl.String, "roster_row": pl.Int64,
                                    "source_file": pl.String, "source_row": pl.Int64}, orient="row")
    df = df.with_columns(pl.col("rule_id").replace_strict(LEVELS).alias("level"))
    return df.sort(["rule_id", "household_id", "roster_row", "source_row"], nulls_last=True)


def _valid_id_info(raw: str) -> tuple[bool, int, date | None]:
    s = ids.normalize_id(raw)
    if len(s) == 18 and ids.checksum_ok(s):
        b = ids.birth_of(s)
        if b is not None:
            return True, int(s[16]) % 2, b
    return False, -1, None


def quality_rows(c: County, roster: Extract, exs: dict[str, Extract], ref: date) -> pl.DataFrame:
    """Every quality issue the written files carry, per CONTRACT.md's check table."""
    out: list[tuple[str, int, str, str, str, str | None]] = []
    unknown = _unknown_region(c)
    col = roster.columns
    f_name = roster.file_name
    rr = roster.source_row
    written = col["证件号码"]
    true_id = c.people.id[roster.person]
    for i in np.flatnonzero((written != true_id) | unknown[roster.person]).tolist():
        for chk in ids.id_checks(written[i], ref):
            out.append((f_name, int(rr[i]), "id_number", chk, roster.faults[i] or "id_unknown_region", None))
    norm = written.copy()
    for i in np.flatnonzero(written != true_id).tolist():
        norm[i] = ids.normalize_id(written[i])
    uniq, inv, cnt = np.unique(norm.astype(str), return_inverse=True, return_counts=True)
    dup = (cnt[inv] > 1) & (norm != "")
    for i in np.flatnonzero(dup).tolist():
        out.append((f_name, int(rr[i]), "id_number", "ID_DUPLICATE", roster.faults[i], None))
    for i in np.flatnonzero(col["姓名"] == "").tolist():
        out.append((f_name, int(rr[i]), "name", "NAME_MISSING", roster.faults[i], None))
    hids = col["户编号"].astype(str)
    rel = col["与户主关系"]
    u_h, h_inv = np.unique(hids, return_inverse=True)
    heads = np.bincount(h_inv, weights=(rel == "户主"), minlength=u_h.size)
    members = np.bincount(h_inv, minlength=u_h.size)
    size_bad = col["家庭人数"].astype(np.int64) != members[h_inv]
    for chk, column, mask in (("HH_NO_HEAD", "relation", heads[h_inv] == 0),
                              ("HH_MULTI_HEAD", "relation", (heads[h_inv] > 1) & (rel == "户主")),
                              ("HH_SIZE_MISMATCH", "household_size", size_bad)):
        for i in np.flatnonzero(mask).tolist():
            out.append((f_name, int(rr[i]), column, chk, roster.faults[i], hids[i]))
    # sex and age as the written ID states them (valid IDs only)
    same = written == true_id
    valid = same.copy()
    male = c.people.male[roster.person].copy()
    birth = c.people.birth[roster.person].copy()
    for i in np.flatnonzero(~same).tolist():
        ok, sex, b = _valid_id_info(written[i])
        if ok:
            valid[i], male[i], birth[i] = True, sex == 1, np.datetime64(b, "D")
    age = age_at(birth, ref)
    checks = (
        ("REL_SEX_CONFLICT", "relation", (np.isin(rel, MALE_REL) & ~male) | (np.isin(rel, FEMALE_REL) & male)),
        ("SEX_ID_CONFLICT", "sex", (col["性别"] == "男") != male),
        ("AGE_LABOR_CONFLICT", "labor_skill", (age < 16) & (col["劳动技能"] != "无劳动力")),
    )
    for chk, column, mask in checks:
        for i in np.flatnonzero(valid & mask).tolist():
            out.append((f_name, int(rr[i]), column, chk, roster.faults[i], None))
    # link-dependent roster checks (on true links)
    n = c.people.n
    pol = np.zeros(n, bool)
    pol[exs["police"].person] = True
    dead = np.zeros(n, bool)
    dead[exs["police"].person[exs["police"].meta["reason"] == "死亡"]] = True
    enr = exs["medical_enrollment"]
    active = np.zeros(n, bool)
    active[enr.person[np.isin(enr.meta["status"], ACTIVE_ENROLL)]] = True
    rp = roster.person
    for i in np.flatnonzero((col["是否参加城乡居民基本医疗保险"] == "是") & ~active[rp] & ~pol[rp]).tolist():
        out.append((f_name, int(rr[i]), "insured", "INSURED_CONFLICT", "", None))
    for i in np.flatnonzero(dead[rp]).tolist():
        out.append((f_name, int(rr[i]), "id_number", "DECEASED_LISTED", "", None))
    # extracts
    for ex in exs.values():
        faulty = np.array([("id_" in f) for f in ex.faults.tolist()], dtype=bool) | unknown[ex.person]
        idw = ex.columns[ex.id_heading]
        for i in np.flatnonzero(faulty).tolist():
            kinds = ex.faults[i]
            if "id_edu_prefix" in kinds:
                continue
            s = ids.normalize_id(idw[i])
            if ex.sector == "disability" and len(s) == 20:
                s = s[:18]
            for chk in ids.id_checks(s if s else idw[i], ref):
                out.append((ex.file_name, int(ex.source_row[i]), "id_number", chk, kinds or "id_unknown_region", None))
        for i in np.flatnonzero(ex.columns[ex.name_heading] == "").tolist():
            out.append((ex.file_name, int(ex.source_row[i]), "name", "NAME_MISSING", ex.faults[i], None))
        if ex.sector == "education":
            for i in np.flatnonzero(faulty).tolist():
                s = ids.normalize_id(idw[i]).lstrip("GJL")
                b = ids.birth_of(s) if (len(s) == 15 and s.isdigit()) or (len(s) == 18 and s[:17].isdigit()) else None
                if b is not None and np.datetime64(b, "D") != ex.meta["birth"][i]:
                    out.append((ex.file_name, int(ex.source_row[i]), "birth_date", "BIRTH_ID_CONFLICT", ex.faults[i], None))
    return pl.DataFrame(out, schema={"source_file": pl.String, "source_row": pl.Int64, "column": pl.String,
                                     C.check_id: pl.String, "fault": pl.String, "household_id": pl.String},
                        orient="row").sort(["source_file", "source_row", C.check_id])


__all__ = ["Params", "compute_flags", "quality_rows", "write_links", "write_persons"]
