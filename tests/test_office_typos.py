"""Typing mistakes in IDs that LibreOffice then turned into numbers (files LibreOffice wrote).

Fixtures: tests/fixtures/office/typos/ (`make_typo_fixtures.py` there says how they were made: an
enrollment CSV opened by LibreOffice 7.4 with its default column types and saved as .xlsx, so
every ID is a number of 15 significant digits). Roster and typed IDs:

- 汪伟伟: year typed 1944 for 1954; the 15th digit is 9, so only 13 digits stay certain;
- 黄永晓: the year's last and the month's first digit swapped (20010129 for 20001129);
- 张敏娜: year 1930 for 1970 and a sequence digit wrong, check recomputed (a valid-looking ID);
- two roster persons named 毛小艳 born the same day, both in the range of one number;
- a row without a name whose range holds 田桂 and 向华 (born the same day);
- 刘洋: no enrollment row at all.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from test_office_ids import county_config
from typer.testing import CliRunner

from fanpin_cli.cli import app
from fanpin_cli.linking import link
from fanpin_cli.linking.digits import FALLBACK_KEYS, NAME_BLOCK_KEYS, key_needs, key_positions
from fanpin_cli.loaders import load_file
from fanpin_cli.prepare import prepare

HERE = Path(__file__).parent / "fixtures" / "office" / "typos"
REF = date(2026, 11, 30)


def roster() -> pl.DataFrame:
    return prepare(load_file(HERE / "监测对象.csv", "roster").frame, REF)


def enrollment() -> pl.DataFrame:
    return prepare(load_file(HERE / "医保_参保登记.xlsx", "medical_enrollment").frame, REF)


def rows_of(frame: pl.DataFrame) -> dict[str, list[int]]:
    """Roster name → its rows."""
    out: dict[str, list[int]] = {}
    for name, row in frame.select("name", "source_row").iter_rows():
        out.setdefault(name, []).append(row)
    return out


@pytest.mark.parametrize("known", [13, 14])
def test_name_keys_survive_one_typo_or_swap_in_the_certain_digits(known: int) -> None:
    """For a number with 13 or 14 certain digits, one wrong digit or one swap of adjacent
    digits among them leaves a name blocking key readable and intact."""
    usable = [k for k in NAME_BLOCK_KEYS if key_needs(k) <= known
              and not (k in FALLBACK_KEYS and key_needs(FALLBACK_KEYS[k]) <= known)]
    faults = [{p} for p in range(known)] + [{p, p + 1} for p in range(known - 1)]
    for changed in faults:
        assert any(not (key_positions(k) & changed) for k in usable), (known, changed)


def test_premise_the_ids_are_numbers_with_13_or_14_certain_digits() -> None:
    e = enrollment()
    assert set(e["id_number_cell"]) == {"number"}
    assert e.filter(pl.col("name") == "汪伟伟")["id_known"].item() == 13


def test_typos_under_a_number_link_or_wait_for_a_person() -> None:
    r = roster()
    rows = rows_of(r)
    out = link(r, enrollment(), sector="medical_enrollment")
    by_row = {x["source_row"]: x for x in out.iter_rows(named=True)}
    wang = by_row[2]  # year typo, 13 certain digits
    assert (wang["match_status"], wang["roster_row"]) == ("linked", rows["汪伟伟"][0]), wang
    assert "第9位" in wang["reason"] and "录入错误" in wang["reason"]
    huang = by_row[3]  # swap across year and month
    assert (huang["match_status"], huang["roster_row"]) == ("linked", rows["黄永晓"][0]), huang
    assert "第10、11位疑似前后颠倒" in huang["reason"], huang
    zhang = by_row[4]  # one certain digit and the lost ones differ: a typo or a namesake
    assert (zhang["match_status"], zhang["roster_row"]) == ("review", rows["张敏娜"][0]), zhang
    assert "第9位" in zhang["reason"] and "已丢失的几位也与花名册不符" in zhang["reason"]
    twins = by_row[5]  # two 毛小艳 born the same day in one range: never linked
    assert twins["match_status"] == "review" and twins["roster_row"] in rows["毛小艳"], twins
    nameless = by_row[6]
    assert nameless["match_status"] == "review", nameless


@pytest.fixture(scope="module")
def office_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("office-typos")
    config = county_config(folder, HERE / "监测对象.csv", {"medical_enrollment": HERE / "医保_参保登记.xlsx"})
    out = folder / "out"
    result = CliRunner().invoke(app, ["run", str(config), "--out", str(out), "--no-history"])
    assert result.exit_code == 0, result.output
    return out


def test_uninsured_is_confirmed_only_where_no_unresolved_row_may_be_the_record(office_run: Path) -> None:
    flags = pl.read_csv(office_run / "flags.csv", infer_schema=False).filter(pl.col("rule_id") == "MED_UNINSURED")
    status = {name: sorted(f["evidence_status"]) for (name,), f in flags.group_by("person_name")}
    # 刘洋 has no row anywhere: confirmed. 汪伟伟 and 黄永晓 are linked: no flag.
    assert status.pop("刘洋") == ["confirmed"]
    # Every other person may own an unresolved row: the review candidate and, just as much,
    # the other 毛小艳 and whichever of 田桂/向华 the nameless row was not proposed for.
    assert status == {"张敏娜": ["pending_review"], "毛小艳": ["pending_review", "pending_review"],
                      "田桂": ["pending_review"], "向华": ["pending_review"]}, status
    notes = flags.filter(pl.col("person_name").is_in(["田桂", "向华"]))["detail"].to_list()
    assert any("医保_参保登记.xlsx第6行" in n and "可能是此人的记录" in n for n in notes), notes
