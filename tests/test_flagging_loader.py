"""The rule loader (`flagging/loader.py`) reports every mistake in a rule file, each with its YAML
line, the rule id and what is wrong, in one Chinese error; rule kinds (`flagging/kinds.py`)
declare the keys and placeholders the loader accepts."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from fanpin_cli.errors import RuleFileError
from fanpin_cli.flagging import KINDS, load_rule_file, load_rules, parse_rules_text

ONE = """\
id: YT_OOP
title: 医疗自付费用超过烟台标准
level: yellow
scope: person
kind: amount_sum
sector: medical_claims
parameters:
  oop_line: {default: 20000, type: number}
amount: out_of_pocket
min_total: $oop_line
detail: "累计个人自付 {total} 元（{rows}）"
"""

TWO_RULES = """\
- id: A_RULE
  title: 危房
  level: red
  scope: person
  kind: linked_match
  sector: housing
  where:
    - {field: safety_grade, in: [C级, D级]}
  detail: "{rows}"
- id: B_RULE
  title: 残疾
  level: blue
  scope: person
  kind: linked_match
  sector: disability
  detail: "{rows}"
"""


def _edit(text: str, *changes: tuple[str, str]) -> str:
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


# text → [(YAML line, rule id, words in the message)] in the order listed
CASES = {
    "three mistakes in one rule": (
        _edit(ONE, ("level: yellow", "level: orange"), ("amount: out_of_pocket\n", ""), ("{total}", "{totl}")),
        [(1, "YT_OOP", "kind=amount_sum 缺少必需字段「amount」"), (3, "YT_OOP", "'orange'"),
         (10, "YT_OOP", "占位符 {totl} 未知")],
    ),
    "unknown kind, unknown field, bad placeholder format": (
        _edit(ONE, ("kind: amount_sum", "kind: sum_of"), ("sector: medical_claims", "sector: medical_claims\ncolour: red"),
              ("{rows}", "{rows!r}")),
        [(5, "YT_OOP", "「kind」的值 'sum_of' 无效"), (7, "YT_OOP", "含未知字段 colour"),
         (12, "YT_OOP", "{rows} 不支持格式说明")],
    ),
    "parameter, threshold and window in one rule": (
        _edit(ONE, ("default: 20000", "default: 两万"), ("min_total: $oop_line", "min_total: $oop_line\nwindow: {date: when, days: 7}")),
        [(8, "YT_OOP", "parameters.oop_line.default"), (11, "YT_OOP", "'when'")],
    ),
    "mistakes in two rules and a duplicate id": (
        _edit(TWO_RULES, ("level: red", "level: 红"), ("in: [C级, D级]}", "in: [C级, D级], like: 危}"),
              ("id: B_RULE", "id: A_RULE"), ("sector: disability", "sector: 残联")) + "- 不是规则\n",
        [(3, "A_RULE", "'红'"), (8, "A_RULE", "「where[0]」含未知字段 like"), (10, "A_RULE", "id 重复（本文件第1行已有同一 id）"),
         (15, "A_RULE", "「sector」的值 '残联' 无效"), (17, "（缺少 id）", "规则应为映射")],
    ),
}


@pytest.mark.parametrize(("text", "expected"), CASES.values(), ids=CASES.keys())
def test_every_mistake_in_a_file_is_listed(tmp_path: Path, text: str, expected: list[tuple[int, str, str]]) -> None:
    path = tmp_path / "规则.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleFileError) as err:
        load_rule_file(path)
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"规则.yaml：共 {len(expected)} 处错误：（1）"), message
    items = re.split(r"；（\d+）", message.split("（1）", 1)[1])
    assert len(items) == len(expected), items
    for item, (line, rid, words) in zip(items, expected, strict=True):
        assert item.startswith(f"第{line}行 规则 {rid}："), (item, line, rid)
        assert words in item, (item, words)


def test_one_mistake_names_file_line_and_rule() -> None:
    with pytest.raises(RuleFileError) as err:
        parse_rules_text(_edit(ONE, ("level: yellow", "level: orange")), "yt.yaml")
    assert str(err.value).startswith("yt.yaml 第3行：规则 YT_OOP：「level」的值 'orange' 无效"), str(err.value)
    assert err.value.row == 3 and err.value.file == "yt.yaml"


def test_yaml_syntax_error_gives_its_line(tmp_path: Path) -> None:
    path = tmp_path / "坏.yaml"
    path.write_text(ONE.replace("detail: ", "detail: [", 1), encoding="utf-8")
    with pytest.raises(RuleFileError) as err:
        load_rules(tmp_path)
    assert str(err.value).startswith("坏.yaml 第") and "YAML 格式错误" in str(err.value)


def test_mistakes_in_several_files_are_listed_together(tmp_path: Path) -> None:
    """A folder with two broken files and an id defined twice: one error lists all three."""
    (tmp_path / "a.yaml").write_text(_edit(ONE, ("level: yellow", "level: orange")), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(_edit(ONE, ("id: YT_OOP", "id: YT_B"), ("kind: amount_sum", "kind: sum_of")),
                                     encoding="utf-8")
    (tmp_path / "c.yaml").write_text(ONE, encoding="utf-8")
    (tmp_path / "d.yaml").write_text(ONE, encoding="utf-8")
    with pytest.raises(RuleFileError) as err:
        load_rules(tmp_path)
    message = str(err.value)
    assert "3 个规则文件有错误" in message and "\n" not in message, message
    assert "a.yaml 第3行" in message and "'orange'" in message
    assert "b.yaml" in message and "'sum_of'" in message
    assert "d.yaml：规则 YT_OOP：id 重复（另见 c.yaml）" in message


def test_a_good_file_still_loads() -> None:
    rules = parse_rules_text(TWO_RULES + "\n" + textwrap.indent(ONE, "  ").replace("  id:", "- id:", 1), "ok.yaml")
    assert [r.id for r in rules] == ["A_RULE", "B_RULE", "YT_OOP"]


@pytest.mark.parametrize("kind", KINDS.values(), ids=KINDS.keys())
def test_each_kind_declares_its_keys_and_placeholders(kind) -> None:
    """A rule of each kind with only its required keys loads and may use every placeholder the
    kind declares; a placeholder no kind fills is refused, naming it."""
    values = {
        "sector": "sector: civil_affairs",
        "amount": "amount: monthly_amount",
        "min_total": "min_total: 100",
        "min_members": "min_members: 2",
        "roster_where": "roster_where: [{field: labor_skill, in: [丧失劳动力]}]",
        "none_linked": "none_linked: civil_affairs",
    }
    body = "\n".join(values[k] for k in kind.required)
    detail = "".join(f"{{{p}}}" for p in kind.placeholders)
    text = f"id: K1\ntitle: t\nlevel: blue\nscope: {kind.scopes[0]}\nkind: {kind.name}\n{body}\ndetail: \"{detail}\"\n"
    (rule,) = parse_rules_text(text, "k.yaml")
    assert rule.kind == kind.name
    with pytest.raises(RuleFileError, match=r"占位符 \{nowhere\} 未知"):
        parse_rules_text(text.replace('detail: "', 'detail: "{nowhere}'), "k.yaml")
    missing = kind.required[0]
    with pytest.raises(RuleFileError, match=f"kind={kind.name} 缺少必需字段「{missing}」"):
        parse_rules_text(text.replace(values[missing] + "\n", ""), "k.yaml")
