"""The synthetic county: townships and villages, roster households with their members, the
county's other residents (who appear only in sector extracts) and a few outsiders.

Persons live in one flat table of numpy arrays; roster persons come first, in household order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from . import ids, names

TOWNSHIPS = (
    "灵溪镇", "首车镇", "石堤镇", "泽家镇", "芙蓉镇", "青天坪镇", "万坪镇", "砂坝镇", "高坪乡", "松柏镇",
    "塔卧镇", "颗砂乡", "对山乡", "车坪乡", "两岔乡", "西歧乡", "毛坝乡", "盐井乡", "润雅乡", "小溪镇",
    "朗溪乡", "吊井乡",
)
_V_HEAD = ("龙", "凤", "马", "高", "新", "双", "老", "石", "青", "白", "茶", "竹", "杉", "松", "柏", "梓",
           "桐", "麻", "彭家", "向家", "田家", "符家", "王家", "李家", "张家", "洞", "和平", "团结",
           "红星", "司城", "那", "科", "吉", "毛", "且", "杨柳", "枫香", "金", "银", "官", "塘")
_V_TAIL = ("坪", "溪", "岩", "塔", "湾", "河", "寨", "洞", "桥", "山", "坝", "坡", "冲", "坳", "场",
           "堡", "湖", "台", "界", "村", "坨", "垭", "田", "峪")

KIND_ROSTER, KIND_COUNTY, KIND_OUTSIDER = 0, 1, 2
OBJECT_TYPES = ("脱贫户", "脱贫不稳定户", "边缘易致贫户", "突发严重困难户")
NO_LABOR = ("丧失劳动力", "无劳动力")


@dataclass
class Geography:
    """Townships and villages of the county."""

    county: str
    county_code: int
    townships: list[str]
    village_names: np.ndarray
    village_town: np.ndarray


@dataclass
class People:
    """Every synthetic person (true values)."""

    name: np.ndarray
    id: np.ndarray
    birth: np.ndarray
    male: np.ndarray
    kind: np.ndarray
    village: np.ndarray
    hh: np.ndarray
    region: np.ndarray
    minority: np.ndarray
    twin_of: np.ndarray

    @property
    def n(self) -> int:
        return int(self.male.size)

    def age(self, ref: date) -> np.ndarray:
        """Age in whole years at `ref` (cached; birth dates are fixed once IDs are built)."""
        cache = self.__dict__.setdefault("_age_cache", {})
        if ref not in cache:
            cache[ref] = age_at(self.birth, ref)
        return cache[ref]


@dataclass
class Households:
    """Roster households (true attributes)."""

    hid: np.ndarray
    village: np.ndarray
    group: np.ndarray
    object_type: np.ndarray
    risk_eliminated: np.ndarray
    income: np.ndarray
    members: list[np.ndarray] = field(default_factory=list)


@dataclass
class RosterPersons:
    """Per roster person (index = person index, roster persons come first)."""

    relation: np.ndarray
    labor: np.ndarray
    health: np.ndarray
    school: np.ndarray
    insured: np.ndarray


@dataclass
class County:
    """Geography, persons, households and roster attributes of one synthetic county."""

    geo: Geography
    people: People
    households: Households
    roster: RosterPersons
    n_roster: int
    reference: date


def age_at(birth: np.ndarray, ref: date) -> np.ndarray:
    """Whole years between datetime64[D] birth dates and `ref`."""
    y = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    md = (birth.astype("datetime64[M]").astype(np.int64) % 12 + 1) * 100 + (
        birth - birth.astype("datetime64[M]")).astype(np.int64) + 1
    return ref.year - y - (md > ref.month * 100 + ref.day)


def births_for_ages(rng: np.random.Generator, ages: np.ndarray, ref: date) -> np.ndarray:
    """Random birth dates giving exactly `ages` whole years at `ref`."""
    month = np.datetime64(ref, "M") - ages.astype(np.int64) * 12
    upper = month.astype("datetime64[D]") + (ref.day - 1)
    lower = (month - 12).astype("datetime64[D]") + ref.day
    span = (upper - lower).astype(np.int64) + 1
    b = lower + (rng.random(ages.size) * span).astype(np.int64)
    for _ in range(3):
        got = age_at(b, ref)
        b = b + (got - ages)
    return b.astype("datetime64[D]")


def make_geography(rng: np.random.Generator, households: int, county: str) -> Geography:
    """Townships (8–20) and uniquely named villages (XX村)."""
    n_town = int(min(20, max(8, round(households / 2500))))
    towns = [str(t) for t in rng.permutation(np.array(TOWNSHIPS))[:n_town]]
    if "灵溪镇" in TOWNSHIPS and "灵溪镇" not in towns:
        towns[0] = "灵溪镇"
    per_town = int(max(3, round(households / n_town / 180)))
    pool = [h + t for h in _V_HEAD for t in _V_TAIL if not (h.endswith(t))]
    pool = [p if p.endswith("村") else p + "村" for p in pool]
    pool = list(dict.fromkeys(pool))
    need = n_town * per_town
    chosen = [pool[i] for i in rng.permutation(len(pool))[:need]]
    while len(chosen) < need:
        chosen.append(f"新建{len(chosen)}村")
    return Geography(county, ids.county_code(county), towns, np.array(chosen, dtype=object),
                     np.repeat(np.arange(n_town), per_town))


_SIZE_P = np.array([0.11, 0.18, 0.2, 0.22, 0.16, 0.08, 0.05])


def _household_members(rng: np.random.Generator, size: int) -> list[tuple[str, bool, int]]:
    """(relation, male, age) of each member, head first."""
    if size == 1:
        age = int(rng.integers(62, 93)) if rng.random() < 0.65 else int(rng.integers(30, 62))
        return [("户主", rng.random() < 0.7, age)]
    head_male = rng.random() < 0.88
    head_age = int(rng.integers(28, 82))
    out = [("户主", head_male, head_age)]
    slots = size - 1
    if rng.random() < 0.85:
        out.append(("配偶", not head_male, int(np.clip(head_age + rng.integers(-6, 4) * (1 if head_male else -1), 20, 95))))
        slots -= 1
    if slots and head_age <= 52 and rng.random() < 0.45:
        for rel, m in (("之父", True), ("之母", False))[: 1 + int(slots > 1 and rng.random() < 0.6)]:
            out.append((rel, m, int(min(98, head_age + rng.integers(22, 35)))))
            slots -= 1
            if not slots:
                break
    if slots >= 3 and head_age >= 56:
        son_age = int(max(18, head_age - rng.integers(22, 33)))
        out.append(("之子", True, son_age))
        out.append(("之儿媳", False, int(max(18, son_age + rng.integers(-4, 3)))))
        slots -= 2
        while slots:
            m = rng.random() < 0.52
            out.append(("之孙子" if m else "之孙女", m, int(max(0, son_age - rng.integers(20, 32)))))
            slots -= 1
        return out
    while slots:
        r = rng.random()
        if r < 0.03:
            m = rng.random() < 0.5
            out.append(("之兄弟姐妹", m, int(max(1, head_age + rng.integers(-8, 9)))))
        elif r < 0.05 and head_age >= 50:
            m = rng.random() < 0.5
            out.append(("之女婿" if m else "之儿媳", m, int(max(18, head_age - rng.integers(22, 30)))))
        else:
            m = rng.random() < 0.52
            out.append(("之子" if m else "之女", m, int(max(0, head_age - rng.integers(21, 40)))))
        slots -= 1
    return out


def _labor(rng: np.random.Generator, age: np.ndarray, health: np.ndarray, student: np.ndarray) -> np.ndarray:
    """劳动技能 as the national rule set expects it (`quality.national`): under 16 and students
    无劳动力; 16–59 healthy non-students 普通 or 技能劳动力, the ill partly 弱劳动力或半劳动力 and
    the gravely ill or disabled partly 丧失劳动力; 60 and over 弱劳动力或半劳动力 or 无劳动力."""
    n = age.size
    u = rng.random(n)
    out = np.full(n, "普通劳动力", dtype=object)
    out[(age >= 18) & (u < 0.16)] = "技能劳动力"
    out[(health != "健康") & (u > 0.7)] = "弱劳动力或半劳动力"
    sick = ((health == "患有大病") | (health == "残疾")) & (age >= 16)
    out[sick & (u < 0.6)] = "丧失劳动力"
    old = age >= 60
    out[old] = np.where(u[old] < 0.7, "弱劳动力或半劳动力", "无劳动力")
    vold = age >= 70
    out[vold] = np.where(u[vold] < 0.25, "弱劳动力或半劳动力", "无劳动力")
    out[(age < 16) | student] = "无劳动力"
    return out


def _health(rng: np.random.Generator, age: np.ndarray) -> np.ndarray:
    u = rng.random(age.size)
    chronic = np.clip(0.03 + age / 400, 0, 0.35)
    out = np.full(age.size, "健康", dtype=object)
    out[u < chronic] = "长期慢性病"
    out[(u >= chronic) & (u < chronic + 0.03)] = "患有大病"
    out[(u >= chronic + 0.03) & (u < chronic + 0.085)] = "残疾"
    return out


def school_grade(birth: np.ndarray, ref: date) -> np.ndarray:
    """School grade number at `ref` by the September cut-off (1 = 一年级; ≤ 0 = 学前)."""
    y = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    m = birth.astype("datetime64[M]").astype(np.int64) % 12 + 1
    entry = y + 6 + (m >= 9)
    return ref.year - entry + (1 if ref.month >= 9 else 0)


def _school_status(rng: np.random.Generator, grade: np.ndarray, age: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Roster 在校生状况 and whether the person is a student."""
    n = grade.size
    u = rng.random(n)
    out = np.full(n, "非在校生", dtype=object)
    student = np.zeros(n, dtype=bool)
    pre = (grade <= 0) & (age >= 3)
    out[pre] = "学前教育"
    prim = (grade >= 1) & (grade <= 6)
    out[prim] = "小学"
    for g, label in ((7, "七年级"), (8, "八年级"), (9, "九年级")):
        out[grade == g] = label
    hs = (grade >= 10) & (grade <= 12) & (u < 0.9)
    voc = hs & (u > 0.62)
    yr = np.array(["", "一", "二", "三", "四"], dtype=object)
    gi = np.clip(grade - 9, 0, 4)
    out[hs & ~voc] = np.char.add(np.char.add("普通高中", yr[gi[hs & ~voc]].astype(str)), "年级")
    out[voc] = np.char.add(np.char.add("中职", yr[gi[voc]].astype(str)), "年级")
    uni = (grade >= 13) & (grade <= 16) & (u < 0.45)
    gu = np.clip(grade - 12, 0, 4)
    lab = np.where(u < 0.2, "本科", "高职高专")
    out[uni] = np.char.add(np.char.add(lab[uni], yr[gu[uni]].astype(str)), "年级")
    student[pre | prim | ((grade >= 7) & (grade <= 9)) | hs | uni] = True
    drop = (grade >= 7) & (grade <= 12) & (u > 0.985)
    out[drop] = "非在校生"
    student[drop] = False
    return out, student


def _regions(rng: np.random.Generator, cc: int, birth: np.ndarray, minority: np.ndarray,
             outsider: np.ndarray) -> np.ndarray:
    n = birth.size
    year = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    pref = ids.codes_near(str(cc)[:4])
    prov = ids.codes_near(str(cc)[:2])
    allc = ids.open_codes()
    xj = ids.open_codes("65")
    region = np.full(n, cc, dtype=np.int64)
    u = rng.random(n)
    sel = (u >= 0.88) & (u < 0.94)
    region[sel] = rng.choice(pref, sel.sum())
    sel = (u >= 0.94) & (u < 0.97)
    region[sel] = rng.choice(prov, sel.sum())
    sel = (u >= 0.97) | outsider
    region[sel] = rng.choice(allc, sel.sum())
    region[minority] = rng.choice(xj, minority.sum())
    for r in ids.retired_codes(str(cc)[:4]) or ids.retired_codes(str(cc)[:2])[:3]:
        sel = (rng.random(n) < 0.004) & (year <= r.end) & ~minority & ~outsider
        region[sel] = r.code
    unk = ids.unknown_codes(str(cc)[:4])
    sel = (rng.random(n) < 0.0025) & ~minority & ~outsider
    region[sel] = rng.choice(unk, sel.sum())
    return region


def _unique_seq(rng: np.random.Generator, region: np.ndarray, birth: np.ndarray, male: np.ndarray,
                taken: np.ndarray | None = None) -> np.ndarray:
    """3-digit sequence numbers (odd for men) making region+birth+sequence unique."""
    day = birth.astype(np.int64)
    seq = rng.integers(0, 500, male.size) * 2 + male.astype(np.int64)
    for _ in range(50):
        key = (region * 100000 + day + 40000) * 1000 + seq
        _, first, counts = np.unique(key, return_index=True, return_counts=True)
        dup = np.ones(key.size, dtype=bool)
        dup[first] = False
        if not dup.any():
            break
        seq[dup] = rng.integers(0, 500, dup.sum()) * 2 + male[dup].astype(np.int64)
    return seq


def make_county(rng: np.random.Generator, households: int, ref: date, county: str,
                population_factor: float) -> County:
    """Build the whole synthetic county (true values only; faults come later)."""
    geo = make_geography(rng, households, county)
    n_vil = geo.village_names.size
    sizes = rng.choice(np.arange(1, 8), households, p=_SIZE_P)
    rel, male, age, hh = [], [], [], []
    for h, s in enumerate(sizes.tolist()):
        for r, m, a in _household_members(rng, s):
            rel.append(r)
            male.append(m)
            age.append(a)
            hh.append(h)
    n_roster = len(rel)
    relation = np.array(rel, dtype=object)
    r_male = np.array(male, dtype=bool)
    r_age = np.array(age, dtype=np.int64)
    r_hh = np.array(hh, dtype=np.int64)

    hh_village = rng.integers(0, n_vil, households)
    hh_village.sort()
    n_other = max(0, int(round(households * population_factor)) - n_roster)
    n_out = max(4, households // 400)
    o_age = rng.choice(np.arange(96), n_other, p=_age_pyramid())
    o_male = rng.random(n_other) < 0.51
    x_age = rng.integers(18, 70, n_out)
    x_male = rng.random(n_out) < 0.6

    all_age = np.concatenate([r_age, o_age, x_age])
    all_male = np.concatenate([r_male, o_male, x_male])
    kind = np.concatenate([np.full(n_roster, KIND_ROSTER), np.full(n_other, KIND_COUNTY),
                           np.full(n_out, KIND_OUTSIDER)]).astype(np.int8)
    n = all_age.size
    birth = births_for_ages(rng, all_age, ref)
    village = np.concatenate([hh_village[r_hh], rng.integers(0, n_vil, n_other), np.full(n_out, -1)])
    person_hh = np.concatenate([r_hh, np.full(n - n_roster, -1)])
    minority = rng.random(n) < np.where(kind == KIND_ROSTER, 0.001, 0.004)
    minority[kind == KIND_OUTSIDER] = rng.random(n_out) < 0.2
    nm = names.draw_names(rng, all_male, minority)
    twin_of = np.full(n, -1, dtype=np.int64)
    _same_names(rng, nm, birth, all_male, village, person_hh, relation, kind, twin_of, minority)
    region = _regions(rng, geo.county_code, birth, minority, kind == KIND_OUTSIDER)
    tw = np.flatnonzero(twin_of >= 0)
    region[tw] = region[twin_of[tw]]
    seq = _unique_seq(rng, region, birth, all_male)
    id_true = ids.build_ids(region, birth, seq).astype(object)

    people = People(nm, id_true, birth, all_male, kind, village, person_hh, region, minority, twin_of)
    hhs = _household_attrs(rng, geo, hh_village, sizes, r_hh, n_roster)
    roster = _roster_attrs(rng, people, n_roster, ref, hhs, relation)
    return County(geo, people, hhs, roster, n_roster, ref)


def _age_pyramid() -> np.ndarray:
    a = np.arange(96)
    w = np.where(a < 60, 1.0, np.exp(-(a - 60) / 12.0))
    w[a < 18] = 0.85
    return w / w.sum()


def _same_names(rng, nm, birth, male, village, hh, relation, kind, twin_of, minority) -> None:
    """Make 同名同姓 frequent: same name in one village, same name + birth date, and look-alikes
    outside the roster sharing a roster person's name and birth date."""
    roster = np.flatnonzero(kind == KIND_ROSTER)
    nr = roster.size
    # same name in the same village (different households, same sex)
    k1 = max(4, int(nr * 0.006))
    order = roster[np.lexsort((male[roster], village[roster]))]
    picks = rng.choice(order.size - 1, min(k1, order.size - 1), replace=False)
    for p in picks.tolist():
        a, b = order[p], order[p + 1]
        if village[a] == village[b] and male[a] == male[b] and hh[a] != hh[b] and not minority[a] | minority[b]:
            nm[b] = nm[a]
    # same name and same birth date, both adult heads/spouses of the same sex
    adults = roster[np.isin(relation[roster], ("户主", "配偶"))]
    k2 = max(3, int(nr * 0.0015))
    for _ in range(k2):
        a, b = rng.choice(adults, 2, replace=False)
        cand = adults[(male[adults] == male[a]) & (hh[adults] != hh[a])
                      & (np.abs((birth[adults] - birth[a]).astype(np.int64)) < 1500)]
        if cand.size:
            b = cand[rng.integers(0, cand.size)]
            nm[b] = nm[a]
            birth[b] = birth[a]
    # county residents off the roster with a roster person's name and birth date
    others = np.flatnonzero(kind == KIND_COUNTY)
    k3 = min(others.size, max(6, int(nr * 0.003)))
    if k3:
        src = rng.choice(roster, k3, replace=False)
        dst = rng.choice(others, k3, replace=False)
        nm[dst] = nm[src]
        birth[dst] = birth[src]
        male[dst] = male[src]
        minority[dst] = minority[src]
        village[dst] = village[src]
        twin_of[dst] = src


def _household_attrs(rng, geo: Geography, hh_village, sizes, r_hh, n_roster) -> Households:
    n = sizes.size
    vil_town = geo.village_town[hh_village]
    local = hh_village - np.searchsorted(geo.village_town, vil_town)
    serial = np.arange(n) - np.searchsorted(hh_village, hh_village) + 1
    hid = np.array([f"{geo.county_code}{t + 1:02d}{v + 1:03d}{s:05d}" for t, v, s in
                    zip(vil_town.tolist(), local.tolist(), (serial * 3 + rng.integers(0, 3, n)).tolist(), strict=True)],
                   dtype=object)
    u = rng.random(n)
    ot = np.array(OBJECT_TYPES, dtype=object)[np.searchsorted([0.74, 0.85, 0.95, 1.0], u, side="right").clip(0, 3)]
    risk = np.where(ot == "脱贫户", "", np.where(rng.random(n) < 0.55, "是", "否")).astype(object)
    income = np.round(np.exp(rng.normal(np.log(13500), 0.42, n)), 2)
    low = rng.random(n) < 0.05
    income[low] = np.round(rng.uniform(3200, 5999.99, low.sum()), 2)
    members = np.split(np.arange(n_roster), np.flatnonzero(np.diff(r_hh)) + 1)
    return Households(hid, hh_village, rng.integers(1, 10, n), ot, risk, income, members)


def _roster_attrs(rng, people: People, n_roster: int, ref: date, hhs: Households,
                  relation: np.ndarray) -> RosterPersons:
    birth = people.birth[:n_roster]
    age = age_at(birth, ref)
    grade = school_grade(birth, ref)
    school, student = _school_status(rng, grade, age)
    health = _health(rng, age)
    labor = _labor(rng, age, health, student)
    insured = np.where(rng.random(n_roster) < 0.975, "是", "否").astype(object)
    # households without labour capacity are never marked 风险消除; monitored ones are poorer
    r_hh = people.hh[:n_roster]
    nolab = np.isin(labor, NO_LABOR)
    all_nolab = np.ones(hhs.hid.size, dtype=bool)
    np.logical_and.at(all_nolab, r_hh, nolab)
    hhs.risk_eliminated[all_nolab & (hhs.object_type != "脱贫户")] = "否"
    # a handful of households exactly on and just under the income line
    edge = rng.choice(hhs.hid.size, min(hhs.hid.size, 4), replace=False)
    hhs.income[edge[:2]] = 6000.0
    hhs.income[edge[2:]] = 5999.99
    hhs.object_type[edge] = "脱贫户"
    hhs.risk_eliminated[edge] = ""
    return RosterPersons(relation, labor, health, school, insured)
