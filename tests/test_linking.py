"""Table-driven tests of `fanpin_cli.linking.link`: every tier and every trap.

Frames are built from raw cell text the way clerks' files carry it, then prepared with
`prepare.prepare`, so the linker sees exactly what the pipeline gives it.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from fanpin_cli.linking import LINK_COLUMNS, link
from fanpin_cli.linking.digits import BLOCK_KEYS, key_positions
from fanpin_cli.prepare import prepare

REF = date(2026, 11, 30)
W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def mk(first17: str) -> str:
    """A valid ID from 17 digits."""
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, W, strict=True)) % 11]


def sub(idv: str, pos: int, digit: str) -> str:
    """`idv` with the 0-based position `pos` replaced."""
    return idv[:pos] + digit + idv[pos + 1:]


def swap(idv: str, pos: int) -> str:
    """`idv` with positions pos and pos+1 swapped."""
    return idv[:pos] + idv[pos + 1] + idv[pos] + idv[pos + 2:]


def two_digit_valid_typo(idv: str) -> str:
    """Two wrong digits that keep the check character valid (like a real clerk's bad luck)."""
    for i in range(12, 17):
        for j in range(8, 17):
            for di in "0123456789":
                for dj in "0123456789":
                    if i == j or di == idv[i] or dj == idv[j]:
                        continue
                    cand = sub(sub(idv, i, di), j, dj)
                    if cand[17] == mk(cand[:17])[17] and date_ok(cand):
                        return cand
    raise AssertionError("no valid two-digit typo")


def date_ok(idv: str) -> bool:
    try:
        return date(int(idv[6:10]), int(idv[10:12]), int(idv[12:14])) <= REF
    except ValueError:
        return False


# Roster: two households; 同名同姓 王芳 ×2 (different birth), 李娜 ×2 (same birth, different villages).
A = mk("43312719850712123")  # 张晓明
B = mk("43312719900101456")  # 李芳 (wife)
C = mk("43312720120305021")  # 张伟 (son)
D = mk("43312719780214032")  # 王芳 #1
E = mk("43312719800920044")  # 王芳 #2
F = mk("43312719720611088")  # 李娜 #1, 桃子溪村
G = mk("43312719720611102")  # 李娜 #2, 芙蓉村
H = mk("43312719650101013")  # 阿依古丽·买买提
T = mk("43312719580808071")  # 彭大军: roster ID has a typo (row below)
T_ROSTER = sub(T, 10, str((int(T[10]) + 1) % 10))
K = mk("43312720050505052")  # 田甜 and her brother 田勇 share this ID on the roster
FLOAT = "433127201308181450"  # 符英: Excel shows …181000, a reader prints …180992 (passes check)

ROSTER = [
    # row, household, name, id, village
    (4, "H1", "张晓明", A, "桃子溪村"),
    (5, "H1", "李芳", B, "桃子溪村"),
    (6, "H1", "张伟", C, "桃子溪村"),
    (7, "H2", "王芳", D, "桃子溪村"),
    (8, "H3", "王芳", E, "芙蓉村"),
    (9, "H4", "李娜", F, "桃子溪村"),
    (10, "H5", "李娜", G, "芙蓉村"),
    (11, "H6", "阿依古丽·买买提", H, "芙蓉村"),
    (12, "H7", "彭大军", T_ROSTER, "芙蓉村"),
    (13, "H8", "田甜", K, "芙蓉村"),
    (14, "H8", "田勇", K, "芙蓉村"),
    (15, "H9", "符英", FLOAT, "芙蓉村"),
    (16, "H10", "覃秀兰", None, "芙蓉村"),  # the roster lost her ID
]


@pytest.fixture(scope="module")
def roster() -> pl.DataFrame:
    raw = pl.DataFrame(
        {
            "source_file": ["监测对象信息.xlsx"] * len(ROSTER),
            "source_row": [r[0] for r in ROSTER],
            "household_id": [r[1] for r in ROSTER],
            "name": [r[2] for r in ROSTER],
            "id_number": [r[3] for r in ROSTER],
            "village": [r[4] for r in ROSTER],
            # 性别 as the roster writes it: from the ID where there is one, 女 for 覃秀兰.
            "sex": [("男" if int(r[3][16]) % 2 else "女") if r[3] else "女" for r in ROSTER],
        },
        schema_overrides={"source_row": pl.Int64},
    )
    return prepare(raw, REF)


def run(roster: pl.DataFrame, rows: list[dict[str, str | None]], sector: str = "medical_claims") -> pl.DataFrame:
    cols = ("name", "id_number", "birth_date", "village", "id_number_cell")
    raw = pl.DataFrame(
        {
            "source_file": ["extract.csv"] * len(rows),
            "source_row": list(range(2, len(rows) + 2)),
            **{c: [r.get(c) for r in rows] for c in cols},
        },
        schema_overrides={c: pl.String for c in cols} | {"source_row": pl.Int64},
    )
    return link(roster, prepare(raw, REF), sector=sector)


# name, id, birth_date, village → status, method, roster_row, conflict, words in reason
CASES = [
    ("exact", "张晓明", A, None, None, "linked", "id_exact", 4, False, "证件号码与花名册一致"),
    ("lower x / spaces", "李芳", " " + B.lower()[:6] + " " + B.lower()[6:], None, None, "linked", "id_normalized", 5, False, "格式差异"),
    ("full-width + apostrophe", "张伟", "'" + C.translate(str.maketrans("0123456789", "０１２３４５６７８９")), None, None,
     "linked", "id_normalized", 6, False, ""),
    ("15-digit legacy", "张晓明", A[:6] + A[8:17], None, None, "linked", "id_normalized", 4, False, "15位升18位"),
    ("traditional name", "張曉明", A, None, None, "linked", "id_exact", 4, False, "姓名一致"),
    ("homophone 晓/小", "张小明", A, None, None, "linked", "id_exact", 4, False, "同音"),
    ("shape typo 王/玉", "玉芳", D, None, None, "linked", "id_exact", 7, False, "相差一字"),
    ("ID of someone else", "赵四", A, None, None, "review", "id_exact", 4, True, "姓名不同"),
    ("ID of a household member", "张伟", A, None, None, "review", "id_exact", 4, True, "同户"),
    ("name missing, ID exact", None, B, None, None, "linked", "id_exact", 5, False, "缺少姓名"),
    ("duplicate roster ID, name decides", "田勇", K, None, None, "linked", "id_exact", 14, False, "重复2条"),
    ("duplicate roster ID, no name", None, K, None, None, "review", "id_exact", None, False, "重复2条"),
    ("typo, check fails", "张晓明", sub(A, 11, "9"), None, None, "linked", "id_repaired", 4, False, "第12位"),
    ("typo in sequence", "李芳", sub(B, 15, "0"), None, None, "linked", "id_repaired", 5, False, "第16位"),
    ("transposition", "王芳", swap(D, 12), None, None, "linked", "id_repaired", 7, False, "颠倒"),
    ("typo + homophone name", "张小明", sub(A, 16, "7"), None, None, "linked", "id_repaired", 4, False, "同音"),
    ("typo + one-char name", "玉芳", sub(D, 15, "9"), None, None, "linked", "id_repaired", 7, False, "相差一字"),
    ("check typo + one-char name", "玉芳", D[:17] + ("1" if D[17] != "1" else "2"), None, None, "review",
     "id_repaired", 7, False, "各有一处"),
    ("roster-side typo", "彭大军", T, None, None, "linked", "id_repaired", 12, False, "花名册证件号码"),
    ("excel 000", "王芳", E[:15] + "000", None, None, "linked", "id_repaired", 8, False, "存为数字"),
    ("sci + birth column", "张伟", "4.33127E+17", "2012-03-05", None, "linked", "name_birth", 6, False, "科学计数法"),
    ("sci, no birth", "张伟", "4.33127E+17", None, None, "review", "none", 6, False, "仅姓名"),
    ("valid typo (2 digits, check ok)", "张晓明", two_digit_valid_typo(A), None, None, "review", "id_repaired", 4, False,
     "校验位正确"),
    ("namesake, other valid ID", "王芳", mk("43312719780214990"), None, None, "unlinked", "none", None, False,
     "不同人员"),
    ("name + birth, no ID", "张晓明", None, "1985/7/12", None, "linked", "name_birth", 4, False, "出生日期一致"),
    ("placeholder ID + birth", "李芳", "999999999999999999", "19900101", None, "linked", "name_birth", 5, False, "占位"),
    ("minority name, dot variant", "阿依古丽•买买提", None, "1965-01-01", None, "linked", "name_birth", 11, False, ""),
    ("namesakes same birth", "李娜", None, "1972-06-11", None, "review", "name_birth", None, False, "2人"),
    ("namesakes, village decides", "李娜", None, "1972-06-11", "芙蓉村", "linked", "name_birth", 10, False, "村一致"),
    ("name + birth, other village", "张晓明", None, "1985-07-12", "芙蓉村", "review", "name_birth", 4, False,
     "不一致"),
    ("name only", "张伟", None, None, None, "review", "none", 6, False, "仅姓名"),
    ("same name, different birth", "王芳", None, "1999-01-01", None, "unlinked", "none", None, False, ""),
    ("nothing to compare", None, None, None, None, "unlinked", "none", None, False, "缺少证件号码和姓名"),
    ("stranger", "赵四", mk("43312719990101011"), None, None, "unlinked", "none", None, False, "不在花名册"),
    ("roster ID missing, name matches", "覃秀兰", mk("43312719700303022"), None, None, "review", "none", 16, False,
     "证件号码缺失"),
    ("roster ID shared, own ID arrives", "田甜", mk("43312720080808062"), None, None, "review", "none", 13, False,
     "与他人重复"),
]


@pytest.mark.parametrize(
    "case,name,idv,birth,village,status,method,row,conflict,words", CASES, ids=[c[0] for c in CASES]
)
def test_tiers_and_traps(roster, case, name, idv, birth, village, status, method, row, conflict, words):
    out = run(roster, [{"name": name, "id_number": idv, "birth_date": birth, "village": village}]).row(0, named=True)
    assert out["match_status"] == status, out
    assert out["match_method"] == method, out
    if row is not None:
        assert out["roster_row"] == row, out
    assert out["name_id_conflict"] is conflict, out
    assert words in out["reason"], out
    assert 0 <= out["match_score"] <= 100
    if status == "linked":
        assert out["household_id"] is not None


def test_namesake_never_linked_to_the_wrong_one(roster):
    """同名同姓: each 王芳 row goes to the 王芳 whose ID it carries, faulty or not."""
    rows = [
        {"name": "王芳", "id_number": D},
        {"name": "王芳", "id_number": E},
        {"name": "王芳", "id_number": sub(E, 13, "7")},
        {"name": "王芳", "id_number": swap(D, 9) if D[9] != D[10] else sub(D, 16, "1")},
    ]
    out = run(roster, rows)
    assert out["roster_row"].to_list() == [7, 8, 8, 7]
    assert out["match_status"].to_list() == ["linked"] * 4


def test_scores_order_tiers(roster):
    out = run(roster, [
        {"name": "张晓明", "id_number": A},
        {"name": "张晓明", "id_number": A.lower() + " "},
        {"name": "张晓明", "id_number": sub(A, 11, "9")},
        {"name": "张晓明", "birth_date": "1985-07-12"},
    ])
    s = out["match_score"].to_list()
    assert s[0] == 100 and s[0] >= s[1] > s[2] > s[3] >= 80


def test_output_contract(roster):
    rows = [{"name": n, "id_number": i} for n, i in [("张晓明", A), (None, None), ("李芳", B), ("赵四", None)]]
    out = run(roster, rows)
    assert tuple(out.columns) == LINK_COLUMNS
    assert out.height == 4
    assert out["source_row"].to_list() == [2, 3, 4, 5]
    assert out["sector"].unique().to_list() == ["medical_claims"]
    assert out["source_file"].unique().to_list() == ["extract.csv"]
    assert out["rejected"].to_list() == [False, True, False, False]
    assert set(out["match_status"]) <= {"linked", "review", "unlinked"}
    assert out.filter(pl.col("match_status") == "unlinked")["roster_row"].null_count() == 2
    assert not out["reason"].str.contains(A).any()  # reasons never carry a full ID


def test_one_row_sector_demotes_second_claim(roster):
    """In a one-row-per-person sector a name+birth row for a person already matched by ID is a
    possible namesake born the same day: review."""
    rows = [{"name": "张晓明", "id_number": A}, {"name": "张晓明", "birth_date": "1985-07-12"}]
    out = run(roster, rows, sector="police")
    assert out["match_status"].to_list() == ["linked", "review"]
    assert "第2行" in out["reason"][1]
    claims = run(roster, rows, sector="medical_claims")
    assert claims["match_status"].to_list() == ["linked", "linked"]


def test_empty_extract(roster):
    out = run(roster, [])
    assert out.height == 0 and tuple(out.columns) == LINK_COLUMNS


def test_block_keys_survive_one_fault():
    """Every single wrong digit and every adjacent swap leaves some ID blocking key intact."""
    faults = [{p} for p in range(18)] + [{p, p + 1} for p in range(17)]
    for changed in faults:
        assert any(not (key_positions(k) & changed) for k in BLOCK_KEYS), changed


def test_many_rows_vectorized(roster):
    """A larger extract (repeated rows) links to the same answers as one row at a time."""
    rows = [{"name": c[1], "id_number": c[2], "birth_date": c[3], "village": c[4]} for c in CASES] * 50
    out = run(roster, rows, sector="medical_claims")
    first = out.head(len(CASES))
    for k in range(1, 50):
        chunk = out.slice(k * len(CASES), len(CASES))
        assert chunk["match_status"].to_list() == first["match_status"].to_list()
        assert chunk["roster_row"].to_list() == first["roster_row"].to_list()


def test_roster_gap_does_not_flood_the_review_queue(roster):
    """Three namesakes of a roster person without ID: the name says nothing, none is proposed."""
    rows = [{"name": "覃秀兰", "id_number": mk(f"4331271970030{i}021")} for i in range(1, 4)]
    out = run(roster, rows, sector="medical_enrollment")
    assert out["match_status"].to_list() == ["unlinked"] * 3


def test_roster_gap_needs_sex_to_agree(roster):
    """覃秀兰 (no ID on the roster) is a woman: a row with her name but a man's ID is not proposed."""
    male = mk("43312719700303011")  # 17th digit 1: male
    out = run(roster, [{"name": "覃秀兰", "id_number": male}]).row(0, named=True)
    assert out["match_status"] == "unlinked", out


def test_excel_float_image_from_a_number_cell(roster):
    """符英's ID was a spreadsheet number kept to 15 digits: a reader prints …180992 for …181000,
    which passes the check by chance; the roster ID lies in the range it may have come from."""
    out = run(roster, [{"name": "符英", "id_number": "433127201308180992", "id_number_cell": "number"}]).row(0, named=True)
    assert (out["match_status"], out["match_method"], out["roster_row"]) == ("linked", "id_repaired", 15), out
    assert "存为数字" in out["reason"]


def test_same_digits_in_a_csv_are_another_persons_valid_id(roster):
    """In a CSV the same 18 digits are what was typed: a valid ID that is not 符英's."""
    out = run(roster, [{"name": "符英", "id_number": "433127201308180992"}]).row(0, named=True)
    assert out["match_status"] != "linked", out


def test_shared_roster_index_gives_the_same_links(roster):
    """The roster's side, made once (`roster_index`) and reused by extracts of every sector in
    turn, links each extract exactly as a fresh link() does."""
    from polars.testing import assert_frame_equal

    from fanpin_cli.linking import roster_index

    rows = [{"name": c[1], "id_number": c[2], "birth_date": c[3], "village": c[4]} for c in CASES]
    cols = ("name", "id_number", "birth_date", "village")
    extracts = {
        sector: prepare(pl.DataFrame(
            {"source_file": ["extract.csv"] * len(part), "source_row": list(range(2, len(part) + 2)),
             **{c: [r[c] for r in part] for c in cols}},
            schema_overrides={c: pl.String for c in cols} | {"source_row": pl.Int64},
        ), REF)
        for sector, part in (("police", rows[::2]), ("medical_claims", rows), ("education", rows[1::2]), ("housing", []))
    }
    index = roster_index(roster)
    for sector, extract in [*extracts.items(), *reversed(extracts.items())]:
        assert_frame_equal(link(roster, extract, sector=sector, index=index), link(roster, extract, sector=sector))


def test_repair_prefilter_drops_only_pairs_no_case_scores(roster):
    """`_may_repair` (from digits, statuses and ranges alone, before the pair frame is built)
    keeps every pair that some case of REPAIR_CASES scores: checked on every (extract row, roster
    row) pair of the cases and of IDs held as spreadsheet numbers; it does drop pairs."""
    from fanpin_cli.linking import roster_index
    from fanpin_cli.linking.cases import scored
    from fanpin_cli.linking.digits import digit_matrix
    from fanpin_cli.linking.frames import view
    from fanpin_cli.linking.tier import LinkRun, Readings
    from fanpin_cli.linking.tiers_fuzzy import REPAIR_CASES, _repair_filter, pair_frame

    cols = ("name", "id_number", "birth_date", "village")
    rows = [{"name": c[1], "id_number": c[2], "birth_date": c[3], "village": c[4]} for c in CASES]
    numbers = (FLOAT, FLOAT[:-3] + "000", "4.33127E+17", "4.33127201308183E+17", "4.33127201308811E+17")
    rows += [{"name": n, "id_number": v, "birth_date": None, "village": None} for n in ("符英", "符瑛") for v in numbers]
    raw = pl.DataFrame({c: [r[c] for r in rows] for c in cols}, schema={c: pl.String for c in cols})
    e, ri = view(prepare(raw, REF)), roster_index(roster)
    rd = Readings(digit_matrix(e["digits"], e["known"]), ri.mat, e["known"].to_numpy(), ri.known)
    pairs = e.select(pl.col("idx").alias("eidx")).join(ri.r.select(pl.col("idx").alias("ridx")), how="cross")
    every = scored(pair_frame(pairs, e, ri.r, rd), REPAIR_CASES)
    kept_pairs = pairs.filter(_repair_filter(LinkRun(e, ri.r, rd, ("police",)))(pairs))
    kept = scored(pair_frame(kept_pairs, e, ri.r, rd), REPAIR_CASES)
    assert every.height > 10 and every.filter(pl.col("e_lo").is_not_null()).height > 3  # many pairs do score
    assert kept_pairs.height < pairs.height / 2
    assert sorted(every.select("eidx", "ridx", "score").rows()) == sorted(kept.select("eidx", "ridx", "score").rows())


def test_tail_typo_column_equals_the_expression_on_every_pair(roster):
    """`with_tail_typo` computes `_tail_typo_possible()` only on pairs with a spreadsheet-number
    range: there it equals the expression on every (extract row, roster row) pair of the cases."""
    from fanpin_cli.linking import roster_index
    from fanpin_cli.linking.digits import digit_matrix
    from fanpin_cli.linking.frames import view
    from fanpin_cli.linking.tier import Readings
    from fanpin_cli.linking.tiers_fuzzy import (
        _out_of_range,
        _tail_typo_possible,
        pair_frame,
        with_tail_typo,
    )

    cols = ("name", "id_number", "birth_date", "village")
    rows = [{"name": c[1], "id_number": c[2], "birth_date": c[3], "village": c[4]} for c in CASES]
    rows += [{"name": "符英", "id_number": v, "birth_date": None, "village": None}
             for v in (FLOAT, FLOAT[:-3] + "000", "4.33127E+17", "4.33127201308183E+17")]
    raw = pl.DataFrame({c: [r[c] for r in rows] for c in cols}, schema={c: pl.String for c in cols})
    e, ri = view(prepare(raw, REF)), roster_index(roster)
    rd = Readings(digit_matrix(e["digits"], e["known"]), ri.mat, e["known"].to_numpy(), ri.known)
    pairs = e.select(pl.col("idx").alias("eidx")).join(ri.r.select(pl.col("idx").alias("ridx")), how="cross")
    p = pair_frame(pairs, e, ri.r, rd)
    ranged = p.filter(pl.col("e_lo").is_not_null())
    every = ranged.select(_tail_typo_possible()).to_series().to_list()
    assert with_tail_typo(p).filter(pl.col("e_lo").is_not_null())["tail_typo"].to_list() == every
    assert ranged.height > 10 and any(every) and not all(every)
    # Without a range the column is never read: the cases reading it are settled without it.
    assert not p.filter(pl.col("e_lo").is_null()).select(_out_of_range().any()).item()


def test_block_key_numbers_equal_exactly_when_the_key_texts_do():
    """`key_number` (the blocking key read from the 17 leading digits as a number) is equal for
    two readings exactly when `key_expr`'s texts are, leading zeros and short readings included;
    a reading whose 17 leading characters are not all digits has no number (`d17_expr`)."""
    import random

    from fanpin_cli.linking.digits import D17, NAME_BLOCK_KEYS, d17_expr, key_expr, key_number

    rng = random.Random(7)
    digits = [mk("43312719900101123"), "000000000000000000", "433127201308180000", "012345678901234567"]
    digits += ["".join(rng.choice("0123456789") for _ in range(17)) + rng.choice("0123456789X") for _ in range(400)]
    digits += [sub(d, p, "0") for d in digits[:50] for p in (0, 6, 10, 14, 16)]
    frame = pl.DataFrame({"digits": digits, "known": [rng.choice([13, 14, 15, 17, 18]) for _ in digits]})
    frame = frame.with_columns(d17_expr())
    assert frame[D17].null_count() == 0
    for key in [*BLOCK_KEYS, *NAME_BLOCK_KEYS]:
        keys = frame.select(key_number(key).alias("n"), key_expr(key).alias("t"))
        assert keys["n"].is_null().to_list() == keys["t"].is_null().to_list(), key
        pairs = keys.drop_nulls()
        assert pairs.unique("n").height == pairs.unique("t").height == pairs.unique().height, key
    odd = pl.DataFrame({"digits": ["+33127199001011238", "-33127199001011238", "4331271990010112X8", "4331271990"]})
    assert odd.select(d17_expr())[D17].to_list() == [None] * 4


def _repair_views(roster: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The linking views of the repair-pair tests: the CASES and spreadsheet numbers of two
    names (the extract side, rows with 13 or more known digits) and the roster's side."""
    from fanpin_cli.linking import roster_index
    from fanpin_cli.linking.frames import view

    cols = ("name", "id_number", "birth_date", "village")
    rows = [{"name": c[1], "id_number": c[2], "birth_date": c[3], "village": c[4]} for c in CASES]
    numbers = (FLOAT, FLOAT[:-3] + "000", "4.33127E+17", "4.33127201308183E+17", "4.33127201308811E+17")
    rows += [{"name": n, "id_number": v, "birth_date": None, "village": None} for n in ("符英", "符瑛") for v in numbers]
    raw = pl.DataFrame({c: [r[c] for r in rows] for c in cols}, schema={c: pl.String for c in cols})
    e, r = view(prepare(raw, REF)), roster_index(roster).r
    return e.filter(pl.col("known") >= 13), r


def test_repair_pairs_on_numbers_are_the_pairs_on_texts(roster, monkeypatch):
    """The ID-repair blocking joins on numbers (name code + key digits) propose exactly the
    pairs the joins on the key texts (and the name's pinyin) do, spreadsheet numbers included;
    a reading that is not all digits sends the joins back to texts."""
    from fanpin_cli.linking import candidates

    e, r = _repair_views(roster)
    by_numbers = candidates.repair_pairs(e, r).sort("eidx", "ridx")
    slim = candidates._slim
    assert slim(e)[1] and slim(r)[1]
    assert by_numbers.height > 10
    monkeypatch.setattr(candidates, "_slim", lambda frame: (slim(frame)[0], False))
    assert candidates.repair_pairs(e, r).sort("eidx", "ridx").equals(by_numbers)
    monkeypatch.undo()
    odd = e.with_columns(pl.when(pl.col("idx") == e["idx"][0]).then(pl.lit("43312x19900101123X"))
                         .otherwise(pl.col("digits")).alias("digits"))
    assert not slim(odd)[1]
    assert candidates.repair_pairs(odd, r).height > 0


def test_repair_pairs_sorted_are_the_pairs_of_the_joins(roster, monkeypatch):
    """On a few rows, the ID-repair blocking joins are made with numpy over each roster side's
    sorted keys (`_repair_pairs_sorted`): the same pairs as polars' hash joins (the path taken
    on many rows), with and without the `keep` filter, whatever the roster side's memo holds."""
    from fanpin_cli.linking import candidates
    from fanpin_cli.linking.tier import Memo

    e, r = _repair_views(roster)

    def odd_rows(pairs: pl.DataFrame) -> pl.Series:
        return (pairs["eidx"] + pairs["ridx"]) % 2 == 1

    memo = Memo()
    sorted_ = [candidates.repair_pairs(e, r, memo, keep=k).sort("eidx", "ridx") for k in (None, odd_rows)]
    assert candidates.SORTED_ROWS >= e.height and sorted_[0].height > 10
    assert 0 < sorted_[1].height < sorted_[0].height
    monkeypatch.setattr(candidates, "SORTED_ROWS", -1)  # every size: polars' joins
    joins = [candidates.repair_pairs(e, r, memo, keep=k).sort("eidx", "ridx") for k in (None, odd_rows)]
    assert sorted_[0].equals(joins[0]) and sorted_[1].equals(joins[1])
    assert sorted_[0].schema == joins[0].schema
