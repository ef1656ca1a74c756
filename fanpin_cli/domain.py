"""The vocabulary of the domain, defined once: household head, a person's sex, place key, and
the sector words the rules turn on (active enrollment, deregistration reasons, 在读).

Quality checks, flagging, linking, stock-take and the report all use these; no other module
restates them (tests/test_domain.py holds them to it).

- **Household head** (`is_head`, `head_rank`, `household_heads`): a member whose 与户主关系 reads
  户主 (as written or in a variant `values.CODES["relation"]` maps to 户主: 本人, 户主本人…). A
  household is shown by its head: the first 户主 by roster row; a household without one is shown
  by its first member (HH_NO_HEAD reports it).
- **Sex** (`person_sex`): the ID's 17th digit (the registration, GB 11643) when the ID has one,
  else the 性别 column (`written_sex`: 男/女, 男性, 1/2 …). SEX_ID_CONFLICT reports when the two
  disagree.
- **Place key** (`place_key`): a 乡镇 or 村 name compared without spaces and administrative suffix
  (某某村民委员会, 某某村委会, 某某村 → 某某).
- **Sector words** (`active_enrollment`, `deregistration_reasons`, `in_school`): the bundled
  rules' `where` lists (rules/MED_UNINSURED.yaml, POL_DEREGISTERED.yaml, EDU_DROPOUT.yaml) are
  the definition; `qualifying(rule_id, frame)` filters rows by them.

>>> import polars as pl
>>> f = pl.DataFrame({"v": ["某某村民委员会", "某某村", " 某某 村委会", "城关居民委员会", "城关镇"]})
>>> f.select(place_key(pl.col("v"))).to_series().to_list()
['某某', '某某', '某某', '城关', '城关']
"""

from __future__ import annotations

from functools import cache

import polars as pl

from fanpin_cli.values import CODES, code_key, per_value

# Data-quality dimensions (GB/T 36344-2018) and the severities of a quality issue.
DIMENSIONS: tuple[str, ...] = ("规范性", "完整性", "准确性", "一致性", "时效性")
SEVERITIES: tuple[str, ...] = ("error", "warning", "info")
HEAD = "户主"
# Written forms of 与户主关系 that name the head (canonical word first).
HEAD_RELATIONS: tuple[str, ...] = (HEAD, *sorted(k for k, v in CODES["relation"].items() if v == HEAD))
MALE, FEMALE = "男", "女"
DECEASED = "死亡"
_PLACE_SUFFIX = r"(村民委员会|居民委员会|村委会|居委会|社区|街道办事处|街道|村|镇|乡)$"


def _col(frame: pl.DataFrame, name: str, dtype: pl.DataType = pl.String) -> pl.Expr:
    return pl.col(name) if name in frame.columns else pl.lit(None, dtype=dtype)


def relation_word(relation: pl.Expr) -> pl.Expr:
    """与户主关系 in its canonical word (`本人` → 户主, `儿子` → 之子); other values in their
    `values.code_key` form.

    >>> pl.DataFrame({"r": [" 本人", "户主", "之子", "儿子", None]}).select(relation_word(pl.col("r"))).to_series().to_list()
    ['户主', '户主', '之子', '之子', None]
    """
    key = code_key(relation)
    known = CODES["relation"]
    return pl.when(key.is_in(list(known))).then(key.replace_strict(known, default=None, return_dtype=pl.String)).otherwise(key)


def is_head(relation: pl.Expr) -> pl.Expr:
    """True for a household head (see module docstring); false for others and empty cells.

    >>> pl.DataFrame({"r": ["户主", "本人(户主)", "配偶", None]}).select(is_head(pl.col("r"))).to_series().to_list()
    [True, True, False, False]
    """
    return (relation_word(relation) == HEAD).fill_null(False)


def head_of(frame: pl.DataFrame) -> pl.Expr:
    """`is_head` of `frame`'s 与户主关系 column, worked out once per distinct value (a roster's
    column holds a dozen words; the per-row text work of `is_head` costs ~60 ms per 180,000 rows
    each time a check asks); false where the frame has no such column.

    >>> f = pl.DataFrame({"relation": ["户主", "本人(户主)", "配偶", None, "户主"]})
    >>> f.select(head_of(f)).to_series().to_list()
    [True, True, False, False, True]
    """
    return per_value(frame, "relation", is_head(pl.col("relation")), pl.Boolean).fill_null(False)


def head_rank(relation: pl.Expr) -> pl.Expr:
    """0 for a household head, 1 for other members: sort by (rank, row) and the head comes first."""
    return _rank(is_head(relation))


def head_rank_of(frame: pl.DataFrame) -> pl.Expr:
    """`head_rank` of `frame`'s 与户主关系, worked out once per distinct value (`head_of`).

    >>> f = pl.DataFrame({"relation": ["配偶", "户主", None]})
    >>> f.select(head_rank_of(f)).to_series().to_list()
    [1, 0, 1]
    """
    return _rank(head_of(frame))


def _rank(head: pl.Expr) -> pl.Expr:
    return pl.when(head).then(pl.lit(0, dtype=pl.Int32)).otherwise(pl.lit(1, dtype=pl.Int32))


def household_heads(roster: pl.DataFrame, *, household: str = "household_id", row: str = "source_row") -> pl.DataFrame:
    """One row per household: `household` and the roster row (`row`) of the person it is shown
    by — its first 户主 by row, else its first member. Households are non-empty 户编号.

    >>> r = pl.DataFrame({"household_id": ["1", "1", "2", "2", "3"], "source_row": [2, 3, 4, 5, 6],
    ...                   "relation": ["配偶", "本人", "之子", "之女", "户主"]})
    >>> household_heads(r).rows()
    [('1', 3), ('2', 4), ('3', 6)]
    """
    return (
        roster.select(pl.col(household).cast(pl.String), pl.col(row).cast(pl.Int64), head_rank_of(roster).alias("_rank"))
        .filter(pl.col(household).is_not_null())  # after the select: only three columns are copied
        .sort(["_rank", row])
        .group_by(household, maintain_order=True)
        .agg(pl.col(row).first())
        .sort(row)
    )


def written_sex(sex: pl.Expr) -> pl.Expr:
    """男/女 as a 性别 cell writes it (男, 男性, 1/2 of GB/T 2261.1, M/F, `男 `); null otherwise.

    >>> pl.DataFrame({"s": ["男", "女性", "2", " 男 ", "未知", None]}).select(written_sex(pl.col("s"))).to_series().to_list()
    ['男', '女', '女', '男', None, None]
    """
    key = code_key(sex)
    coded = key.replace_strict(CODES["sex"], default=None, return_dtype=pl.String)
    return pl.coalesce(
        coded,
        pl.when(key.str.starts_with(MALE)).then(pl.lit(MALE)).when(key.str.starts_with(FEMALE)).then(pl.lit(FEMALE)),
    )


def person_sex(frame: pl.DataFrame) -> pl.Expr:
    """A person's sex: the ID's (`id_sex`, 17th digit) when there is one, else the 性别 column.

    >>> f = pl.DataFrame({"id_sex": ["男", None, "女"], "sex": ["女", "女性", None]})
    >>> f.select(person_sex(f)).to_series().to_list()
    ['男', '女', '女']
    """
    # 性别 worked out once per distinct value (a column of a few codes)
    return pl.coalesce(_col(frame, "id_sex"), per_value(frame, "sex", written_sex(pl.col("sex")), pl.String))


def place_key(expr: pl.Expr) -> pl.Expr:
    """A township or village name without spaces and administrative suffix (桃子溪村 → 桃子溪);
    null when nothing is left."""
    text = expr.cast(pl.String).str.normalize("NFKC").str.replace_all(r"\s", "").str.replace(_PLACE_SUFFIX, "")
    return pl.when(text.str.len_chars() > 0).then(text)


# ---- sector words: the bundled rules' definitions ---------------------------------------------
INSURANCE_RULE = "MED_UNINSURED"        # which enrollments are active (police exemption included)
DEREGISTERED_RULE = "POL_DEREGISTERED"  # which police rows are deregistrations
SCHOOL_RULE = "EDU_DROPOUT"             # which education rows are 在读


def qualifying(rule_id: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Rows of `frame` that meet the `where` of the bundled rule `rule_id`."""
    from fanpin_cli.flagging import bundled_rule
    from fanpin_cli.flagging.exprs import all_conditions

    rule = bundled_rule(rule_id)
    return frame.filter(all_conditions(rule.where, rule.defaults(), frame))


@cache
def _rule_values(rule_id: str, field: str) -> tuple[str, ...]:
    from fanpin_cli.flagging import bundled_rule

    return tuple(v for c in bundled_rule(rule_id).where if c.field == field for v in c.values)


def active_enrollment() -> tuple[str, ...]:
    """参保状态 values of an active enrollment.

    >>> active_enrollment()
    ('参保缴费', '正常参保', '正常', '已参保')
    """
    return _rule_values(INSURANCE_RULE, "enroll_status")


def deregistration_reasons() -> tuple[str, ...]:
    """注销原因 values that take a person off the roster.

    >>> deregistration_reasons()
    ('死亡', '服刑', '迁出', '服役')
    """
    return _rule_values(DEREGISTERED_RULE, "dereg_reason")


def in_school() -> tuple[str, ...]:
    """学籍状态 values of a pupil on the roll (在读).

    >>> in_school()
    ('在读',)
    """
    return _rule_values(SCHOOL_RULE, "roll_status")
