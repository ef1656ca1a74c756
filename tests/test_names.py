"""Chinese personal names: normalized form, comparison key and pinyin (fanpin_cli.names)."""

from __future__ import annotations

import polars as pl
import pytest

from fanpin_cli import names
from fanpin_cli.names import MIDDLE_DOT, name_keys, normalize_name, with_name_columns


def keys(values: list[str | None]) -> pl.DataFrame:
    frame = pl.DataFrame({"name": values}, schema={"name": pl.String})
    return with_name_columns(frame)


def one(value: str | None) -> dict:
    return keys([value]).row(0, named=True)


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        pytest.param("王 芳", "王芳", id="ascii-space-inside"),
        pytest.param("王\u3000芳", "王芳", id="ideographic-space-inside"),
        pytest.param("王  小明", "王小明", id="double-space-inside"),
        pytest.param(" 李娜\u00a0", "李娜", id="nbsp-and-trim"),
        pytest.param("王\u200b芳", "王芳", id="zero-width-inside"),
        pytest.param("欧阳 娜娜", "欧阳娜娜", id="compound-surname-spaced-stays-without-dot"),
        pytest.param("ＬＩ小明", "LI小明", id="full-width-latin"),
        pytest.param("li小明", "LI小明", id="lower-latin-upper-cased"),
        pytest.param("張偉", "张伟", id="traditional-zhang-wei"),
        pytest.param("劉麗華", "刘丽华", id="traditional-liu-li-hua"),
        pytest.param("陳 國強", "陈国强", id="traditional-with-space"),
        pytest.param("王芳", "王芳", id="already-normal"),
    ],
)
def test_name_norm(raw: str, norm: str) -> None:
    assert one(raw)["name_norm"] == norm


MINORITY = "阿依古丽" + MIDDLE_DOT + "买买提"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("阿依古丽·买买提", id="U+00B7"),
        pytest.param("阿依古丽•买买提", id="bullet-U+2022"),
        pytest.param("阿依古丽・买买提", id="katakana-dot-U+30FB"),
        pytest.param("阿依古丽．买买提", id="full-width-period"),
        pytest.param("阿依古丽.买买提", id="ascii-period"),
        pytest.param("阿依古丽‧买买提", id="hyphenation-point-U+2027"),
        pytest.param("阿依古丽 买买提", id="space-separated"),
        pytest.param("阿依古丽\u3000买买提", id="ideographic-space-separated"),
        pytest.param("阿依古麗·買買提", id="traditional-with-dot"),
    ],
)
def test_middle_dot_variants(raw: str) -> None:
    row = one(raw)
    assert row["name_norm"] == MINORITY
    assert row["name_key"] == "阿依古丽买买提"
    assert row["name_pinyin"] == "ayigulimaimaiti"


def test_middle_dot_at_the_ends_is_dropped() -> None:
    assert one("·买买提·")["name_norm"] == "买买提"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param("王小明", "王晓明", id="xiao"),
        pytest.param("李丽", "李莉", id="li"),
        pytest.param("王芳", "汪芳", id="wang"),
        pytest.param("李娜", "李纳", id="na"),
    ],
)
def test_homophones_share_pinyin_but_not_key(a: str, b: str) -> None:
    out = keys([a, b])
    assert out["name_pinyin"][0] == out["name_pinyin"][1]
    assert out["name_key"][0] != out["name_key"][1]


def test_traditional_and_simplified_share_the_key() -> None:
    out = keys(["張偉", "张伟", "劉麗華", "刘丽华"])
    assert out["name_key"].to_list() == ["张伟", "张伟", "刘丽华", "刘丽华"]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param("王芳", "王方芳", id="extra-char"),
        pytest.param("王芳", "玉芳", id="similar-shape"),
        pytest.param("张伟", "张卫国", id="different"),
        pytest.param("阿依古丽·买买提", "阿依古丽", id="truncated-minority-name"),
    ],
)
def test_different_names_differ_in_key(a: str, b: str) -> None:
    out = keys([a, b])
    assert out["name_key"][0] != out["name_key"][1]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param("王芳", "王方芳", id="extra-char"),
        pytest.param("王芳", "玉芳", id="similar-shape"),
        pytest.param("张伟", "张卫国", id="different"),
        pytest.param("刘丽华", "刘力", id="shorter"),
    ],
)
def test_different_sounding_names_differ_in_pinyin(a: str, b: str) -> None:
    out = keys([a, b])
    assert out["name_pinyin"][0] != out["name_pinyin"][1]


def test_pinyin_is_toneless_lowercase_ascii() -> None:
    out = keys(["吕娟", "ＬＩ小明", "绿绿"])
    assert out["name_pinyin"].to_list() == ["lvjuan", "lixiaoming", "lvlv"]


@pytest.mark.parametrize("raw", [None, "", "   ", "\u3000", "·", "\u200b"])
def test_null_and_empty_give_null(raw: str | None) -> None:
    row = one(raw)
    assert row["name_norm"] is None
    assert row["name_key"] is None
    assert row["name_pinyin"] is None


def test_row_order_and_count_preserved_after_distinct_join() -> None:
    # many duplicates and nulls interleaved: the per-distinct-value join must keep row order
    names = ["張三", "李四", None, "张三", "王五", "李四", "", "張三", "王 五", None] * 50
    frame = pl.DataFrame({"name": names, "row": list(range(len(names)))})
    out = with_name_columns(frame)
    assert out.height == len(names)
    assert out["row"].to_list() == list(range(len(names)))
    assert out["name"].to_list() == names
    expected = {"張三": "张三", "张三": "张三", "李四": "李四", "王五": "王五", "王 五": "王五",
                "": None, None: None}
    assert out["name_norm"].to_list() == [expected[n] for n in names]


def test_same_name_same_surname_rows_stay_distinct() -> None:
    # 同名同姓: three different people called 张伟 in one village keep three rows
    frame = pl.DataFrame(
        {
            "name": ["张伟", "張偉", "张 伟", "李娜"],
            "id_number": ["433127199001011238", "433127198506150021", "433127201003120013", None],
            "household_id": ["4331270101001", "4331270101002", "4331270102005", "4331270101001"],
        }
    )
    out = with_name_columns(frame)
    assert out.height == 4
    assert out["name_key"].to_list() == ["张伟", "张伟", "张伟", "李娜"]
    assert out["id_number"].to_list() == frame["id_number"].to_list()
    assert out["household_id"].to_list() == frame["household_id"].to_list()
    assert out.filter(pl.col("name_key") == "张伟")["id_number"].n_unique() == 3


def test_prefix_and_other_raw_column() -> None:
    frame = pl.DataFrame({"户主姓名": ["劉麗華", "王 芳"]})
    out = with_name_columns(frame, "户主姓名", prefix="r_")
    assert out.columns == ["户主姓名", "r_name_norm", "r_name_key", "r_name_pinyin"]
    assert out["r_name_norm"].to_list() == ["刘丽华", "王芳"]


def test_non_string_column_is_cast() -> None:
    out = with_name_columns(pl.DataFrame({"name": [None, None]}, schema={"name": pl.Null}))
    assert out["name_norm"].to_list() == [None, None]


def test_pinyin_without_phrase_dictionary_reads_every_character_alike() -> None:
    """names.py loads pypinyin without its phrase dictionary (faster start); one character at
    a time, every Han character it may be asked for reads as pypinyin with phrases reads it."""
    import json
    import subprocess
    import sys

    probe = (
        "import json, sys\n"
        "chars = [chr(c) for c in [*range(0x3400, 0xA000), *range(0xF900, 0xFB00)]]\n"
        "if sys.argv[1] == 'fanpin':\n"
        "    from fanpin_cli.names import pinyin_map\n"
        "    out = pinyin_map(chars)\n"
        "    assert sys.modules['pypinyin.constants'].PHRASES_DICT == {}\n"
        "else:\n"
        "    from pypinyin import Style, lazy_pinyin\n"
        "    out = {}\n"
        "    for c in chars:\n"
        "        s = lazy_pinyin(c, style=Style.NORMAL, errors='default')\n"
        "        out[c] = s[0].lower() if s else c\n"
        "print(json.dumps(out))\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "PYPINYIN_NO_PHRASES"}
    ours, full = (
        json.loads(subprocess.run([sys.executable, "-c", probe, who], capture_output=True, text=True, check=True,
                                  env=env).stdout)
        for who in ("fanpin", "pypinyin")
    )
    assert len(ours) == 28160
    assert ours == full
    assert ours["张"] == "zhang" and ours["乐"] == full["乐"]


def test_han_only_names_are_their_own_normal_form() -> None:
    """name_keys normalizes only the names that are not Han characters alone (`_HAN_ONLY`):
    `normalize_name` gives every character of those ranges back as it is, alone and in pairs."""
    chars = [chr(c) for c in [*range(0x3400, 0x4DC0), *range(0x4E00, 0xA000)]]
    texts = pl.Series("v", [*chars, *(a + b for a, b in zip(chars, chars[1:], strict=False))])
    assert texts.str.contains(names._HAN_ONLY).all()
    out = texts.to_frame().select(normalize_name(pl.col("v"))).to_series()
    assert out.to_list() == texts.to_list()


@pytest.mark.parametrize(
    "values",
    [
        pytest.param(["王芳", "張偉", "王 芳", "阿依古丽•买买提", "ＬＩ小明", "li小明", "欧阳 娜娜", None, "", "  ",
                      "\uf900\u4e00", "㐀王", "王\u200b芳", "·李娜·", "劉麗華", "刘丽华", "Anna"], id="mixed"),
        pytest.param(["王芳", "張偉", "李娜"], id="han-only"),
        pytest.param(["王 芳", None, "ＬＩ"], id="none-han-only"),
        pytest.param([], id="empty"),
    ],
)
def test_name_keys_equal_normalizing_every_name(values: list[str | None], monkeypatch: pytest.MonkeyPatch) -> None:
    series = pl.Series("name", values, dtype=pl.String)
    fast = name_keys(series).sort("raw", nulls_last=True)
    monkeypatch.setattr(names, "_HAN_ONLY", r"[^\s\S]")  # matches nothing: every name normalized
    plain = name_keys(series).sort("raw", nulls_last=True)
    assert fast.equals(plain)


def test_pypinyin_is_loaded_without_touching_the_process_environment() -> None:
    # Other threads read the environment from native code (polars, DuckDB: C getenv) while a run
    # loads pypinyin (`prepare.warm_up`); a putenv meanwhile crashed polars' reader. Loaded
    # without its phrases all the same, and a later import of them gets the real table.
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import os, sys
        from fanpin_cli import names
        changes = []  # from here on (importing polars sets its allocator's variable, before any thread)
        os.putenv = lambda *a: changes.append(("putenv", a))
        os.unsetenv = lambda *a: changes.append(("unsetenv", a))
        names.warm_up()
        import pypinyin.constants
        empty = pypinyin.constants.PHRASES_DICT == {}
        import pypinyin.phrases_dict
        print(changes, "PYPINYIN_NO_PHRASES" in os.environ, empty, len(pypinyin.phrases_dict.phrases_dict) > 1000)
        """)
    env = {k: v for k, v in __import__("os").environ.items() if k != "PYPINYIN_NO_PHRASES"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.split() == ["[]", "False", "True", "True"]
