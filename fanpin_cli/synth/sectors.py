"""Builders of the seven sector extracts: who appears in each department's file and with what."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from .extracts import Extract, blanks, fmt_dates, money
from .population import KIND_COUNTY, KIND_OUTSIDER, KIND_ROSTER, NO_LABOR, County, school_grade
from .roster import RosterTable

DIAGNOSES = ("高血压", "2型糖尿病", "慢性阻塞性肺疾病", "脑梗死", "冠心病", "肺炎", "肺恶性肿瘤", "慢性肾衰竭（尿毒症期）",
             "股骨骨折", "白内障", "急性阑尾炎", "慢性胃炎", "上呼吸道感染", "腰椎间盘突出", "类风湿关节炎",
             "精神分裂症", "乳腺恶性肿瘤", "肝硬化", "支气管哮喘", "胆囊结石")
HOSPITALS = ("永顺县人民医院", "永顺县中医医院", "湘西州人民医院", "中南大学湘雅医院", "永顺县妇幼保健院",
             "吉首大学第一附属医院", "乡镇卫生院")
DIS_TYPES = ("视力残疾", "听力残疾", "言语残疾", "肢体残疾", "智力残疾", "精神残疾", "多重残疾")
GRADES_CN = ("一级", "二级", "三级", "四级")
CN_NUM = ("", "一", "二", "三", "四", "五", "六", "七", "八", "九")
UNIVERSITIES = ("吉首大学", "湖南师范大学", "湘西民族职业技术学院", "长沙民政职业技术学院", "湖南工业职业技术学院",
                "怀化学院", "湖南农业大学")


@dataclass
class World:
    """What every builder needs: the county, the written roster, randomness and the date."""

    c: County
    rt: RosterTable
    rng: np.random.Generator
    ref: date

    @property
    def R(self) -> np.datetime64:
        return np.datetime64(self.ref, "D")

    def town_of(self, persons: np.ndarray) -> np.ndarray:
        g = self.c.geo
        v = self.c.people.village[persons]
        towns = np.array(g.townships, dtype=object)[g.village_town[np.maximum(v, 0)]]
        return np.where(v >= 0, towns, "")

    def village_of(self, persons: np.ndarray) -> np.ndarray:
        v = self.c.people.village[persons]
        return np.where(v >= 0, self.c.geo.village_names[np.maximum(v, 0)], "")

    def roster_persons(self) -> np.ndarray:
        return np.flatnonzero(self.c.people.kind == KIND_ROSTER)

    def of_kind(self, kind: int) -> np.ndarray:
        return np.flatnonzero(self.c.people.kind == kind)


def _rand_dates(rng: np.random.Generator, end: np.datetime64, days: int, n: int) -> np.ndarray:
    return end - rng.integers(0, days, n).astype("timedelta64[D]")


def _with_times(rng: np.random.Generator, d: np.ndarray) -> np.ndarray:
    secs = rng.integers(8 * 3600, 18 * 3600, d.size)
    ts = d.astype("datetime64[s]") + secs.astype("timedelta64[s]")
    return np.char.replace(np.datetime_as_string(ts, unit="s"), "T", " ").astype(object)


# ---------------------------------------------------------------- police
def police(w: World) -> Extract:
    """公安 deregistrations: deaths (mostly the old), prison, moving away, military service."""
    p, rng, R = w.c.people, w.rng, w.R
    age = p.age(w.ref)
    n = p.n
    u = rng.random(n)
    county_like = p.kind != KIND_OUTSIDER
    scale = np.where(p.kind == KIND_ROSTER, 1.0, 0.5)
    death = county_like & (u < np.where(age >= 70, 0.03, 0.002) * scale)
    prison = county_like & ~death & p.male & (age >= 18) & (age <= 55) & (rng.random(n) < 0.004 * scale)
    army = county_like & ~death & ~prison & p.male & (age >= 18) & (age <= 23) & (rng.random(n) < 0.02 * scale)
    moved = county_like & ~death & ~prison & ~army & (rng.random(n) < 0.004 * scale)
    reason = np.full(n, "", dtype=object)
    reason[death], reason[prison], reason[army], reason[moved] = "死亡", "服刑", "服役", "迁出"
    removed = w.rt.removed_heads
    reason[removed] = "死亡"
    out = np.flatnonzero(p.kind == KIND_OUTSIDER)[:2]
    reason[out] = "迁出"
    persons = np.flatnonzero(reason != "")
    d = _rand_dates(rng, R, 365, persons.size)
    d[np.isin(persons, removed)] = _rand_dates(rng, R - 200, 300, int(np.isin(persons, removed).sum()))
    addr = np.char.add(np.char.add(np.char.add(w.c.geo.county, w.town_of(persons).astype(str)),
                                   w.village_of(persons).astype(str)), "").astype(object)
    cols = {"姓名": None, "身份证号": None, "注销原因": reason[persons], "注销日期": fmt_dates(d, "iso"),
            "户籍地址": addr}
    ex = Extract("police", "公安_户籍注销.csv", "csv", "utf-8", list(cols), cols, persons, "身份证号", "姓名",
                 meta={"reason": reason[persons], "date": d})
    ex.reorder(np.argsort(d, kind="stable"))
    ex.trailing_blank = 1
    return ex


# ---------------------------------------------------------------- civil affairs
def civil_affairs(w: World, no_labor_hh: np.ndarray) -> Extract:
    """民政: 低保/特困 (在保/停保) and 临时救助 (已发放), roster households and other residents."""
    c, rng, R = w.c, w.rng, w.R
    h = c.households
    persons, types, status, dates = [], [], [], []

    def add(ps: np.ndarray, t, s, d) -> None:
        k = ps.size
        persons.append(ps)
        types.append(np.broadcast_to(np.asarray(t, dtype=object), (k,)).copy())
        status.append(np.broadcast_to(np.asarray(s, dtype=object), (k,)).copy())
        dates.append(np.asarray(d, dtype="datetime64[D]") if np.ndim(d) else np.full(k, d, "datetime64[D]"))

    n_hh = h.hid.size
    u = rng.random(n_hh)
    covered = no_labor_hh & (u < 0.72)
    other = ~no_labor_hh & (u < 0.12)
    old_stop = no_labor_hh & ~covered & (rng.random(n_hh) < 0.3)
    age = c.people.age(w.ref)
    for k in np.flatnonzero(covered | other | old_stop).tolist():
        mem = h.members[k]
        if not mem.size:
            continue
        since = R - int(rng.integers(60, 3650))
        if covered[k]:
            t = "特困供养" if mem.size == 1 and age[mem[0]] >= 60 and rng.random() < 0.6 else "农村低保"
            add(mem, t, "在保", since)
        elif old_stop[k]:
            add(mem[:1], "农村低保", "停保", since)
        else:
            t = "城市低保" if rng.random() < 0.07 else "农村低保"
            s = "在保" if rng.random() < 0.85 else "停保"
            add(mem if rng.random() < 0.8 else mem[:1], t, s, since)
    temp = np.flatnonzero(rng.random(n_hh) < 0.04)
    tp = np.array([h.members[k][int(rng.integers(0, h.members[k].size))] for k in temp.tolist() if h.members[k].size],
                  dtype=np.int64)
    td = _rand_dates(rng, R, 730, tp.size)
    if tp.size >= 4:
        td[:4] = [R - 183, R - 182, R - 184, R]
    add(tp, "临时救助", "已发放", td)
    # residents off the roster: 应纳未纳 candidates, stopped cases and one-off aid
    county = w.of_kind(KIND_COUNTY)
    twins = np.flatnonzero(c.people.twin_of >= 0)
    k_c = max(6, round(n_hh * 0.06))
    cand = np.unique(np.concatenate([twins[: max(2, twins.size // 2)],
                                     rng.choice(county, min(county.size, k_c), replace=False)]))
    tc = np.where(rng.random(cand.size) < 0.2, "特困供养", np.where(rng.random(cand.size) < 0.08, "城市低保", "农村低保"))
    add(cand, tc, "在保", _rand_dates(rng, R, 1500, cand.size))
    stop = rng.choice(county, min(county.size, max(3, round(n_hh * 0.03))), replace=False)
    add(stop, "农村低保", "停保", _rand_dates(rng, R, 2500, stop.size))
    tmp = rng.choice(county, min(county.size, max(3, round(n_hh * 0.03))), replace=False)
    add(tmp, "临时救助", "已发放", _rand_dates(rng, R, 730, tmp.size))
    outs = w.of_kind(KIND_OUTSIDER)
    outs = outs[2: 2 + max(2, outs.size // 3)]
    add(outs, "临时救助", "已发放", _rand_dates(rng, R, 365, outs.size))

    person = np.concatenate(persons)
    t = np.concatenate(types)
    s = np.concatenate(status)
    d = np.concatenate(dates)
    amt = np.where(t == "特困供养", rng.integers(600, 950, t.size),
                   np.where(t == "临时救助", rng.integers(5, 50, t.size) * 100, rng.integers(280, 520, t.size)))
    style = np.where(rng.random(t.size) < 0.75, "iso", "slash")
    cols = {"乡镇": w.town_of(person), "村": w.village_of(person), "姓名": None, "身份证号码": None,
            "救助类型": t, "保障状态": s, "纳入时间": fmt_dates(d, style), "月保障金额": amt.astype(str).astype(object)}
    ex = Extract("civil_affairs", "民政_救助名单.csv", "csv", "gb18030", list(cols), cols, person, "身份证号码", "姓名",
                 meta={"aid_type": t, "status": s, "date": d})
    key = np.lexsort((rng.random(person.size), cols["村"].astype(str), cols["乡镇"].astype(str)))
    ex.reorder(key)
    ex.blank_before = blanks(rng, ex.n, 2)
    ex.trailing_blank = 1
    return ex


# ---------------------------------------------------------------- medical enrollment
def medical_enrollment(w: World, police_ex: Extract, civil_ex: Extract) -> Extract:
    """医保 enrollment of the whole county; some roster persons missing or not active."""
    c, rng = w.c, w.rng
    p = c.people
    n = p.n
    resident = p.kind != KIND_OUTSIDER
    pol = np.zeros(n, dtype=bool)
    pol[police_ex.person] = True
    u = rng.random(n)
    roster = p.kind == KIND_ROSTER
    missing = resident & np.where(roster, u < 0.02, u < 0.01)
    missing |= pol & (rng.random(n) < 0.5)
    inactive = resident & ~missing & ((roster & (rng.random(n) < 0.02)) | (~roster & (rng.random(n) < 0.015))
                                      | (pol & (rng.random(n) < 0.6)))
    persons = np.flatnonzero(resident & ~missing)
    status = np.where(rng.random(persons.size) < 0.6, "参保缴费", "正常参保").astype(object)
    ina = inactive[persons]
    status[ina] = np.where(rng.random(ina.sum()) < 0.45, "暂停参保", "终止参保")
    year = np.full(persons.size, str(w.ref.year), dtype=object)
    age = p.age(w.ref)[persons]
    ins = np.where((age >= 22) & (age < 60) & (rng.random(persons.size) < 0.03),
                   "职工基本医疗保险", "城乡居民基本医疗保险").astype(object)
    # a second row from last year for some persons
    extra = persons[rng.random(persons.size) < 0.03]
    e_status = np.where(rng.random(extra.size) < 0.7, "正常参保", "终止参保").astype(object)
    person = np.concatenate([persons, extra])
    status = np.concatenate([status, e_status])
    year = np.concatenate([year, np.full(extra.size, str(w.ref.year - 1), dtype=object)])
    ins = np.concatenate([ins, np.full(extra.size, "城乡居民基本医疗保险", dtype=object)])
    cat = np.full(person.size, "普通居民", dtype=object)
    cat[p.kind[person] == KIND_ROSTER] = "脱贫人口"
    civ = np.zeros(n, dtype=bool)
    civ[civil_ex.person[np.isin(civil_ex.meta["aid_type"], ("农村低保", "城市低保", "特困供养"))]] = True
    cat[civ[person]] = "低保对象"
    cols = {"序号": None, "姓名": None, "公民身份号码": None, "险种类型": ins, "参保状态": status, "参保年度": year,
            "人员类别": cat}
    ex = Extract("medical_enrollment", "医保_参保登记.csv", "csv", "gb18030", list(cols), cols, person, "公民身份号码",
                 "姓名", meta={"status": status})
    ex.reorder(rng.permutation(person.size))
    ex.columns["序号"] = np.arange(1, ex.n + 1).astype(str).astype(object)
    ex.trailing_blank = 1
    return ex


# ---------------------------------------------------------------- medical claims
def _split_cents(rng: np.random.Generator, total: int, k: int) -> np.ndarray:
    wts = rng.dirichlet(np.ones(k))
    parts = np.floor(wts * total).astype(np.int64)
    parts[-1] += total - parts.sum()
    return parts


def medical_claims(w: World) -> Extract:
    """医保 settlements over ~2 years; some roster persons cross the out-of-pocket line, some sit
    exactly on it or just below, some only cross it with claims outside the 365-day window."""
    c, rng, R = w.c, w.rng, w.R
    p = c.people
    roster = w.roster_persons()
    county = w.of_kind(KIND_COUNTY)
    health = np.full(p.n, "", dtype=object)
    health[: c.n_roster] = c.roster.health
    sick = np.isin(health[roster], ("患有大病", "长期慢性病"))
    nr = roster.size
    k_ex = max(2, round(nr * 0.001))
    special = rng.choice(roster, min(nr, 4 * k_ex), replace=False)
    exact, below, trap, edge = np.array_split(special, 4)
    used = np.zeros(p.n, dtype=bool)
    used[special] = True
    high_p = np.where(sick, 0.10, 0.012)
    high = roster[(rng.random(nr) < high_p) & ~used[roster]]
    pers, dd, oop = [], [], []

    def claims(person: int, cents: np.ndarray, days: np.ndarray) -> None:
        pers.append(np.full(cents.size, person, np.int64))
        oop.append(cents)
        dd.append(days)

    for who in exact.tolist():
        k = int(rng.integers(2, 7))
        claims(who, _split_cents(rng, 934200, k), rng.integers(0, 365, k))
    for i, who in enumerate(below.tolist()):
        k = int(rng.integers(2, 7))
        claims(who, _split_cents(rng, 934199 if i % 2 == 0 else int(rng.integers(900000, 934199)), k),
               rng.integers(0, 365, k))
    for who in trap.tolist():     # crosses the line only with a claim dated exactly R-365 (outside)
        k = int(rng.integers(2, 5))
        claims(who, _split_cents(rng, int(rng.integers(600000, 900000)), k), rng.integers(0, 300, k))
        claims(who, np.array([int(rng.integers(80000, 300000))]), np.array([365]))
    for who in edge.tolist():     # crosses it with a claim dated R-364 (inside)
        k = int(rng.integers(2, 5))
        claims(who, _split_cents(rng, int(rng.integers(600000, 900000)), k), rng.integers(0, 300, k))
        claims(who, np.array([int(rng.integers(350000, 500000))]), np.array([364]))
    for who in high.tolist():
        k = int(rng.integers(3, 11))
        claims(who, _split_cents(rng, int(rng.integers(940000, 4000000)), k), rng.integers(0, 365, k))
        m = int(rng.integers(0, 4))
        if m:
            claims(who, (np.exp(rng.normal(np.log(40000), 0.9, m))).astype(np.int64), rng.integers(366, 730, m))
    # ordinary claimants
    gen_r = roster[(rng.random(nr) < 0.33) & ~used[roster]]
    gen_c = county[rng.random(county.size) < 0.05]
    outs = w.of_kind(KIND_OUTSIDER)[-2:]
    gen = np.concatenate([gen_r, gen_c, outs])
    cnt = 1 + rng.poisson(1.2, gen.size)
    gp = np.repeat(gen, cnt)
    pers.append(gp)
    oop.append(np.clip(np.exp(rng.normal(np.log(25000), 1.0, gp.size)), 500, 3_000_000).astype(np.int64))
    dd.append(rng.integers(0, 730, gp.size))
    person = np.concatenate(pers)
    cents = np.concatenate(oop)
    days_ago = np.concatenate(dd)
    d = R - days_ago.astype("timedelta64[D]")
    fund = (cents * rng.uniform(0.6, 4.0, cents.size)).astype(np.int64)
    cols = {"姓名": None, "证件号码": None, "结算日期": _with_times(rng, d), "医疗总费用": money(cents + fund),
            "统筹支付": money(fund), "个人自付": money(cents),
            "疾病诊断": np.array(DIAGNOSES, dtype=object)[rng.integers(0, len(DIAGNOSES), cents.size)],
            "医疗机构名称": np.array(HOSPITALS, dtype=object)[rng.integers(0, len(HOSPITALS), cents.size)]}
    ex = Extract("medical_claims", "医保_结算明细.csv", "csv", "utf-8-sig", list(cols), cols, person, "证件号码", "姓名",
                 meta={"date": d, "oop_cents": cents})
    ex.reorder(np.lexsort((rng.random(person.size), d)))
    ex.trailing_blank = 2
    return ex


# ---------------------------------------------------------------- education
def _grade_labels(grade: np.ndarray, track: np.ndarray) -> np.ndarray:
    out = np.full(grade.size, "", dtype=object)
    out[grade == 0] = "大班"
    out[grade == -1] = "中班"
    out[grade <= -2] = "小班"
    for g in range(1, 10):
        out[grade == g] = f"{CN_NUM[g]}年级"
    for g, lab in ((10, "一"), (11, "二"), (12, "三")):
        out[(grade == g) & (track == "hs")] = f"高{lab}"
        out[(grade == g) & (track == "voc")] = f"中职{lab}年级"
    for g in range(13, 17):
        out[grade == g] = f"大{CN_NUM[g - 12]}"
    return out


def education(w: World, police_ex: Extract) -> Extract:
    """教育 学籍/资助: roster students (a few missing, 辍学, 休学, 转学) and other students on aid."""
    c, rng = w.c, w.rng
    p = c.people
    roster = w.roster_persons()
    school = np.full(p.n, "", dtype=object)
    school[: c.n_roster] = c.roster.school
    age = p.age(w.ref)
    grade = school_grade(p.birth, w.ref)
    pol = np.zeros(p.n, dtype=bool)
    pol[police_ex.person] = True
    stud = roster[(school[roster] != "非在校生") & (school[roster] != "")]
    u = rng.random(stud.size)
    compulsory = (age[stud] >= 6) & (age[stud] <= 16)
    gone = pol[stud] & (rng.random(stud.size) < 0.8)
    absent = (compulsory & (u < 0.03)) | gone
    status = np.full(stud.size, "在读", dtype=object)
    status[compulsory & (u >= 0.03) & (u < 0.045)] = "辍学"
    status[compulsory & (u >= 0.045) & (u < 0.055)] = "休学"
    tr = compulsory & (u >= 0.055) & (u < 0.062)
    status[tr] = "转学"
    r_person = stud[~absent]
    r_status = status[~absent]
    again = r_person[(r_status == "转学") & (rng.random(r_person.size) < 0.5)]
    # graduates from last year and students off the roster
    grads = roster[(age[roster] >= 18) & (age[roster] <= 19) & (rng.random(roster.size) < 0.3)]
    county = w.of_kind(KIND_COUNTY)
    young = county[(age[county] >= 3) & (age[county] <= 21)]
    others = rng.choice(young, min(young.size, round(c.households.hid.size * 0.6)), replace=False)
    o_status = np.where(rng.random(others.size) < 0.96, "在读", "休学").astype(object)
    person = np.concatenate([r_person, again, grads, others])
    st = np.concatenate([r_status, np.full(again.size, "在读", object), np.full(grads.size, "毕业", object), o_status])
    on_roster = p.kind[person] == KIND_ROSTER
    g = grade[person].copy()
    g[st == "毕业"] = 12
    rs = school[person].astype(str)
    track = np.where(np.char.find(rs, "中职") >= 0, "voc", np.where(rng.random(person.size) < 0.35, "voc", "hs"))
    track = np.where(on_roster & (np.char.find(rs, "普通高中") >= 0), "hs", track)
    labels = _grade_labels(g, track)
    town = w.town_of(person).astype(str)
    tshort = np.char.rstrip(np.char.rstrip(town, "镇"), "乡")
    county_name = w.c.geo.county
    name_school = np.where(g <= 0, np.char.add(np.char.add(county_name, tshort), "中心幼儿园"),
                           np.where(g <= 6, np.char.add(np.char.add(county_name, tshort), "中心小学"),
                                    np.where(g <= 9, np.char.add(np.char.add(county_name, tshort), "中学"),
                                             np.where(track == "voc", f"{county_name}职业中专学校",
                                                      f"{county_name}第一中学")))).astype(object)
    uni = g >= 13
    name_school[uni] = np.array(UNIVERSITIES, dtype=object)[rng.integers(0, len(UNIVERSITIES), uni.sum())]
    hs_alt = (g >= 10) & (g <= 12) & (track == "hs") & (rng.random(person.size) < 0.4)
    name_school[hs_alt] = np.where(rng.random(hs_alt.sum()) < 0.5, f"{county_name}第二中学", "湘西州民族中学")
    aid = np.where(g <= 0, "学前教育幼儿资助",
                   np.where(g <= 9, np.where(rng.random(person.size) < 0.7, "义务教育家庭经济困难学生生活补助",
                                             "营养改善计划"),
                            np.where(g <= 12, np.where(track == "voc", "中职国家助学金、免学费", "普通高中国家助学金"),
                                     np.where(rng.random(person.size) < 0.5, "雨露计划", "国家助学贷款")))).astype(object)
    none_p = np.where(on_roster, 0.07, 0.6)
    no_aid = rng.random(person.size) < none_p
    aid[no_aid] = np.array(["", "无", "否", ""], dtype=object)[rng.integers(0, 4, no_aid.sum())]
    aid[st == "毕业"] = ""
    style = rng.random(person.size)
    date_cell = style < 0.5
    bstyle = np.where(style < 0.8, "slash", "compact")
    bstyle[date_cell] = "iso"
    cols = {"序号": None, "学生姓名": None, "身份证号": None, "出生日期": fmt_dates(p.birth[person], bstyle),
            "学校名称": name_school, "年级": labels, "学籍状态": st, "资助项目": aid}
    ex = Extract("education", "教育_学籍资助.xlsx", "xlsx", "", list(cols), cols, person, "身份证号", "学生姓名",
                 meta={"status": st, "aid": aid, "birth": p.birth[person]},
                 title_rows=(f"{county_name}{w.ref.year}年秋季学期学生学籍及资助信息汇总表",), sheet="学籍资助",
                 date_cells={"出生日期": date_cell})
    ex.reorder(np.lexsort((rng.random(person.size), name_school.astype(str))))
    ex.columns["序号"] = np.arange(1, ex.n + 1).astype(np.int64)
    ex.trailing_blank = 2
    return ex


# ---------------------------------------------------------------- housing
def housing(w: World) -> Extract:
    """住建 rural housing safety assessments: 户主 (sometimes another adult) per assessed household."""
    c, rng, R = w.c, w.rng, w.R
    h, p = c.households, c.people
    age = p.age(w.ref)
    persons = []
    for k in np.flatnonzero(rng.random(h.hid.size) < 0.4).tolist():
        mem = h.members[k]
        if not mem.size:
            continue
        adults = mem[age[mem] >= 18]
        persons.append(int(mem[0]) if rng.random() < 0.9 or not adults.size else int(rng.choice(adults)))
    county = w.of_kind(KIND_COUNTY)
    adults_c = county[age[county] >= 25]
    others = rng.choice(adults_c, min(adults_c.size, round(h.hid.size * 0.3)), replace=False)
    removed = w.rt.removed_heads
    person = np.concatenate([np.array(persons, dtype=np.int64), others, removed[: max(1, removed.size // 2)]])
    u = rng.random(person.size)
    grade = np.where(u < 0.55, "A级", np.where(u < 0.84, "B级", np.where(u < 0.95, "C级", "D级"))).astype(object)
    cd = np.isin(grade, ("C级", "D级"))
    v = rng.random(person.size)
    renov = np.where(cd, np.where(v < 0.62, "已改造", np.where(v < 0.8, "改造中", "未改造")), "").astype(object)
    d = _rand_dates(rng, R, 1100, person.size)
    style = np.where(rng.random(person.size) < 0.7, "iso", "cn")
    cols = {"乡镇(街道)": w.town_of(person), "村(社区)": w.village_of(person), "户主姓名": None, "户主身份证号": None,
            "鉴定等级": grade, "鉴定时间": fmt_dates(d, style), "改造情况": renov}
    ex = Extract("housing", "住建_危房鉴定.xlsx", "xlsx", "", list(cols), cols, person, "户主身份证号", "户主姓名",
                 meta={"grade": grade, "renovation": renov},
                 title_rows=(f"{c.geo.county}农村低收入群体等重点对象住房安全鉴定台账", f"填报单位：{c.geo.county}住房和城乡建设局"),
                 sheet="鉴定台账",
                 extra_sheets={"填表说明": [["填表说明"], ["1. 鉴定等级按《农村住房安全性鉴定技术导则》填写A、B、C、D级。"],
                                             ["2. C级、D级危房须填写改造情况。"]]})
    ex.reorder(np.lexsort((rng.random(person.size), cols["村(社区)"].astype(str), cols["乡镇(街道)"].astype(str))))
    ex.blank_before = blanks(rng, ex.n, 1)
    ex.trailing_blank = 2
    return ex


# ---------------------------------------------------------------- disability
def disability(w: World) -> tuple[Extract, np.ndarray]:
    """残联 certified disabled persons (20-character 残疾人证号); returns the extract and ID suffixes."""
    c, rng = w.c, w.rng
    roster = w.roster_persons()
    health = c.roster.health[roster]
    r_sel = roster[((health == "残疾") & (rng.random(roster.size) < 0.88)) | (rng.random(roster.size) < 0.004)]
    county = w.of_kind(KIND_COUNTY)
    o_sel = county[rng.random(county.size) < 0.012]
    person = np.concatenate([r_sel, o_sel])
    cat = rng.choice(7, person.size, p=[0.08, 0.1, 0.03, 0.45, 0.12, 0.12, 0.1]) + 1
    grade = rng.choice(4, person.size, p=[0.1, 0.22, 0.33, 0.35]) + 1
    suffix = np.char.add(cat.astype(str), grade.astype(str)).astype(object)
    grade_cn = np.array(GRADES_CN, dtype=object)[grade - 1]
    cols = {"姓名": None, "残疾人证号": None, "残疾类别": np.array(DIS_TYPES, dtype=object)[cat - 1], "残疾等级": grade_cn}
    ex = Extract("disability", "残联_持证残疾人.csv", "csv", "gb18030", list(cols), cols, person, "残疾人证号", "姓名",
                 meta={"grade": grade_cn, "suffix": suffix})
    order = rng.permutation(person.size)
    ex.reorder(order)
    ex.trailing_blank = 1
    return ex, ex.meta["suffix"]


def no_labor(c: County) -> np.ndarray:
    """Households whose every roster member has no labour capacity (true attributes)."""
    roster = np.flatnonzero(c.people.kind == KIND_ROSTER)
    hh = c.people.hh[roster]
    able = ~np.isin(c.roster.labor[roster], NO_LABOR)
    n_able = np.bincount(hh, weights=able, minlength=c.households.hid.size)
    n_mem = np.bincount(hh, minlength=c.households.hid.size)
    return (n_mem > 0) & (n_able == 0)


__all__ = ["World", "police", "civil_affairs", "medical_enrollment", "medical_claims", "education", "housing",
           "disability", "no_labor"]
