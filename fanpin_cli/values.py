"""The values clerks write: code vocabularies (one place for every code list), and the dates
and amounts they write, as polars expressions.

`normalize_codes(frame)` rewrites the code fields a file has into their canonical words before
any check or rule reads them: 性别 `1`/`2` (GB/T 2261.1) → 男/女, 是/否 written `1`/`0`, `Y`/`N`,
`√`/`×`, 户类型 variants → 脱贫户/一般农户/监测户, and so on. A value it cannot read is kept as
written, so that VALUE_NOT_ALLOWED reports it.

>>> import polars as pl
>>> s = pl.Series(["2012-03-05", "2012/3/5", "20120305", "2012年3月5日", "2012-03-05 00:00:00", "40973", "x"])
>>> pl.DataFrame({"d": s}).select(parse_date(pl.col("d"))).to_series().to_list()[-2:]
[datetime.date(2012, 3, 5), None]
"""

from __future__ import annotations

import re
from datetime import date

import polars as pl

_EXCEL_EPOCH = date(1899, 12, 30)

# Fields holding amounts and dates (the schemas check them; quality/extra.py reads them).
AMOUNT_FIELDS: tuple[str, ...] = (
    "income_per_capita", "monthly_amount", "total_cost", "fund_paid", "out_of_pocket",
)
DATE_FIELDS: tuple[str, ...] = ("birth_date", "aid_date", "settle_date", "assess_date", "dereg_date")

YES, NO = "是", "否"
YES_NO: tuple[str, ...] = (YES, NO)

# Allowed values of code-list fields (national system dictionaries and the sector extracts of
# DOMAIN.md): the schemas' `isin` checks and the VALUE_NOT_ALLOWED message use these.
DOMAINS: dict[str, tuple[str, ...]] = {
    "sex": ("男", "女"),
    "relation": (
        "户主", "配偶", "之子", "之女", "之儿媳", "之女婿", "之孙子", "之孙女", "之外孙子",
        "之外孙女", "之曾孙子", "之曾孙女", "之父", "之母", "之岳父", "之岳母", "之公公", "之婆婆",
        "之祖父", "之祖母", "之外祖父", "之外祖母", "之兄弟姐妹", "之兄", "之弟", "之姐", "之妹",
        "其他",
        # GB/T 4761 codes that name no sex (孙辈, 父母, 祖父母)
        "之孙子女", "之父母", "之祖父母",
    ),
    "household_type": ("脱贫户", "一般农户", "监测户"),
    "object_type": ("脱贫户", "脱贫不稳定户", "边缘易致贫户", "突发严重困难户"),
    "risk_eliminated": YES_NO,
    "insured": YES_NO,
    "employee_insured": YES_NO,
    "labor_skill": ("普通劳动力", "技能劳动力", "弱劳动力或半劳动力", "丧失劳动力", "无劳动力"),
    "health": ("健康", "长期慢性病", "患有大病", "残疾"),
    "aid_type": ("农村低保", "城市低保", "特困供养", "临时救助"),
    "aid_status": ("在保", "停保", "已发放"),
    "insurance_type": ("城乡居民基本医疗保险", "职工基本医疗保险"),
    "enroll_status": ("参保缴费", "正常参保", "正常", "已参保", "暂停参保", "终止参保"),
    "roll_status": ("在读", "休学", "辍学", "转学", "毕业"),
    "safety_grade": ("A级", "B级", "C级", "D级"),
    "renovation": ("已改造", "改造中", "未改造"),
    "dereg_reason": ("死亡", "服刑", "迁出", "服役"),
    "disability_type": (
        "视力残疾", "听力残疾", "言语残疾", "肢体残疾", "智力残疾", "精神残疾", "多重残疾",
    ),
    "disability_grade": ("一级", "二级", "三级", "四级"),
}

_YES_NO_CODES: dict[str, str | None] = {
    "是": YES, "否": NO, "1": YES, "0": NO, "Y": YES, "N": NO, "YES": YES, "NO": NO, "T": YES, "F": NO,
    "TRUE": YES, "FALSE": NO, "√": YES, "✓": YES, "✔": YES, "×": NO, "✗": NO, "✘": NO, "对": YES,
    "有": YES, "无": NO,
}
# GB/T 4761-2008 家庭关系代码, two-digit codes → the national system's words (relations it has
# no word for, e.g. 嫂 or 伯父, → 其他).
_REL_SPECIFIC = {
    "01": "户主", "02": "户主", "10": "配偶", "11": "配偶", "12": "配偶", "28": "之女婿", "38": "之儿媳",
    "40": "之孙子女", "41": "之孙子", "42": "之孙女", "43": "之外孙子", "44": "之外孙女", "47": "之曾孙子",
    "48": "之曾孙女", "49": "之孙子女", "50": "之父母", "51": "之父", "52": "之母", "53": "之公公",
    "54": "之婆婆", "55": "之岳父", "56": "之岳母", "57": "之父", "58": "之母", "59": "之父母",
    "60": "之祖父母", "61": "之祖父", "62": "之祖母", "63": "之外祖父", "64": "之外祖母", "65": "之祖父母",
    "70": "之兄弟姐妹", "71": "之兄", "73": "之弟", "75": "之姐", "77": "之妹", "79": "之兄弟姐妹",
}
RELATION_TWO_DIGIT: dict[str, str] = (
    {f"{c}": "其他" for c in range(10, 100)}
    | {f"2{d}": "之子" for d in range(10)} | {f"3{d}": "之女" for d in range(10)}
    | _REL_SPECIFIC
)
# GB/T 4761-2008 one-digit codes (0 本人或户主, 1 配偶, 2 子, 3 女, 4 孙辈, 5 父母, 6 祖父母,
# 7 兄弟姐妹, 8 其他) as the two-digit code of the same group.
RELATION_ONE_DIGIT: dict[str, str] = {str(d): ("02" if d == 0 else f"{d}0") for d in range(9)}

# Written form (after `code_key`) → canonical word; None = a valid code meaning "not known".
CODES: dict[str, dict[str, str | None]] = {
    # GB/T 2261.1-2003: 0 未知的性别, 1 男性, 2 女性, 9 未说明的性别.
    "sex": {
        "男": "男", "女": "女", "1": "男", "2": "女", "男性": "男", "女性": "女", "M": "男", "F": "女",
        "MALE": "男", "FEMALE": "女", "0": None, "9": None, "未知": None, "未知的性别": None,
        "未说明": None, "未说明的性别": None,
    },
    "risk_eliminated": _YES_NO_CODES | {
        "已消除": YES, "未消除": NO, "风险已消除": YES, "风险未消除": NO, "已消除风险": YES, "未消除风险": NO,
    },
    "insured": _YES_NO_CODES | {"已参保": YES, "未参保": NO, "参保": YES, "参加": YES, "未参加": NO},
    "employee_insured": _YES_NO_CODES | {"已参保": YES, "未参保": NO, "参保": YES, "参加": YES, "未参加": NO},
    # 劳动技能 as older exports and clerks write it (the national rule set itself has 普通劳动,
    # 技能劳动能力, 无劳动能力 beside the dictionary words).
    "labor_skill": {
        "普通劳动力": "普通劳动力", "普通劳动": "普通劳动力", "普通劳动能力": "普通劳动力",
        "技能劳动力": "技能劳动力", "技能劳动": "技能劳动力", "技能劳动能力": "技能劳动力",
        "弱劳动力或半劳动力": "弱劳动力或半劳动力", "弱劳动力": "弱劳动力或半劳动力", "半劳动力": "弱劳动力或半劳动力",
        "弱劳动力或半劳力": "弱劳动力或半劳动力", "弱/半劳动力": "弱劳动力或半劳动力", "弱半劳动力": "弱劳动力或半劳动力",
        "丧失劳动力": "丧失劳动力", "丧失劳动能力": "丧失劳动力", "无劳动力": "无劳动力", "无劳动能力": "无劳动力",
    },
    "household_type": {
        "脱贫户": "脱贫户", "已脱贫户": "脱贫户", "建档立卡脱贫户": "脱贫户", "脱贫户(已脱贫)": "脱贫户",
        "一般农户": "一般农户", "一般户": "一般农户", "普通农户": "一般农户", "非贫困户": "一般农户",
        "农户": "一般农户", "监测户": "监测户", "监测对象": "监测户", "监测对象户": "监测户",
    },
    "object_type": {
        "脱贫户": "脱贫户", "脱贫不稳定户": "脱贫不稳定户", "边缘易致贫户": "边缘易致贫户",
        "突发严重困难户": "突发严重困难户", "边缘户": "边缘易致贫户", "不稳定户": "脱贫不稳定户",
        "严重困难户": "突发严重困难户", "一般农户": "一般农户",
    },
    # 民政: the names of 社会救助暂行办法 and of older lists beside the short ones the rules use.
    "aid_type": {
        "农村低保": "农村低保", "农村最低生活保障": "农村低保", "农村居民最低生活保障": "农村低保",
        "城市低保": "城市低保", "城镇低保": "城市低保", "城市最低生活保障": "城市低保", "城镇最低生活保障": "城市低保",
        "城市居民最低生活保障": "城市低保", "城镇居民最低生活保障": "城市低保",
        "特困供养": "特困供养", "特困人员救助供养": "特困供养", "特困人员供养": "特困供养", "特困供养人员": "特困供养",
        "农村特困供养": "特困供养", "城市特困供养": "特困供养", "农村特困人员救助供养": "特困供养",
        "城市特困人员救助供养": "特困供养", "五保": "特困供养", "农村五保": "特困供养", "农村五保供养": "特困供养",
        "临时救助": "临时救助", "临时性救助": "临时救助",
    },
    "aid_status": {
        "在保": "在保", "正常": "在保", "正常保障": "在保", "保障中": "在保", "享受中": "在保", "在册": "在保",
        "停保": "停保", "已停保": "停保", "暂停": "停保", "停发": "停保", "终止": "停保", "已终止": "停保",
        "退出": "停保", "已退出": "停保",
        "已发放": "已发放", "发放": "已发放", "已救助": "已发放",
    },
    "safety_grade": {g: f"{g[0]}级" for g in ("A", "B", "C", "D", "A级", "B级", "C级", "D级",
                                             "A级危房", "B级危房", "C级危房", "D级危房")},
    "relation": {
        "本人": "户主", "户主本人": "户主", "本人(户主)": "户主", "户主(本人)": "户主",
        "妻": "配偶", "妻子": "配偶", "夫": "配偶", "丈夫": "配偶", "爱人": "配偶",
        "子": "之子", "儿子": "之子", "长子": "之子", "次子": "之子", "女": "之女", "女儿": "之女",
        "长女": "之女", "次女": "之女", "儿媳": "之儿媳", "女婿": "之女婿", "孙子": "之孙子",
        "孙女": "之孙女", "父亲": "之父", "母亲": "之母",
    } | RELATION_TWO_DIGIT,
}


def code_key(expr: pl.Expr) -> pl.Expr:
    """The form a written code is looked up by: NFKC, no spaces, upper-case latin.

    >>> pl.DataFrame({"v": [" ｙ ", "√", "1"]}).select(code_key(pl.col("v"))).to_series().to_list()
    ['Y', '√', '1']
    """
    return (
        expr.cast(pl.String)
        .str.normalize("NFKC")
        .str.replace_all(r"[\s\u00a0\u3000\u200b\u200c\u200d\u2060\ufeff]", "")
        .str.to_uppercase()
    )


def normalize_codes(frame: pl.DataFrame) -> pl.DataFrame:
    """Rewrite every code field of `frame` that `CODES` knows into its canonical word.

    >>> f = pl.DataFrame({"sex": ["1", "2", "女", "9", "x"], "insured": ["√", "N", "是", None, "Y"]})
    >>> normalize_codes(f).rows()
    [('男', '是'), ('女', '否'), ('女', '是'), (None, None), ('x', '是')]
    """
    columns = []
    for field, codes in CODES.items():
        if field not in frame.columns:
            continue
        text = pl.col(field).cast(pl.String)
        key = code_key(text)
        if field == "relation":
            key = _relation_code(key)  # (reads the whole column: the same on its distinct values)
        mapped = key.replace_strict(codes, default=None, return_dtype=pl.String)
        # once per distinct written value (a code column holds a handful), then looked up
        rewrite = pl.when(key.is_in(list(codes))).then(mapped).otherwise(text)
        columns.append(per_value(frame, field, rewrite, pl.String).alias(field))
    return frame.with_columns(columns) if columns else frame


def _relation_code(key: pl.Expr) -> pl.Expr:
    """A one-digit 与户主关系 as the two-digit code it stands for. A spreadsheet drops the
    leading zero of `01`/`02` (本人/户主): in a column that also holds two-digit codes a single
    digit is such a code (`2` → `02`), else it is GB/T 4761's one-digit code (`2` → 子 → `20`).

    >>> f = pl.DataFrame({"relation": ["2", "10", "30"]})
    >>> normalize_codes(f)["relation"].to_list()
    ['户主', '配偶', '之女']
    >>> normalize_codes(pl.DataFrame({"relation": ["0", "1", "2", "3"]}))["relation"].to_list()
    ['户主', '配偶', '之子', '之女']
    """
    single = key.str.contains(r"^[0-9]$").fill_null(False)
    two_digit_column = key.str.contains(r"^[0-9]{2}$").fill_null(False).any()
    return (
        pl.when(single & two_digit_column).then(pl.lit("0") + key)
        .when(single).then(key.replace_strict(RELATION_ONE_DIGIT, default=None, return_dtype=pl.String))
        .otherwise(key)
    )


def parse_date(raw: pl.Expr) -> pl.Expr:
    """A date from `2012-03-05`, `2012/3/5`, `2012.3.5`, `20120305`, `2012年3月5日`,
    `2012-03-05 00:00:00`, `20120305083000` or an Excel serial number (`40973`, `40973.35`);
    null if none fits.

    >>> pl.DataFrame({"d": ["20120305083000", "40973.35", "2012.3", "20121305"]}).select(
    ...     parse_date(pl.col("d"))).to_series().to_list()
    [datetime.date(2012, 3, 5), datetime.date(2012, 3, 5), None, None]
    """
    return text_date(date_text(raw))


def per_value(frame: pl.DataFrame, name: str, expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """`expr` (over column `name` of `frame`) worked out once per distinct value and mapped
    back; a typed null if the frame has no such column. For costly per-row work on columns
    that repeat their values (codes, dates).

    >>> f = pl.DataFrame({"c": ["a", "b", "a", None]})
    >>> f.select(per_value(f, "c", pl.col("c").str.to_uppercase(), pl.String)).to_series().to_list()
    ['A', 'B', 'A', None]
    """
    if name not in frame.columns:
        return pl.lit(None, dtype=dtype)
    values = frame.select(pl.col(name).drop_nulls().unique()).to_series()
    mapped = values.to_frame().select(expr.cast(dtype)).to_series()
    return pl.col(name).replace_strict(values, mapped, default=None, return_dtype=dtype)


def dates_of(texts: pl.Series) -> pl.Series:
    """`parse_date` of each text, each distinct date text parsed once (`per_value`): rows
    repeat their days (a settlement's time of day is dropped first), and the parse is most of
    the cost.

    >>> dates_of(pl.Series(["2026-01-05 08:00", "2026-01-05 09:30", "20250105", None])).to_list()
    [datetime.date(2026, 1, 5), datetime.date(2026, 1, 5), datetime.date(2025, 1, 5), None]
    """
    text = texts.to_frame("t").select(date_text(pl.col("t")))
    return text.select(per_value(text, "t", text_date(pl.col("t")), pl.Date)).to_series().alias(texts.name)


def parsed_date_name(field: str) -> str:
    """The column `prepare` keeps the dates of date field `field` in (`birth` for 出生日期):
    parsed once, read by the schema's DATE_INVALID, DATE_IN_FUTURE and the rules' windows.

    >>> parsed_date_name("settle_date"), parsed_date_name("birth_date")
    ('settle_date_parsed', 'birth')
    """
    return "birth" if field == "birth_date" else f"{field}_parsed"


def date_values(frame: pl.DataFrame, field: str) -> pl.Series:
    """The dates of `frame`'s column `field`: the column `prepare` parsed them into when the
    frame has it, else parsed now (`dates_of`); nulls where no date could be read.

    >>> f = pl.DataFrame({"settle_date": ["2026-01-05 08:00", "x"]})
    >>> date_values(f, "settle_date").to_list()
    [datetime.date(2026, 1, 5), None]
    """
    parsed = parsed_date_name(field)
    if parsed in frame.columns:
        return frame.get_column(parsed).alias(field)
    if field not in frame.columns:
        return pl.Series(field, [None] * frame.height, dtype=pl.Date)
    return dates_of(frame.get_column(field).cast(pl.String))


def date_text(raw: pl.Expr) -> pl.Expr:
    """The text `parse_date` reads a date from: NFKC, stripped, the time of day removed (many
    rows share one: `text_date` of each distinct text is the whole parse) — also from a compact
    timestamp (`20241201155907`, `202412011559`) and from an Excel serial date-time (`45627.666`:
    a cell whose date format the reader did not know, such as Chinese Excel's yyyy年m月d日,
    comes as its serial number).

    >>> pl.DataFrame({"d": ["2024-12-01 15:59:07", "20241201155907", "45627.666053241", "2012.3"]}).select(
    ...     date_text(pl.col("d"))).to_series().to_list()
    ['2024-12-01', '20241201', '45627', '2012.3']
    """
    return (
        raw.cast(pl.String)
        .str.normalize("NFKC")
        .str.strip_chars()
        .str.replace(r"[ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?$", "")
        .str.replace(r"^([0-9]{8})(?:[0-9]{4}|[0-9]{6})$", "$1")
        .str.replace(r"^([1-7][0-9]{4})\.[0-9]+$", "$1")  # a serial of 1927–2119 and its time of day
    )


def text_date(text: pl.Expr) -> pl.Expr:
    """The date of a `date_text` (see `parse_date`)."""
    ymd = text.str.extract_groups(r"^([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?$")
    y = ymd.struct.field("1").cast(pl.Int32, strict=False)
    m = ymd.struct.field("2").cast(pl.Int32, strict=False)
    d = ymd.struct.field("3").cast(pl.Int32, strict=False)
    valid_sep = (m >= 1) & (m <= 12) & (d >= 1) & (d <= 31)
    # Through a strict-free string parse, so that 2012-02-30 becomes null instead of an error.
    iso = pl.when(valid_sep).then(
        pl.format("{}-{}-{}", y, m.cast(pl.String).str.zfill(2), d.cast(pl.String).str.zfill(2))
    )
    compact = pl.when(text.str.contains(r"^[0-9]{8}$")).then(text.str.to_date("%Y%m%d", strict=False))
    serial = text.cast(pl.Int64, strict=False)
    from_serial = pl.when((serial > 1000) & (serial < 80000)).then(
        pl.lit(_EXCEL_EPOCH) + pl.duration(days=serial)
    )
    return pl.coalesce(iso.str.to_date("%Y-%m-%d", strict=False), compact, from_serial.cast(pl.Date))


def parse_amount(raw: pl.Expr) -> pl.Expr:
    """A number of 元 from `12,480.50`, `12480.5元`, ` ¥12480 `, `１２３`, `1.2万` / `1.2万元`
    (×10,000); null if none.

    >>> pl.DataFrame({"a": ["12,480.50", "12480.5元", "¥9342", "无", "1.2万元", "0.65万"]}).select(
    ...     parse_amount(pl.col("a"))).to_series().to_list()
    [12480.5, 12480.5, 9342.0, None, 12000.0, 6500.0]
    """
    text = (
        raw.cast(pl.String)
        .str.normalize("NFKC")
        .str.replace_all(r"[,\s元¥￥]", "")
    )
    wan = text.str.ends_with("万")
    number = pl.when(wan).then(text.str.strip_suffix("万")).otherwise(text).cast(pl.Float64, strict=False)
    return pl.when(wan).then((number * 10_000).round(2)).otherwise(number)


_HEADING_UNIT = re.compile(r"(?:[（(]\s*(万|千|百)?元\s*[)）]|(万|千|百)元)\s*$")
_UNIT_FACTOR = {"万": 10_000, "千": 1_000, "百": 100}


def heading_unit(heading: str) -> tuple[str, int] | None:
    """The unit an amount column's heading names, when it is not 元: (unit, factor to 元).

    >>> heading_unit("人均纯收入（万元）"), heading_unit("医疗总费用(千元)"), heading_unit("年收入万元")
    (('万元', 10000), ('千元', 1000), ('万元', 10000))
    >>> heading_unit("人均纯收入（元）"), heading_unit("个人自付"), heading_unit("万元户编号") is None
    (None, None, True)
    """
    m = _HEADING_UNIT.search(heading.strip())
    prefix = m and (m.group(1) or m.group(2))
    return (f"{prefix}元", _UNIT_FACTOR[prefix]) if prefix else None


def amounts_in_yuan(column: str, factor: int) -> pl.Expr:
    """`column`'s amounts (text) as 元 (text), multiplied by `factor`; a value that is no amount
    stays as written (AMOUNT_INVALID says it).

    >>> pl.DataFrame({"a": ["0.62", "1.25", "无", None, "0.0001"]}).select(amounts_in_yuan("a", 10_000)).to_series().to_list()
    ['6200', '12500', '无', None, '1']
    """
    number = (parse_amount(pl.col(column)) * factor).round(2)
    whole = number == number.round(0)
    text = pl.when(whole).then(number.cast(pl.Int64).cast(pl.String)).otherwise(number.cast(pl.String))
    return pl.when(number.is_not_null()).then(text).otherwise(pl.col(column)).alias(column)



# ---- 健康状况 and 在校生状况 as the national rules read them --------------------------------------
HEALTHY = "健康"
NOT_IN_SCHOOL = "非在校生"
# 在校生状况 → school stage, first match wins (patterns on the `code_key` form).
SCHOOL_STAGES: tuple[tuple[str, str], ...] = (
    (NOT_IN_SCHOOL, r"^(非在校|不在校|未在校|否$|无$)"),
    ("学前", r"^(学龄前|学前|幼儿园)"),
    ("小学", r"^小学"),
    ("初中", r"^(初中|初[一二三]|[七八九]年级)"),
    ("高中", r"^(普通高中|高中|普高|中职|中专|职高|技工学校)"),
    ("高等", r"^(高职|大专|本科|大学)"),
    ("研究生", r"^(硕士|博士|研究生)"),
)


def health_states(raw: pl.Expr) -> pl.Expr:
    """健康状况 as a list of states (`长期慢性病，残疾` → two); empty as null.

    >>> pl.DataFrame({"v": ["长期慢性病，残疾", "健康", None]}).select(health_states(pl.col("v"))).to_series().to_list()
    [['长期慢性病', '残疾'], ['健康'], None]
    """
    return code_key(raw).str.replace_all(r"[,，、;；/]", ",").str.split(",").list.eval(
        pl.element().filter(pl.element() != "")
    )


def school_stage(raw: pl.Expr) -> pl.Expr:
    """The stage a 在校生状况 names: 非在校生, 学前, 小学, 初中, 高中, 高等, 研究生; null if empty
    or not recognised.

    >>> pl.DataFrame({"v": ["七年级", "普通高中一年级", "高职高专二年级", "硕士生及以上", "非在校生", None]}).select(
    ...     school_stage(pl.col("v"))).to_series().to_list()
    ['初中', '高中', '高等', '研究生', '非在校生', None]
    """
    text = code_key(raw)
    out = pl.lit(None, dtype=pl.String)
    for stage, pattern in reversed(SCHOOL_STAGES):
        out = pl.when(text.str.contains(pattern)).then(pl.lit(stage)).otherwise(out)
    return out


def count_value(text: pl.Expr) -> pl.Expr:
    """A head count from `5`, `5人`, `５`; null if it is not a whole number."""
    return text.str.normalize("NFKC").str.replace(r"人$", "").cast(pl.Int64, strict=False)


def year_value(text: pl.Expr) -> pl.Expr:
    """A year from `2026`, `2026年`, `2026年度`; null if it is not a whole number."""
    return text.str.normalize("NFKC").str.replace(r"年度?$", "").cast(pl.Int64, strict=False)
