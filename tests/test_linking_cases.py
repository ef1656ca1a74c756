"""Linking tiers as objects (`linking/cases.py`, `linking/tier.py`): each case owns its condition,
score and reason; the first case that holds decides; `link()` runs the tiers `TIERS` lists; a
village or township agreement counts the same in every tier."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from make_ids import with_check

import fanpin_cli.linking as linking
from fanpin_cli.linking import TIERS, link
from fanpin_cli.linking.cases import Case, accepted, case_of, note, reason, score
from fanpin_cli.linking.tiers_fuzzy import PLACE
from fanpin_cli.linking.tiers_id import IdTier
from fanpin_cli.prepare import prepare

REF = date(2026, 11, 30)
mk = with_check  # a valid ID from 17 digits

SHARED = pl.format("相差{}", pl.col("d"))
CASES = (
    Case("equal", pl.col("d") == 0, 90.0, accept=True, reason="一致"),
    Case("near", pl.col("d") <= 1, 70.0, reason=SHARED, note="；需人工核实"),
    Case("near_too", pl.col("d") <= 2, 70.0, reason=SHARED, note="；需人工核实"),
    Case("far", pl.col("d") <= 9, None),
)


@pytest.mark.parametrize(
    ("d", "case", "expected_score", "accept", "words"),
    [
        (0, 0, 90.0, True, "一致"),  # also ≤ 1, ≤ 2: the first case that holds decides
        (1, 1, 70.0, False, "相差1；需人工核实"),
        (2, 2, 70.0, False, "相差2；需人工核实"),  # a reason shared by two cases
        (5, 3, None, False, None),  # a case without a score: no candidate
        (None, None, None, False, None),  # a null condition does not hold
        (12, None, None, False, None),  # no case holds
    ],
)
def test_first_case_that_holds_decides(d, case, expected_score, accept, words):
    f = pl.DataFrame({"d": [d]}, schema={"d": pl.Int64}).with_columns(case_of(CASES))
    got = f.select(
        pl.col("case"), score(CASES), accepted(CASES), pl.concat_str(reason(CASES), note(CASES)).alias("text")
    ).row(0)
    assert got == (case, expected_score, accept, words)


@pytest.mark.parametrize("tier", TIERS, ids=[t.name for t in TIERS])
def test_every_case_is_declared_whole(tier):
    """Names unique; a case that scores explains itself; only a scored case may be linked."""
    names = [c.name for c in tier.cases]
    assert len(names) == len(set(names)), names
    for case in tier.cases:
        if case.score is not None:
            assert case.reason is not None, case.name
        else:
            assert not case.accept and case.reason is None, case.name
    assert any(c.accept for c in tier.cases) == (tier.name not in ("name_only", "roster_gap"))


# 李娜 ×2 born the same day in two villages; 覃秀兰 has no ID on the roster.
F = mk("43312719720611088")
G = mk("43312719720611102")
A = mk("43312719850712123")
ROSTER = [(4, "H1", "李娜", F, "桃子溪村"), (5, "H2", "李娜", G, "芙蓉村"), (6, "H3", "覃秀兰", None, "芙蓉村"),
          (7, "H4", "张晓明", A, "芙蓉村")]


@pytest.fixture(scope="module")
def roster() -> pl.DataFrame:
    raw = pl.DataFrame(
        {
            "source_file": ["监测对象信息.xlsx"] * len(ROSTER),
            "source_row": [r[0] for r in ROSTER],
            "household_id": [r[1] for r in ROSTER],
            "name": [r[2] for r in ROSTER],
            "id_number": [r[3] for r in ROSTER],
            "township": ["石堤镇"] * len(ROSTER),
            "village": [r[4] for r in ROSTER],
            "sex": ["女"] * len(ROSTER),
        },
        schema_overrides={"source_row": pl.Int64},
    )
    return prepare(raw, REF)


def extract(rows: list[dict[str, str | None]]) -> pl.DataFrame:
    cols = ("name", "id_number", "birth_date", "township", "village")
    raw = pl.DataFrame(
        {
            "source_file": ["民政_救助名单.csv"] * len(rows),
            "source_row": list(range(2, len(rows) + 2)),
            **{c: [r.get(c) for r in rows] for c in cols},
        },
        schema_overrides={c: pl.String for c in cols} | {"source_row": pl.Int64},
    )
    return prepare(raw, REF)


@pytest.mark.parametrize(
    ("row", "method", "status", "roster_row"),
    [
        ({"name": "张晓明", "birth_date": "1985-07-12"}, "name_birth", "linked", 7),  # name + birth date
        ({"name": "张晓明"}, "none", "review", 7),  # name only
        ({"name": "覃秀兰"}, "none", "review", 6),  # the roster person has no ID
    ],
    ids=["name_birth", "name_only", "roster_gap"],
)
def test_place_counts_the_same_in_every_tier(roster, row, method, status, roster_row):
    """The same village adds `PLACE`'s village points, the same township its township points,
    in every tier, and the reason says so where the link rests on it."""
    places = {
        "none": {},
        "township": {"township": "石堤镇"},
        "village": {"township": "石堤镇", "village": "芙蓉村"},
    }
    frames = {k: extract([row | v]) for k, v in places.items()}
    out = {k: link(roster, f, sector="civil_affairs").row(0, named=True) for k, f in frames.items()}
    for got in out.values():
        assert (got["match_method"], got["match_status"], got["roster_row"]) == (method, status, roster_row), got
    points = {c.name: c.score for c in PLACE}
    assert out["village"]["match_score"] - out["township"]["match_score"] == points["village"] - points["township"]
    assert out["township"]["match_score"] - out["none"]["match_score"] == points["township"]
    if method == "name_birth":
        assert out["village"]["reason"].endswith("，村一致")


def test_link_runs_the_tiers_it_lists(roster, monkeypatch):
    """`link()` takes its tiers, and their order, from `TIERS`."""
    typo = F[:11] + str((int(F[11]) + 1) % 10) + F[12:]  # one wrong digit: the check fails
    rows = extract([{"name": "李娜", "id_number": typo}])  # 李娜 #1, by her ID
    assert link(roster, rows, sector="civil_affairs")["match_method"].to_list() == ["id_repaired"]
    monkeypatch.setattr(linking, "TIERS", (IdTier(),))
    assert link(roster, rows, sector="civil_affairs")["match_status"].to_list() == ["unlinked"]


def test_by_case_rows_equals_the_chain_on_long_frames(monkeypatch):
    """On a frame long enough to be computed case by case, every value (score, reason with
    formatted words, note with its default) equals the one when/then chain's."""
    import polars as pl

    import fanpin_cli.linking.cases as cases_mod
    from fanpin_cli.linking.cases import Case, by_case_rows, case_of, note, reason, score

    cases = (
        Case("big", pl.col("x") > 7, pl.col("x") * 1.5, accept=True, reason=pl.format("大{}", pl.col("x"))),
        Case("none", pl.col("x") == 7, None, reason="不计"),
        Case("mid", pl.col("x") > 3, 50.0, reason=pl.format("中{}/{}", pl.col("x"), pl.col("y")), note="；需核实"),
        Case("low", pl.col("x") >= 0, 10.0, reason="小"),
    )
    f = pl.DataFrame({"x": [i % 11 - 1 for i in range(200)], "y": [None if i % 3 else f"y{i}" for i in range(200)]})
    f = f.with_columns(case_of(cases))
    assert f["case"].null_count() > 0  # rows no case holds (x = -1)
    monkeypatch.setattr(cases_mod, "CASE_ROWS", 10)
    for what, chain in (("score", score(cases)), ("reason", reason(cases)), ("note", note(cases))):
        got = by_case_rows(f, cases, what)
        want = f.select(chain).to_series()
        assert got.to_list() == want.to_list() and got.dtype == want.dtype and got.name == want.name


def test_firsts_by_distinct_equals_the_chain_even_when_hashes_collide(monkeypatch):
    """`firsts_by_distinct` (each combination of the columns read worked out once, joined back
    on its hash) gives every row the value the `first` chain gives it, nulls included; when two
    combinations share a hash (every hash made equal here) it is still exact."""
    import fanpin_cli.linking.cases as cases_mod
    from fanpin_cli.linking.cases import first, firsts_by_distinct

    cases = (
        Case("big", pl.col("x") > 7, pl.col("x") * 1.5, reason=pl.format("大{}", pl.col("y"))),
        Case("mid", pl.col("x") > 3, 50.0, reason=pl.format("中{}", pl.col("x"))),
        Case("low", pl.col("x") >= 0, 10.0, reason="小"),
    )
    f = pl.DataFrame({"x": [i % 11 - 1 for i in range(300)], "y": [None if i % 4 else f"乙{i % 3}" for i in range(300)]})
    want = f.select(first(cases, "score").alias("s"), first(cases, "reason").alias("r"))
    assert want["r"].null_count() > 0 and want["s"].null_count() > 0
    assert firsts_by_distinct(f, cases, {"s": "score", "r": "reason"}).equals(want)
    monkeypatch.setattr(cases_mod, "_combination_hash", lambda columns: pl.lit(7, dtype=pl.UInt64))
    assert firsts_by_distinct(f, cases, {"s": "score", "r": "reason"}).equals(want)
