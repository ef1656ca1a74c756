"""Record and person keys: content-derived, order-free, keyed, never an ID."""

from __future__ import annotations

import os
from datetime import date

import polars as pl

from fanpin_cli.keys import KEY_FILE, load_or_create_key, person_key, read_key, row_keys
from fanpin_cli.loaders import load_file
from fanpin_cli.prepare import prepare

K1, K2 = b"1" * 32, b"2" * 32
ID = "433127199001011238"


def _claims() -> pl.DataFrame:
    raw = pl.DataFrame({
        "source_file": ["a.csv"] * 5,
        "source_row": [2, 3, 4, 5, 6],
        "name": ["张三", "张三", "张三", "李四", "王五"],
        "id_number": [ID, ID, ID, None, "43312719900101123"],
        "birth_date": [None, None, None, "1990-01-01", None],
        "settle_date": ["2026-01-05", "2026-02-05", "2026-01-05", "2026-03-01", "2026-03-01"],
        "out_of_pocket": ["100", "200", "100", "50", "60"],
        "diagnosis": ["感冒", "感冒", "感冒", "骨折", "骨折"],
        "备注": ["x", "y", "z", None, None],
    })
    return prepare(raw, date(2026, 11, 30))


def test_row_keys_are_unique_and_do_not_depend_on_order_or_file():
    frame = _claims()
    keys = row_keys(frame, "medical_claims", K1)
    assert keys.n_unique() == frame.height and keys.null_count() == 0
    shuffled = frame.reverse().with_columns(pl.lit("下月.csv").alias("source_file"), pl.col("source_row") + 100)
    assert sorted(row_keys(shuffled, "medical_claims", K1).to_list()) == sorted(keys.to_list())
    # rows 2 and 4 are the same claim (same person, date, amount) told apart by other content
    assert keys[0] != keys[2]


def test_row_key_follows_the_fields_that_make_the_record_not_the_status():
    frame = _claims()
    base = row_keys(frame, "medical_claims", K1)
    amount = row_keys(frame.with_columns(pl.lit("999").alias("out_of_pocket")), "medical_claims", K1)
    assert (base != amount).all()
    other_sector = row_keys(frame, "civil_affairs", K1)
    assert not set(base) & set(other_sector)


def test_person_key_is_keyed_and_hides_the_id():
    ids = pl.Series([ID, None, ID])
    a, b = person_key(ids, K1), person_key(ids, K2)
    assert a[0] == a[2] and a[1] is None and a[0] != b[0]
    assert ID not in a[0] and len(a[0]) == 16
    assert not set(row_keys(_claims(), "medical_claims", K1)) & {ID}


def test_key_file_is_created_once_private_and_reused(tmp_path):
    assert read_key(tmp_path) != read_key(tmp_path)  # no key there: one per call, nothing written
    assert not (tmp_path / KEY_FILE).exists()
    key = load_or_create_key(tmp_path)
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o077 == 0
    assert load_or_create_key(tmp_path) == key == read_key(tmp_path)


def test_duplicates_found_through_hashes_are_exactly_the_duplicates():
    """row_keys finds repeated rows by their 64-bit hashes first: the same rows as comparing
    the texts (nulls, empty texts, near-equal texts and 5,000 distinct values with repeats)."""
    from fanpin_cli.keys import _duplicated

    values = [f"claims\x1fid:43312719900101{i % 4000:04d}\x1f" + ("" if i % 7 else " ") for i in range(5000)]
    values += [None, None, "", "x", "X", "x "]
    s = pl.Series(values)
    assert _duplicated(s).to_list() == s.is_duplicated().to_list()
    assert _duplicated(s).sum() > 1000
    one = pl.Series(["only"])
    assert _duplicated(one).to_list() == [False]


def test_keys_made_in_batches_are_one_chunk():
    """Keys hashed in batches come back as one piece: a column of many pieces beside columns of
    one makes polars copy the whole frame at its next select (the links of 4M rows, ~1.8 GB)."""
    from fanpin_cli.keys import _hash_texts

    values = pl.Series("v", [f"43312719900101{i:04d}" for i in range(7)] + [None])
    hashed = _hash_texts(values, b"k" * 32, batch=3)
    assert hashed.n_chunks() == 1
    assert hashed.to_list() == _hash_texts(values, b"k" * 32).to_list()
    assert hashed[-1] is None



def test_a_blank_looking_id_cell_keys_the_row_by_name_and_birth_and_padding_changes_nothing():
    """The identity a row key is made of reads `prepare`'s id18 / id_clean as null or folded
    text: an ID cell that only looks filled (spaces, an apostrophe, a zero-width or full-width
    space) keys the row by name and birth as an empty cell does, and a padded ID as the ID."""
    cells = ["", " ", "'", "\u200b", "\u3000", None]
    raw = pl.DataFrame({
        "source_file": ["a.csv"] * (len(cells) + 2),
        "source_row": list(range(2, len(cells) + 4)),
        "name": ["李四"] * len(cells) + ["张三", "张三"],
        "id_number": [*cells, ID, f" {ID}\u3000"],
        "birth_date": ["1990-01-01"] * len(cells) + [None, None],
        "settle_date": ["2026-03-01"] * (len(cells) + 2),
        "out_of_pocket": ["50"] * (len(cells) + 2),
        "diagnosis": ["骨折"] * (len(cells) + 2),
    })
    frame = prepare(raw, date(2026, 11, 30))
    for column in ("id18", "id_clean"):
        texts = frame[column].drop_nulls()
        assert (texts.str.len_chars() > 0).all() and (texts == texts.str.strip_chars()).all()
    from fanpin_cli.keys import _identity

    who = _identity(frame).to_list()
    assert set(who[: len(cells)]) == {"nb:李四\x1f1990-01-01"}  # every blank-looking cell: name and birth
    assert who[-2:] == [f"id:{ID}", f"id:{ID}"]  # the padded ID is the ID itself


def test_a_folder_that_cannot_keep_a_key_gets_one_for_the_run_alone(tmp_path, monkeypatch):
    # A read-only folder: never a key derived from its name (an output shows the name: every
    # keyed hash of an ID could be reversed by trying IDs); a run with a history stops instead,
    # its months could never be matched.
    import errno

    import pytest

    from fanpin_cli.errors import FanpinError
    from fanpin_cli.keys import KEY_FILE, derived_key

    real_open = os.open

    def refused(path, flags, *args):
        if str(path).endswith(KEY_FILE) and flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", refused)
    first, second = load_or_create_key(tmp_path), load_or_create_key(tmp_path)
    assert first != second and derived_key(tmp_path.resolve().name) not in (first, second)
    with pytest.raises(FanpinError, match="无法创建密钥文件 fanpin.key（没有写入权限）"):
        load_or_create_key(tmp_path, kept=True)
    assert read_key(tmp_path) != read_key(tmp_path)  # no key there: one per check


def test_validate_without_a_county_key_never_derives_one_from_the_files_name(tmp_path):
    # `fanpin validate` of a file with no fanpin.key beside it: its record keys (quality_issues.csv,
    # beside the file's name) come from a key of that check alone, not one derived from the name.
    import shutil

    from typer.testing import CliRunner

    from fanpin_cli.cli import app
    from fanpin_cli.keys import derived_key
    from fanpin_cli.synth import generate_county

    county = tmp_path / "county"
    generate_county(30, 3, county)
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(county / "监测对象信息.xlsx", alone / "监测对象信息.xlsx")
    keys = []
    for n in (1, 2):
        out = tmp_path / f"out{n}"
        result = CliRunner().invoke(app, ["validate", str(alone / "监测对象信息.xlsx"), "--sector", "roster",
                                          "--out", str(out)])
        assert result.exit_code == 0, result.output
        keys.append(pl.read_csv(out / "quality_issues.csv", infer_schema=False)["record_key"].drop_nulls().to_list())
    assert keys[0] and keys[0] != keys[1]  # a new key each check
    frame = prepare(load_file(alone / "监测对象信息.xlsx", "roster").frame, date(2026, 11, 30))
    derived = set(row_keys(frame, "roster", derived_key("监测对象信息.xlsx")).to_list())
    assert not derived & set(keys[0])
