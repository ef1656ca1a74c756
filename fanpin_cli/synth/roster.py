"""The roster export (全国防返贫监测信息系统): written rows in household order, with the roster-side
data errors a county really has (bad IDs, duplicate IDs, households without or with two 户主 …).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import ids
from .population import KIND_COUNTY, County

HEADINGS = (
    "县(市、区、旗)", "乡(镇)", "行政村", "组", "户编号", "姓名", "证件号码", "性别", "与户主关系", "家庭人数",
    "监测对象类别", "风险是否已消除", "劳动技能", "健康状况", "在校生状况", "是否参加城乡居民基本医疗保险",
    "人均纯收入（元）",
)
# Rate per roster person (p) or household (h); at least `minimum` cases each.
ROSTER_FAULTS: dict[str, tuple[str, float, int]] = {
    "roster_id_typo": ("p", 0.004, 2),
    "roster_id_duplicate": ("p", 0.0015, 1),
    "roster_id_missing": ("p", 0.002, 1),
    "roster_name_missing": ("p", 0.0015, 1),
    "roster_rel_sex": ("p", 0.003, 1),
    "roster_age_labor": ("p", 0.004, 1),
    "roster_sex_id": ("p", 0.003, 1),
    "roster_hh_no_head": ("h", 0.003, 1),
    "roster_hh_multi_head": ("h", 0.002, 1),
    "roster_hh_size": ("h", 0.008, 1),
}
_FLIP_REL = {"之子": "之女", "之女": "之子", "之父": "之母", "之母": "之父", "之孙子": "之孙女",
             "之孙女": "之孙子", "之儿媳": "之女婿", "之女婿": "之儿媳"}


@dataclass
class RosterTable:
    """The written roster: one entry per data row."""

    person: np.ndarray
    household: np.ndarray
    columns: dict[str, np.ndarray]
    faults: np.ndarray
    tags: dict[int, str] = field(default_factory=dict)   # person → tag for their extract rows
    removed_heads: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    title_rows: tuple[str, ...] = ()


def _count(rng: np.random.Generator, n: int, rate: float, minimum: int) -> int:
    return int(min(n, max(minimum, rng.binomial(n, rate))))


def build_roster(c: County, rng: np.random.Generator, export_date: str) -> RosterTable:
    """Written roster rows with roster-side faults; persons removed from it become residents."""
    p, h, r = c.people, c.households, c.roster
    n_hh = h.hid.size
    order: list[np.ndarray] = []
    for mem in h.members:
        if mem.size > 1 and rng.random() < 0.08:
            mem = rng.permutation(mem)
        order.append(mem)
    row_person = np.concatenate(order)
    n = row_person.size
    hh_of_row = p.hh[row_person]
    sizes = np.bincount(hh_of_row, minlength=n_hh)
    town = np.array(c.geo.townships, dtype=object)[c.geo.village_town[h.village]]
    col: dict[str, np.ndarray] = {
        "县(市、区、旗)": np.full(n, c.geo.county, dtype=object),
        "乡(镇)": town[hh_of_row],
        "行政村": c.geo.village_names[h.village][hh_of_row],
        "组": np.char.add(h.group.astype(str), "组").astype(object)[hh_of_row],
        "户编号": h.hid[hh_of_row],
        "姓名": p.name[row_person].copy(),
        "证件号码": p.id[row_person].copy(),
        "性别": np.where(p.male[row_person], "男", "女").astype(object),
        "与户主关系": r.relation[row_person].copy(),
        "家庭人数": sizes[hh_of_row].astype(np.int64),
        "监测对象类别": h.object_type[hh_of_row],
        "风险是否已消除": h.risk_eliminated[hh_of_row],
        "劳动技能": r.labor[row_person].copy(),
        "健康状况": r.health[row_person],
        "在校生状况": r.school[row_person],
        "是否参加城乡居民基本医疗保险": r.insured[row_person],
        "人均纯收入（元）": h.income[hh_of_row],
    }
    faults = np.full(n, "", dtype=object)
    tags: dict[int, str] = {}
    used_hh = np.zeros(n_hh, dtype=bool)
    age = p.age(c.reference)[row_person]
    rel = col["与户主关系"]

    def take(mask: np.ndarray, k: int) -> np.ndarray:
        cand = np.flatnonzero(mask & ~used_hh[hh_of_row])
        if not cand.size:
            return cand
        pick = rng.choice(cand, min(k, cand.size), replace=False)
        used_hh[hh_of_row[pick]] = True
        return pick

    cnt = {k: _count(rng, n if s == "p" else n_hh, rate, m) for k, (s, rate, m) in ROSTER_FAULTS.items()}
    for i in take(np.ones(n, bool), cnt["roster_id_typo"]).tolist():
        s = col["证件号码"][i]
        pos = int(rng.integers(14, 16))
        col["证件号码"][i] = s[:pos] + str((int(s[pos]) + int(rng.integers(1, 10))) % 10) + s[pos + 1:]
        if ids.checksum_ok(col["证件号码"][i]):
            col["证件号码"][i] = s[:14] + str((int(s[14]) + 5) % 10) + s[15:]
        faults[i] = "roster_id_typo"
        tags[int(row_person[i])] = "roster_id_typo"
    # duplicate: a child row carries a same-sex sibling's ID (copy-paste)
    kids = np.isin(rel, ("之子", "之女"))
    for i in take(kids, cnt["roster_id_duplicate"] * 3).tolist()[: cnt["roster_id_duplicate"]]:
        hh = hh_of_row[i]
        sib = np.flatnonzero((hh_of_row == hh) & (rel == rel[i]) & (np.arange(n) != i))
        if not sib.size:
            sib = np.flatnonzero((hh_of_row == hh) & (col["性别"] == col["性别"][i]) & (np.arange(n) != i))
        if not sib.size:
            used_hh[hh] = False
            continue
        d = int(sib[0])
        col["证件号码"][i] = col["证件号码"][d]
        faults[i] = "roster_id_duplicate"
        tags[int(row_person[i])] = "roster_id_duplicate"
        tags[int(row_person[d])] = "roster_id_shared"
    for i in take(np.ones(n, bool), cnt["roster_id_missing"]).tolist():
        col["证件号码"][i] = ""
        faults[i] = "roster_id_missing"
        tags[int(row_person[i])] = "roster_id_missing"
    for i in take(np.ones(n, bool), cnt["roster_name_missing"]).tolist():
        col["姓名"][i] = ""
        faults[i] = "roster_name_missing"
        tags[int(row_person[i])] = "roster_name_missing"
    for i in take(np.isin(rel, tuple(_FLIP_REL)), cnt["roster_rel_sex"]).tolist():
        rel[i] = _FLIP_REL[rel[i]]
        faults[i] = "roster_rel_sex"
    workers = np.isin(col["劳动技能"], ("普通劳动力", "技能劳动力"))
    hh_has_worker = np.bincount(hh_of_row, weights=workers, minlength=n_hh) > 0
    for i in take((age >= 8) & (age < 16) & hh_has_worker[hh_of_row], cnt["roster_age_labor"]).tolist():
        col["劳动技能"][i] = "弱劳动力或半劳动力" if rng.random() < 0.6 else "普通劳动力"
        faults[i] = "roster_age_labor"
    for i in take(np.ones(n, bool), cnt["roster_sex_id"]).tolist():
        col["性别"][i] = "女" if col["性别"][i] == "男" else "男"
        faults[i] = "roster_sex_id"
    for i in take((rel == "配偶"), cnt["roster_hh_multi_head"]).tolist():
        rel[i] = "户主"
        faults[i] = "roster_hh_multi_head"
    for i in take(rel == "户主", cnt["roster_hh_size"]).tolist():
        rows = hh_of_row == hh_of_row[i]
        delta = 1 if rng.random() < 0.6 or sizes[hh_of_row[i]] == 1 else -1
        col["家庭人数"][rows] += delta
        faults[rows] = np.where(faults[rows] == "", "roster_hh_size", faults[rows])
    # head died and was deleted; nobody was made 户主 and 家庭人数 was not updated
    heads = (rel == "户主") & (sizes[hh_of_row] >= 2) & (age >= 60)
    drop = take(heads, cnt["roster_hh_no_head"])
    for i in drop.tolist():
        rows = hh_of_row == hh_of_row[i]
        faults[rows & (faults == "")] = "roster_hh_no_head"
    keep = np.ones(n, dtype=bool)
    keep[drop] = False
    removed = row_person[drop]
    p.kind[removed] = KIND_COUNTY
    p.hh[removed] = -1
    for k in np.unique(hh_of_row[drop]).tolist():
        h.members[k] = h.members[k][~np.isin(h.members[k], removed)]
    cols = {k: v[keep] for k, v in col.items()}
    titles = (f"{c.geo.county}防返贫监测对象信息表", f"导出时间：{export_date}")
    return RosterTable(row_person[keep], hh_of_row[keep], cols, faults[keep], tags, removed, titles)

