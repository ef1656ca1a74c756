"""Sector keys, canonical field names and the heading aliases that map onto them.

Every loaded file is renamed to these canonical (English) field names; the original headings
stay available for messages through `LoadedFile.headings`.

>>> canonical_field("civil_affairs", "身份证号码")
'id_number'
>>> canonical_field("roster", "乡（镇）")
'township'
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

SECTORS: tuple[str, ...] = (
    "roster",
    "civil_affairs",
    "medical_enrollment",
    "medical_claims",
    "education",
    "housing",
    "police",
    "disability",
)

SECTOR_TITLES: dict[str, str] = {
    "roster": "监测对象信息（防返贫系统）",
    "civil_affairs": "民政救助",
    "medical_enrollment": "医保参保登记",
    "medical_claims": "医保结算明细",
    "education": "教育学籍资助",
    "housing": "住房安全鉴定",
    "police": "公安户籍注销",
    "disability": "残联持证残疾人",
}

# Names clerks use for a sector (config `sector = "…"`, `fanpin validate --sector …`).
SECTOR_NAMES: dict[str, tuple[str, ...]] = {
    "roster": ("花名册", "监测对象", "监测对象信息", "防返贫", "防返贫系统", "乡村振兴", "脱贫人口", "名单"),
    "civil_affairs": ("民政", "民政救助", "低保", "社会救助", "救助"),
    "medical_enrollment": ("医保参保", "医保参保登记", "参保", "参保登记"),  # not 医保: 参保 or 结算?
    "medical_claims": ("医保结算", "医保结算明细", "结算", "医疗费用", "就医结算"),
    "education": ("教育", "学籍", "教育学籍", "学籍资助", "教育资助"),
    "housing": ("住建", "住房", "危房", "住房安全", "房屋鉴定"),
    "police": ("公安", "户籍", "户籍注销", "公安注销"),
    "disability": ("残联", "残疾人", "持证残疾人", "残疾"),
}


def sector_key(name: object) -> str | None:
    """The sector key for a key or a Chinese name (`民政`, `医保参保`, `花名册`), or None.

    >>> sector_key("医保结算"), sector_key(" 民政 "), sector_key("police"), sector_key("税务")
    ('medical_claims', 'civil_affairs', 'police', None)
    """
    text = heading_key(name)
    for sector in SECTORS:
        if text == sector or text in {heading_key(n) for n in (SECTOR_TITLES[sector], *SECTOR_NAMES[sector])}:
            return sector
    return None


def sector_choices(*, roster: bool = True) -> str:
    """`roster（花名册）、civil_affairs（民政）…` for messages and help."""
    return "、".join(f"{s}（{SECTOR_NAMES[s][0]}）" for s in SECTORS if roster or s != "roster")


def field_choices(sector: str) -> str:
    """`name 姓名（本人姓名）、…` : the field names `columns` may use for `sector`."""
    return "、".join(
        f"{f} {FIELD_TITLES.get(f, f)}" for f in sector_fields(sector)
    )


# Aliases shared by every sector (identity and place). Each is compared after `heading_key`
# (NFKC, no spaces, ASCII brackets, no 必填/选填/* markers), so spacing and bracket width never
# need their own entry; `match_heading` also tries derived forms (see `heading_forms`).
_COMMON: dict[str, tuple[str, ...]] = {
    "id_number": (
        "证件号码", "身份证号", "身份证号码", "公民身份号码", "公民身份证号码", "身份证件号", "身份证件号码",
        "居民身份证号码", "居民身份证号", "证件号", "身份证", "身份号码", "学生身份证号", "成员身份证号",
        "成员证件号码", "人员身份证号", "参保人身份证号", "有效证件号码", "证件号码(身份证号)",
    ),
    "name": (
        "姓名", "学生姓名", "成员姓名", "人员姓名", "参保人姓名", "救助对象姓名", "对象姓名", "患者姓名",
        "残疾人姓名", "持证人姓名", "就诊人姓名", "参保人", "名字",
    ),
    "county": ("县", "县(市、区、旗)", "区县", "县(市、区)", "县区", "县(区)", "县(市)", "县市区", "所属县"),
    "township": (
        "乡镇", "乡(镇)", "镇(乡)", "乡", "镇", "乡镇(街道)", "乡镇街道", "所属乡镇", "乡(镇、街道)",
        "街道(乡镇)", "乡镇(场)", "乡镇名称", "街道",
    ),
    "village": (
        "村", "行政村", "村(社区)", "村社区", "所属村", "村(居)", "村居", "社区(村)", "行政村(社区)",
        "村委会", "村名", "村名称", "社区",
    ),
    "group": ("组", "村民小组", "组别", "小组", "村组", "组名"),
    "sex": ("性别",),
    "birth_date": ("出生日期", "出生年月", "出生年月日", "生日"),
}

# Headings that name *another* person's identity (the household head's): used for the member's
# field only when the file has no column of its own for it (`match_heading` tier "fallback"),
# otherwise mapped to the auxiliary fields below, never to the member's.
_FALLBACK: dict[str, tuple[str, ...]] = {
    "id_number": ("户主身份证号", "户主身份证号码", "户主证件号码", "户主公民身份号码", "残疾人证号", "残疾证号"),
    "name": ("户主姓名",),
}
AUXILIARY: dict[str, tuple[str, ...]] = {
    "head_id_number": ("户主身份证号", "户主身份证号码", "户主证件号码", "户主公民身份号码"),
    "head_name": ("户主姓名",),
}
# Prefixes that name someone else: `X姓名` / `X身份证号` never becomes the row's own field.
_OTHER_PERSON = (
    "户主", "配偶", "监护人", "联系人", "父亲", "母亲", "父母", "法定代表人", "法人", "代理人", "经办人",
    "填报人", "填表人", "审核人", "收款人", "开户人", "账户", "银行", "紧急", "申请人", "帮扶人", "帮扶责任人",
    "驻村", "干部", "原", "旧",
)
# Leading words that add nothing to a heading (`当前家庭人口数`, `所属乡镇`).
_NEUTRAL_PREFIXES = ("当前", "目前", "现", "现在", "最新", "所属", "所在", "本户", "家庭成员", "成员", "本人")

_SECTOR_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "roster": {
        "household_id": ("户编号", "户号", "家庭编号", "户码", "家庭户编号"),
        "relation": ("与户主关系", "与户主的关系", "家庭关系", "关系"),
        "household_size": (
            "家庭人数", "家庭人口数", "家庭人口", "人数", "家庭成员数", "户人口数", "户人数", "人口数",
            "家庭人口数(人)", "在册人数",
        ),
        "household_type": ("户类型", "户类别", "户属性", "农户类型", "脱贫户属性", "农户属性"),
        "object_type": ("监测对象类别", "对象类别", "监测对象类型", "监测类型", "监测类别", "监测户类型"),
        "risk_eliminated": (
            "风险是否已消除", "风险是否消除", "是否风险消除", "风险消除", "是否消除风险", "是否已消除风险",
            "风险消除情况", "是否风险已消除",
        ),
        "labor_skill": ("劳动技能", "劳动能力", "劳动力状况", "劳动力类型", "劳动力"),
        "health": ("健康状况", "健康状态", "身体状况", "身体健康状况"),
        "school_status": ("在校生状况", "在校生情况", "在校情况", "在校生状态", "就学状况", "在校状况"),
        "school_absence_reason": ("义务教育阶段未上学原因", "失学或辍学原因", "未上学原因", "失学辍学原因"),
        "insured": (
            "是否参加城乡居民基本医疗保险", "是否参加基本医疗保险", "是否参保", "是否参加城乡居民医保",
            "参加城乡居民基本医疗保险", "是否参加医保", "是否参加城乡居民基本医保",
        ),
        "employee_insured": (
            "是否参加城镇职工基本医疗保险", "是否参加职工基本医疗保险", "是否参加职工医保", "是否参加城镇职工医保",
        ),
        "income_per_capita": (
            "人均纯收入(元)", "人均纯收入", "家庭人均纯收入", "年人均纯收入", "家庭年人均纯收入", "人均收入",
        ),
    },
    "civil_affairs": {
        "aid_type": ("救助类型", "保障类型", "救助类别", "保障类别", "救助项目"),
        "aid_status": ("保障状态", "救助状态", "状态", "享受状态"),
        "aid_date": ("纳入时间", "救助时间", "发放时间", "审批时间", "纳入日期", "救助日期", "审批日期"),
        "monthly_amount": ("月保障金额", "保障金额", "救助金额", "月救助金额", "发放金额"),
    },
    "medical_enrollment": {
        "insurance_type": ("险种类型", "险种", "参保险种", "险种名称"),
        "enroll_status": ("参保状态", "缴费状态", "参保缴费状态"),
        "enroll_year": ("参保年度", "年度", "缴费年度"),
    },
    "medical_claims": {
        "settle_date": ("结算日期", "结算时间", "出院日期", "费用结算日期"),
        "total_cost": ("医疗总费用", "总费用", "费用总额", "医疗费用总额"),
        "fund_paid": ("统筹支付", "基金支付", "统筹基金支付", "基本医疗保险统筹基金支出"),
        "out_of_pocket": ("个人自付", "个人负担", "个人自付金额", "个人负担金额", "自付金额"),
        "diagnosis": ("疾病诊断", "诊断", "病种", "诊断名称", "疾病名称"),
    },
    "education": {
        "school": ("学校名称", "就读学校", "学校"),
        "grade": ("年级",),
        "roll_status": ("学籍状态", "在校状态"),
        "aid_program": ("资助项目", "资助类型", "受助项目", "资助项目名称"),
    },
    "housing": {
        "safety_grade": ("鉴定等级", "危房等级", "房屋等级", "安全等级", "房屋安全等级"),
        "assess_date": ("鉴定时间", "鉴定日期"),
        "renovation": ("改造情况", "改造状态", "是否改造"),
    },
    "police": {
        "dereg_reason": ("注销原因", "注销类别", "注销类型"),
        "dereg_date": ("注销日期", "注销时间"),
    },
    "disability": {
        "disability_type": ("残疾类别", "残疾类型"),
        "disability_grade": ("残疾等级",),
    },
}

# Fields without which a file of that sector cannot be used at all (missing column → exit 1).
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "roster": ("household_id", "name", "id_number"),
    "civil_affairs": ("name", "id_number", "aid_type"),
    "medical_enrollment": ("name", "id_number", "enroll_status"),
    "medical_claims": ("name", "id_number", "settle_date", "out_of_pocket"),
    "education": ("name", "id_number", "roll_status"),
    "housing": ("name", "id_number", "safety_grade"),
    "police": ("name", "id_number", "dereg_reason"),
    "disability": ("name", "id_number"),
}

# Roster fields that describe the household, not the member: some exports fill them on the
# household head's row only, so household-level rules read them per household.
HOUSEHOLD_FIELDS: tuple[str, ...] = (
    "household_size", "household_type", "object_type", "risk_eliminated", "income_per_capita",
)

# Chinese display name of each canonical field (for messages and report headings).
FIELD_TITLES: dict[str, str] = {
    "id_number": "证件号码", "name": "姓名", "county": "县", "township": "乡镇",
    "village": "村", "group": "组", "sex": "性别", "birth_date": "出生日期",
    "household_id": "户编号", "relation": "与户主关系", "household_size": "家庭人数",
    "object_type": "监测对象类别", "risk_eliminated": "风险是否已消除", "labor_skill": "劳动技能",
    "health": "健康状况", "school_status": "在校生状况",
    "school_absence_reason": "义务教育阶段未上学原因", "insured": "是否参加城乡居民基本医疗保险",
    "employee_insured": "是否参加城镇职工基本医疗保险",
    "income_per_capita": "人均纯收入（元）", "aid_type": "救助类型", "aid_status": "保障状态",
    "aid_date": "纳入时间", "monthly_amount": "月保障金额", "insurance_type": "险种类型",
    "enroll_status": "参保状态", "enroll_year": "参保年度", "settle_date": "结算日期",
    "total_cost": "医疗总费用", "fund_paid": "统筹支付", "out_of_pocket": "个人自付",
    "diagnosis": "疾病诊断", "school": "学校名称", "grade": "年级", "roll_status": "学籍状态",
    "aid_program": "资助项目", "safety_grade": "鉴定等级", "assess_date": "鉴定时间",
    "renovation": "改造情况", "dereg_reason": "注销原因", "dereg_date": "注销日期",
    "disability_type": "残疾类别", "disability_grade": "残疾等级", "household_type": "户类型",
    "head_id_number": "户主身份证号", "head_name": "户主姓名",
}

# What each field holds, for `fanpin validate --columns`, config errors and the README.
FIELD_DESCRIPTIONS: dict[str, str] = {
    "id_number": "本人证件号码（身份证号；残联可为20位残疾人证号）",
    "name": "本人姓名",
    "county": "县（市、区、旗）",
    "township": "乡（镇、街道）",
    "village": "行政村（社区）",
    "group": "村民小组",
    "sex": "性别（男/女，或代码1/2）",
    "birth_date": "出生日期",
    "household_id": "户编号（花名册）",
    "relation": "与户主关系",
    "household_size": "家庭人数",
    "household_type": "户类型（脱贫户/一般农户），不是监测对象类别",
    "object_type": "监测对象类别（脱贫不稳定户/边缘易致贫户/突发严重困难户）",
    "risk_eliminated": "风险是否已消除（是/否）",
    "labor_skill": "劳动技能（劳动能力）",
    "health": "健康状况",
    "school_status": "在校生状况",
    "school_absence_reason": "义务教育阶段未上学原因（失学或辍学原因）",
    "insured": "是否参加城乡居民基本医疗保险（是/否）",
    "employee_insured": "是否参加城镇职工基本医疗保险（是/否）",
    "income_per_capita": "人均纯收入（元）",
    "aid_type": "救助类型（农村低保/城市低保/特困供养/临时救助）",
    "aid_status": "保障状态（在保/停保/已发放）",
    "aid_date": "纳入时间",
    "monthly_amount": "月保障金额",
    "insurance_type": "险种类型",
    "enroll_status": "参保状态",
    "enroll_year": "参保年度",
    "settle_date": "结算日期",
    "total_cost": "医疗总费用",
    "fund_paid": "统筹支付",
    "out_of_pocket": "个人自付",
    "diagnosis": "疾病诊断",
    "school": "学校名称",
    "grade": "年级",
    "roll_status": "学籍状态",
    "aid_program": "资助项目",
    "safety_grade": "鉴定等级（A/B/C/D级）",
    "assess_date": "鉴定时间",
    "renovation": "改造情况",
    "dereg_reason": "注销原因",
    "dereg_date": "注销日期",
    "disability_type": "残疾类别",
    "disability_grade": "残疾等级",
    "head_id_number": "户主身份证号（另有本人证件号码列时）",
    "head_name": "户主姓名（另有本人姓名列时）",
}

_INVISIBLE = re.compile(r"[\s\u00a0\u3000\u200b\u200c\u200d\u2060\ufeff]+")
_BRACKETS = str.maketrans({"【": "(", "】": ")", "[": "(", "]": ")", "〔": "(", "〕": ")", "{": "(", "}": ")",
                           "<": "(", ">": ")", "《": "(", "》": ")", "〈": "(", "〉": ")"})
# `（必填）`, `(选填)`, `*`, `※`, a trailing colon: marks for the person filling the form.
_MARKERS = re.compile(
    r"\((?:必填|选填|必选|可选|非必填|必录|选录|必填项|选填项|可不填|必须填写|填写说明[^)]*|注[:：][^)]*)\)"
    r"|[*※★☆#:：]|^\d{1,2}[.、](?=\D)"
)
_PAGE = re.compile(r"页面\(([^()]+)\)$")
_TRAILING_GROUP = re.compile(r"^(.+?)\(([^()]*)\)$")


def heading_key(heading: object) -> str:
    r"""Fold a heading: NFKC, no whitespace or line breaks, ASCII brackets, no `*`/`（必填）` marks.

    >>> heading_key(" 乡（镇）* ")
    '乡(镇)'
    >>> heading_key("证件号码（必填）")
    '证件号码'
    >>> heading_key("劳动能力\n页面（劳动技能）")
    '劳动能力页面(劳动技能)'
    """
    text = unicodedata.normalize("NFKC", "" if heading is None else str(heading)).translate(_BRACKETS)
    text = _INVISIBLE.sub("", text)
    return _MARKERS.sub("", text)


def heading_forms(key: str) -> list[str]:
    """Other readings of a folded heading, most literal first: without a `页面(…)` note and
    the page's own name inside it, without a trailing bracket (unit or remark) or the bracket's
    content alone, without a neutral leading word (`当前`, `所属`), `名称`, `的` or `已`.

    >>> heading_forms("劳动能力页面(劳动技能)")
    ['劳动能力', '劳动技能']
    >>> heading_forms("当前家庭人口数")
    ['家庭人口数']
    >>> heading_forms("人数(人)")
    ['人数', '人']
    """
    forms: list[str] = []

    def add(text: str) -> None:
        if text and text != key and text not in forms:
            forms.append(text)

    page = _PAGE.search(key)
    if page:
        add(key[: page.start()])
        add(page.group(1))
    group = None if page else _TRAILING_GROUP.match(key)
    if group:
        add(group.group(1))
        add(group.group(2))
    for text in [key, *forms]:
        for prefix in _NEUTRAL_PREFIXES:
            if text.startswith(prefix) and len(text) > len(prefix) + 1:
                add(text[len(prefix):])
        if text.endswith("名称") and len(text) > 2:
            add(text[:-2])
        add(text.replace("的", "").replace("已", ""))
    return forms


def aliases(sector: str) -> dict[str, tuple[str, ...]]:
    """All canonical fields of `sector` with their accepted headings (auxiliary fields too)."""
    if sector not in SECTORS:
        raise KeyError(sector)
    merged = dict(_COMMON)
    merged.update(_SECTOR_ALIASES[sector])
    merged.update(AUXILIARY)
    return merged


def sector_fields(sector: str) -> tuple[str, ...]:
    """The canonical field names a file of `sector` may have (for config `columns`).

    >>> "enroll_status" in sector_fields("medical_enrollment")
    True
    """
    return tuple(aliases(sector))


def alias_lookup(sector: str) -> dict[str, str]:
    """Folded heading → canonical field for the exact aliases of one sector (no fallbacks)."""
    out: dict[str, str] = {}
    for field, names in aliases(sector).items():
        if field in AUXILIARY:
            continue
        for name in (field, FIELD_TITLES.get(field, field), *names):
            out.setdefault(heading_key(name), field)
    return out


# Tiers of a heading → field match, best first.
TIER_OVERRIDE, TIER_EXACT, TIER_FORM, TIER_FALLBACK, TIER_SUFFIX = range(5)
TIER_NAMES = ("配置指定", "列名一致", "列名变体", "户主列（本表无本人列时）", "列名后缀")


@lru_cache(maxsize=1)
def _fallback_lookup() -> dict[str, str]:
    """Read only: shared by every call."""
    return {heading_key(a): f for f, names in _FALLBACK.items() for a in names}


# Short aliases that still make a safe suffix (`死亡人员姓名`); other suffixes need 3+ characters.
_SUFFIX_STEMS = ("姓名",)


# id(lookup) → (lookup, its size, aliases by last character); the lookup is kept so its id
# cannot be reused. Header scans call `_suffix_field` for every cell of the first rows.
_SUFFIX_INDEX: dict[int, tuple[dict[str, str], int, dict[str, list[tuple[str, str]]]]] = {}


def _by_last_char(lookup: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    hit = _SUFFIX_INDEX.get(id(lookup))
    if hit is not None and hit[0] is lookup and hit[1] == len(lookup):
        return hit[2]
    index: dict[str, list[tuple[str, str]]] = {}
    for alias, field in lookup.items():  # dict order kept: the first longest alias wins
        if alias:
            index.setdefault(alias[-1], []).append((alias, field))
    if len(_SUFFIX_INDEX) > 64:
        _SUFFIX_INDEX.clear()
    _SUFFIX_INDEX[id(lookup)] = (lookup, len(lookup), index)
    return index


def _suffix_field(key: str, lookup: dict[str, str]) -> str | None:
    """`X身份证号` / `X姓名` style headings: the longest alias (2+ characters) the key ends
    with, when what comes before it names no other person and is short."""
    best: tuple[int, str] | None = None
    for alias, field in _by_last_char(lookup).get(key[-1:], ()):
        if (len(alias) < 3 and alias not in _SUFFIX_STEMS) or len(alias) >= len(key) or not key.endswith(alias):
            continue
        prefix = key[: -len(alias)]
        if len(prefix) > 6 or any(prefix.startswith(p) or prefix.endswith(p) for p in _OTHER_PERSON):
            continue
        if best is None or len(alias) > best[0]:
            best = (len(alias), field)
    return best[1] if best else None


def match_heading(sector: str, heading: object, lookup: dict[str, str] | None = None) -> tuple[str, int] | None:
    r"""(field, tier) for one heading of a `sector` file, or None; see TIER_NAMES.

    >>> match_heading("roster", "镇（乡）")
    ('township', 1)
    >>> match_heading("roster", "劳动能力\n页面（劳动技能）")
    ('labor_skill', 2)
    >>> match_heading("roster", "户主身份证号")
    ('id_number', 3)
    >>> match_heading("police", "死亡人员身份证号码")
    ('id_number', 4)
    """
    return match_in(lookup if lookup is not None else alias_lookup(sector), heading)


def match_in(lookup: dict[str, str], heading: object) -> tuple[str, int] | None:
    """`match_heading` against a prepared `alias_lookup` (plus any config overrides)."""
    key = heading_key(heading)
    if not key:
        return None
    if key in lookup:
        return lookup[key], TIER_EXACT
    forms = heading_forms(key)
    for form in forms:
        if form in lookup:
            return lookup[form], TIER_FORM
    fallback = _fallback_lookup()
    for form in (key, *forms):
        if form in fallback:
            return fallback[form], TIER_FALLBACK
    for form in (key, *forms):
        field = _suffix_field(form, lookup)
        if field:
            return field, TIER_SUFFIX
    return None


def map_headings(headings: list[str], sector: str, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Heading → canonical field for the headings that map. A field goes to the best-tier
    heading (config `columns`, then exact aliases, then variants, then the household head's
    columns, then suffixes), the leftmost within a tier; headings left over may still become
    auxiliary fields (户主身份证号 → head_id_number).

    >>> map_headings(["户主身份证号", "姓名", "证件号码（必填）", "户类型", "监测对象类别"], "roster")
    {'户主身份证号': 'head_id_number', '姓名': 'name', '证件号码（必填）': 'id_number', '户类型': 'household_type', '监测对象类别': 'object_type'}
    """
    lookup = alias_lookup(sector)
    folded = {heading_key(k): v for k, v in (overrides or {}).items()}
    candidates: list[tuple[int, int, str, str]] = []
    for pos, heading in enumerate(headings):
        if heading_key(heading) in folded:
            candidates.append((TIER_OVERRIDE, pos, heading, folded[heading_key(heading)]))
            continue
        hit = match_heading(sector, heading, lookup)
        if hit:
            candidates.append((hit[1], pos, heading, hit[0]))
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for _tier, _pos, heading, field in sorted(candidates, key=lambda c: (c[0], c[1])):
        if field not in taken and heading not in mapping:
            mapping[heading] = field
            taken.add(field)
    aux = {heading_key(a): f for f, names in AUXILIARY.items() for a in names}
    for heading in headings:
        field = aux.get(heading_key(heading))
        if heading not in mapping and field and field not in taken:
            mapping[heading] = field
            taken.add(field)
    return {h: mapping[h] for h in sorted(mapping, key=headings.index)}


def canonical_field(sector: str, heading: str) -> str | None:
    """The canonical field a heading maps to in `sector` on its own, or None.

    >>> canonical_field("roster", "当前家庭人口数")
    'household_size'
    """
    hit = match_heading(sector, heading)
    return hit[0] if hit else None
