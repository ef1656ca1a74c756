"""`linking.link_files` links several extracts in one pass of the tiers (the pipeline links a
county's small files so): each file's links must be exactly what `link` gives that file alone.

Checked on the table cases of `test_linking` and on the rows whose outcome depends on the other
rows of their file (a second claim on a person in a one-row sector, a name-only proposal of a
person another row links, a roster gap's name carried by several rows), spread over files of
every kind of sector, in a table and drawn at random.
"""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from test_linking import CASES, REF, ROSTER, A, C, mk

from fanpin_cli.linking import link, link_files, roster_index
from fanpin_cli.prepare import prepare

COLS = ("name", "id_number", "birth_date", "village")
# The table's rows, and rows whose outcome reads their file's other rows.
ROWS: list[dict[str, str | None]] = [dict(zip(COLS, c[1:5], strict=True)) for c in CASES] + [
    {"name": "张晓明", "id_number": A},  # linked by ID ...
    {"name": "张晓明", "birth_date": "1985-07-12"},  # ... and again by name + birth: one-row sectors review it
    {"name": "张伟", "id_number": C},  # linked by ID ...
    {"name": "张伟"},  # ... name only: not proposed again in a sector that does not repeat people
    {"name": "覃秀兰", "id_number": mk("43312719700303022")},  # a roster gap's name, carried ...
    {"name": "覃秀兰", "id_number": mk("43312719700303030")},  # ... by several rows of a file
    {"name": "覃秀兰"},
]
@pytest.fixture(scope="module")
def roster() -> pl.DataFrame:
    """`test_linking`'s roster."""
    raw = pl.DataFrame(
        {"source_file": ["监测对象信息.xlsx"] * len(ROSTER), "source_row": [r[0] for r in ROSTER],
         "household_id": [r[1] for r in ROSTER], "name": [r[2] for r in ROSTER], "id_number": [r[3] for r in ROSTER],
         "village": [r[4] for r in ROSTER],
         "sex": [("男" if int(r[3][16]) % 2 else "女") if r[3] else "女" for r in ROSTER]},
        schema_overrides={"source_row": pl.Int64},
    )
    return prepare(raw, REF)


SECTORS = ("police", "housing", "disability", "medical_claims", "civil_affairs", "medical_enrollment", "education")


def _extract(rows: list[dict[str, str | None]], name: str) -> pl.DataFrame:
    raw = pl.DataFrame(
        {"source_file": [name] * len(rows), "source_row": list(range(2, len(rows) + 2)),
         **{c: [r.get(c) for r in rows] for c in COLS}},
        schema_overrides={c: pl.String for c in COLS} | {"source_row": pl.Int64},
    )
    return prepare(raw, REF)


def _files(parts: list[tuple[list[int], str]]) -> list[tuple[pl.DataFrame, str]]:
    return [(_extract([ROWS[i] for i in rows], f"file{n}.csv"), sector) for n, (rows, sector) in enumerate(parts)]


def _assert_each_as_alone(roster: pl.DataFrame, files: list[tuple[pl.DataFrame, str]]) -> None:
    index = roster_index(roster)
    together = link_files(roster, files, index=index)
    assert len(together) == len(files)
    for (extract, sector), links in zip(files, together, strict=True):
        assert_frame_equal(links, link(roster, extract, sector=sector, index=index))


EXTRA = list(range(len(CASES), len(ROWS)))
TABLE = {
    # every case in one file, then again beside other files
    "one file": [(list(range(len(ROWS))), "medical_claims")],
    "each sector": [(list(range(len(ROWS))), s) for s in SECTORS],
    # a second claim, a taken person, a gap's carriers: in the same file, or split over files
    "claims together": [(EXTRA, "police"), (EXTRA, "medical_claims")],
    "claims apart": [([EXTRA[0]], "police"), ([EXTRA[1]], "police"), ([EXTRA[2], EXTRA[4]], "housing"),
                     ([EXTRA[3], EXTRA[5], EXTRA[6]], "housing")],
    "gap carriers split": [(EXTRA[4:6], "education"), (EXTRA[6:], "education"), (EXTRA[4:], "civil_affairs")],
    "an empty file": [([], "police"), (list(range(0, len(ROWS), 3)), "disability"), ([], "medical_claims")],
}


@pytest.mark.parametrize("parts", TABLE.values(), ids=TABLE.keys())
def test_files_linked_together_get_the_links_they_get_alone(roster, parts):
    _assert_each_as_alone(roster, _files(parts))


def test_no_files(roster):
    assert link_files(roster, []) == []


def test_the_files_rows_do_meet_each_other(roster):
    """The per-file rules matter here (so the table can fail): the second claim is reviewed only
    when both rows are in one file of a one-row sector."""
    claim = [EXTRA[0], EXTRA[1]]
    same = link_files(roster, _files([(claim, "police")]))[0]
    apart = link_files(roster, _files([([claim[0]], "police"), ([claim[1]], "police")]))
    assert same["match_status"].to_list() == ["linked", "review"]
    assert [f["match_status"].item() for f in apart] == ["linked", "linked"]


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.lists(st.integers(0, len(ROWS) - 1), max_size=12), st.sampled_from(SECTORS)),
                min_size=1, max_size=4))
def test_random_files_linked_together_get_the_links_they_get_alone(roster, parts):
    _assert_each_as_alone(roster, _files(parts))


@pytest.mark.parametrize("sorted_rows", [20_000, 0], ids=["numpy joins", "polars joins"])
def test_a_roster_typo_block_is_counted_per_file(roster, monkeypatch, sorted_rows):
    """A faulty roster ID is proposed to at most 256 rows of a file with valid IDs on its block
    keys (`candidates.MAX_BLOCK` × 4): two files of 200 such rows are each under it, together not."""
    from fanpin_cli.linking import candidates

    monkeypatch.setattr(candidates, "SORTED_ROWS", sorted_rows)
    row = len(CASES) - 1 - [c[0] for c in reversed(CASES)].index("roster-side typo")
    files = _files([([row] * 200, "medical_claims"), ([row] * 200, "civil_affairs")])
    _assert_each_as_alone(roster, files)
    assert set(link_files(roster, files)[1]["match_method"]) == {"id_repaired"}
