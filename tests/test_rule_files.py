"""Rule files: the bundled set, bad files (error names file and rule id), new rules from YAML only."""

from __future__ import annotations

import re
import textwrap
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from fanpin_cli.errors import RuleFileError
from fanpin_cli.flagging import KINDS, LEVELS, evaluate, load_rules
from fanpin_cli.idnum import CHECK_CHARS, WEIGHTS
from fanpin_cli.prepare import prepare
from fanpin_cli.resources import resource_dir

R = date(2026, 11, 30)
CONTRACT = {
    "MED_UNINSURED": "red", "MED_HIGH_OOP": "red", "EDU_DROPOUT": "red", "EDU_AID_MISSING": "yellow",
    "HOUSE_UNSAFE": "red", "CIV_NO_SAFETY_NET": "red", "CIV_TEMP_AID": "yellow", "CIV_CANDIDATE": "blue",
    "POL_DEREGISTERED": "yellow", "DIS_MULTI": "yellow", "DIS_SEVERE": "blue", "INC_BELOW_LINE": "red",
}

GOOD = """\
id: {rid}
title: 医疗自付费用超过烟台标准
level: yellow
scope: person
kind: amount_sum
sector: medical_claims
source: 烟台市标准
parameters:
  oop_line: {{default: 20000, type: number, title: 自付线（元）, source: 烟台}}
  days: {{default: 365, type: integer}}
amount: out_of_pocket
window: {{date: settle_date, days: $days}}
min_total: $oop_line
detail: "累计个人自付 {{total}} 元 ≥ {{oop_line}} 元（{{rows}}）"
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_bundled_rules_match_contract():
    rules = {r.id: r for r in load_rules()}
    assert {k: r.level for k, r in rules.items()} == CONTRACT
    assert all(r.title and r.source for r in rules.values())
    params = {name: p.default for r in rules.values() for name, p in r.parameters.items()}
    assert params["income_line"] == 6000 and params["oop_line"] == 9342
    assert (params["school_age_min"], params["school_age_max"]) == (6, 16)
    assert (params["oop_window_days"], params["temp_aid_window_days"]) == (365, 183)
    assert resource_dir("rules").is_dir()


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (("level: yellow", "level: orange"), "orange"),  # unknown level
        (("level: yellow", "level: yellow\ncolour: red"), "colour"),  # unknown top-level field
        (("min_total: $oop_line", "min_total: 高"), "min_total"),  # wrong type
        (("min_total: $oop_line", "min_total: $nope"), "$nope"),  # undefined parameter
        (("default: 20000", "default: 两万"), "parameters.oop_line.default"),  # wrong type
        (("type: integer", "type: integer, unit: 天"), "unit"),  # unknown parameter field
        (("amount: out_of_pocket", "amount: self_pay"), "self_pay"),  # unknown canonical field
        (("kind: amount_sum", "kind: magic"), "magic"),  # unknown kind
        (("scope: person", "scope: row"), "scope"),  # scope the kind does not allow
        (("{{total}}", "{{totl}}"), "totl"),  # unknown detail placeholder
        (("days: $days}", "days: 365.5}"), "window.days"),  # integer required
    ],
)
def test_bad_rule_file_names_file_and_rule(tmp_path, change, needle):
    old, new = change
    text = GOOD.format(rid="MED_HIGH_OOP_YT")
    old = old.replace("{{", "{").replace("}}", "}")
    new = new.replace("{{", "{").replace("}}", "}")
    assert old in text
    write(tmp_path, "yt.yaml", text.replace(old, new, 1))
    with pytest.raises(RuleFileError) as err:
        load_rules(tmp_path)
    message = str(err.value)
    assert re.match(r"yt\.yaml 第\d+行：规则 MED_HIGH_OOP_YT：", message), message
    assert needle in message


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("id: X1\ntitle: t\nlevel: red\nscope: person\nkind: linked_match\nsector: housing\ndetail: d\n"
         "where:\n  - {field: safety_grade, in: [C级], like: D}\n", "like"),
        ("id: X1\ntitle: t\nlevel: red\nscope: person\nkind: linked_match\nsector: housing\ndetail: d\n"
         "where:\n  - {field: safety_grade}\n", "where[0]"),
        ("id: X1\ntitle: t\nlevel: red\nscope: person\nkind: linked_match\nsector: housing\ndetail: d\n"
         "where:\n  - {field: safety_grade, empty: 是}\n", "empty"),
        ("id: X1\ntitle: t\nlevel: 红\nscope: person\nkind: linked_match\nsector: housing\ndetail: d\n", "红"),
        ("id: X1\ntitle: t\nlevel: red\nscope: person\nkind: linked_match\ndetail: d\n", "sector"),
        ("id: X1\ntitle: t\nlevel: red\nscope: person\nkind: linked_match\nsector: tax\ndetail: d\n", "tax"),
        ("id: X1\ntitle: t\nlevel: red\nscope: person\nkind: linked_match\nsector: housing\ndetail: d\nenabled: 1\n", "enabled"),
        ("id: X1\ntitle: [t]\nlevel: red\nscope: person\nkind: linked_match\nsector: housing\ndetail: d\n", "title"),
    ],
)
def test_bad_conditions(tmp_path, text, needle):
    write(tmp_path, "x.yaml", text)
    with pytest.raises(RuleFileError) as err:
        load_rules(tmp_path)
    assert re.match(r"x\.yaml 第\d+行：规则 X1：", str(err.value)) and needle in str(err.value)


def test_yaml_syntax_error_and_duplicates(tmp_path):
    write(tmp_path, "a.yaml", "id: [unclosed\n")
    with pytest.raises(RuleFileError, match="a.yaml"):
        load_rules(tmp_path)
    (tmp_path / "a.yaml").unlink()
    write(tmp_path, "a.yaml", GOOD.format(rid="DUP"))
    write(tmp_path, "b.yaml", GOOD.format(rid="DUP"))
    with pytest.raises(RuleFileError, match=r"b.yaml：规则 DUP：id 重复（另见 a.yaml）"):
        load_rules(tmp_path)


def test_missing_id_is_named(tmp_path):
    write(tmp_path, "noid.yaml", "title: t\nlevel: red\n")
    with pytest.raises(RuleFileError, match=r"noid.yaml：共 4 处错误：（1）第1行 规则 （缺少 id）：缺少必需字段「id」"):
        load_rules(tmp_path)


def _pid(birth: str, seq: int) -> str:
    first17 = f"433127{birth}{seq:03d}"
    return first17 + CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def test_new_rule_needs_only_yaml(tmp_path):
    """Yantai's threshold as a new rule: a YAML file in a folder, nothing else."""
    write(tmp_path, "MED_HIGH_OOP_YT.yaml", GOOD.format(rid="MED_HIGH_OOP_YT"))
    rules = load_rules(tmp_path)
    assert [r.id for r in rules] == ["MED_HIGH_OOP_YT"]
    ids = [_pid("19600101", 1), _pid("19700101", 2)]
    roster = prepare(
        pl.DataFrame(
            {"household_id": ["H1", "H2"], "name": ["甲", "乙"], "id_number": ids, "township": ["镇", "镇"],
             "village": ["村", "村"], "source_row": [2, 3]},
        ),
        R,
    )
    claims = prepare(
        pl.DataFrame(
            {"source_file": ["结算.csv"] * 3, "source_row": [5, 6, 7], "name": ["甲", "甲", "乙"],
             "id_number": [ids[0], ids[0], ids[1]], "settle_date": ["2026-01-05", "2026-02-05", "2026-03-01"],
             "out_of_pocket": ["12000", "8000", "12480.50"], "roster_row": [2, 2, 3], "household_id": ["H1", "H1", "H2"],
             "match_status": ["linked"] * 3}
        ),
        R,
    )
    flags = evaluate(rules, roster, {"medical_claims": claims}, reference_date=R)
    assert flags.select("rule_id", "level", "roster_row").rows() == [("MED_HIGH_OOP_YT", "yellow", 2)]
    assert flags["detail"][0].startswith("累计个人自付 20,000.00 元 ≥ 20,000 元（结算.csv 第5行")
    # …and the config can still move its threshold.
    assert evaluate(rules, roster, {"medical_claims": claims}, reference_date=R, overrides={"oop_line": 12000}).height == 2


def test_every_kind_is_used_or_documented():
    used = {r.kind for r in load_rules()}
    assert used <= set(KINDS) and len(LEVELS) == 3


def test_rules_parsed_once_are_read_again_when_a_file_changes(tmp_path, monkeypatch):
    """`load_rules` parses a folder's files once per process (a run reads them three times):
    a file edited in between, even to a text of the same length written within the same
    clock tick, is read as it is now; the list handed out is the caller's own."""
    import fanpin_cli.flagging.loader as loader

    parsed = []
    parse = loader._rules_of_bytes
    monkeypatch.setattr(loader, "_rules_of_bytes", lambda data, name: parsed.append(name) or parse(data, name))
    write(tmp_path, "a.yaml", GOOD.format(rid="YT_A"))
    first = load_rules(tmp_path)
    first.clear()  # the caller's list: the next call is not affected
    assert [r.id for r in load_rules(tmp_path)] == ["YT_A"]
    assert parsed == ["a.yaml"]  # parsed once
    write(tmp_path, "a.yaml", GOOD.format(rid="YT_B"))  # same length, new text
    assert [r.id for r in load_rules(tmp_path)] == ["YT_B"]
    write(tmp_path, "b.yaml", GOOD.format(rid="YT_C"))  # a file added
    assert [r.id for r in load_rules(tmp_path)] == ["YT_B", "YT_C"]
    (tmp_path / "b.yaml").unlink()
    assert [r.id for r in load_rules(tmp_path)] == ["YT_B"]


@pytest.mark.parametrize("read", ["one file", "the folder"])
def test_a_rule_file_saved_in_gbk_is_named_in_a_chinese_error(tmp_path, read):
    """A rule file an office editor saved in GBK is not UTF-8: the error names the file,
    whether it is read alone or with its folder (whose other files are still checked)."""
    from fanpin_cli.flagging.loader import load_rule_file

    write(tmp_path, "a.yaml", GOOD.format(rid="YT_A"))
    bad = tmp_path / "b.yaml"
    bad.write_bytes(GOOD.format(rid="YT_B").encode("gbk"))
    with pytest.raises(RuleFileError, match=r"b.yaml：无法读取规则文件：不是 UTF-8 编码（第 \d+ 字节起），请另存为 UTF-8$"):
        load_rule_file(bad) if read == "one file" else load_rules(tmp_path)
