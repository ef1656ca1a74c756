"""Resident ID numbers: cleaning, classification, decoding and masking (fanpin_cli.idnum).

The property test at the bottom checks the vectorized implementation against python-stdnum's
`stdnum.cn.ric` on more than 100,000 generated IDs.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from fanpin_cli.idnum import (
    CHECK_CHARS,
    ID_STATUSES,
    WEIGHTS,
    check_char,
    mask_id,
    numeric_file,
    with_id_columns,
)
from fanpin_cli.regions import region_codes

REF = date(2026, 11, 30)


def with_check(first17: str) -> str:
    """A full 18-char ID from 17 digits (GB 11643 check character appended)."""
    return first17 + CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def decode(values: list[str | None], reference_date: date = REF, cell: str | None = None) -> pl.DataFrame:
    """Decode IDs; `cell` is what the loader knows of the cells ("number"/"text"/"unknown")."""
    frame = pl.DataFrame({"id_number": values}, schema={"id_number": pl.String})
    if cell is not None:
        frame = frame.with_columns(pl.lit(cell).alias("id_number_cell"))
    return with_id_columns(frame, reference_date=reference_date)


def decode_one(value: str | None, reference_date: date = REF, cell: str | None = None) -> dict:
    return decode([value], reference_date, cell).row(0, named=True)


# 永顺县 (433127), male, born 1990-01-01: a realistic, fully valid ID.
VALID = with_check("43312719900101123")  # 433127199001011238
# Beijing female with check character X.
VALID_X = with_check("11010519491231002")  # 11010519491231002X
# An ID whose last three digits were lost by Excel (…000) and that fails its check.
EXCEL_000 = "433101197608123000"
# The exact double Excel stores for 433101197608123000 (what a reader printing it gives).
EXCEL_000_FLOAT_IMAGE = str(int(float(EXCEL_000)))


def test_fixture_premises() -> None:
    assert VALID == "433127199001011238"
    assert VALID_X == "11010519491231002X"
    assert with_check(EXCEL_000[:17]) != EXCEL_000  # the …000 version really fails the check
    assert EXCEL_000_FLOAT_IMAGE == "433101197608123008"
    assert set(ID_STATUSES) == {
        "valid", "legacy_15", "bad_checksum", "bad_birthdate", "excel_000", "excel_sci",
        "excel_float", "placeholder", "bad_format", "missing",
    }


# (raw cell, id_status, id18 or None, id_clean)
STATUS_CASES = [
    pytest.param(VALID, "valid", VALID, VALID, id="valid"),
    pytest.param("11010519491231002x", "valid", VALID_X, VALID_X, id="lower-x"),
    pytest.param("１１０１０５１９４９１２３１００２Ｘ", "valid", VALID_X, VALID_X, id="full-width-digits-and-X"),
    pytest.param("4331 2719 9001 0112 38", "valid", VALID, VALID, id="inner-spaces"),
    pytest.param("\u3000" + VALID + "\u3000", "valid", VALID, VALID, id="ideographic-space"),
    pytest.param("\u00a0" + VALID + "\u00a0", "valid", VALID, VALID, id="nbsp"),
    pytest.param("433127\u200b199001011238\ufeff", "valid", VALID, VALID, id="zero-width"),
    pytest.param("'" + VALID, "valid", VALID, VALID, id="leading-apostrophe"),
    pytest.param("’" + VALID, "valid", VALID, VALID, id="curly-apostrophe"),
    pytest.param("G" + VALID, "valid", VALID, VALID, id="xueji-G"),
    pytest.param("J" + VALID, "valid", VALID, VALID, id="xueji-J"),
    pytest.param("L" + VALID, "valid", VALID, VALID, id="xueji-L"),
    pytest.param(VALID + "12", "valid", VALID, VALID, id="disability-card-20-chars"),
    pytest.param("11010519491231002X74", "valid", VALID_X, VALID_X, id="disability-card-with-X"),
    pytest.param("433127900101123", "legacy_15", VALID, "433127900101123", id="legacy-15"),
    pytest.param("433127199001011239", "bad_checksum", None, "433127199001011239", id="bad-check"),
    pytest.param("433127199010011238", "bad_checksum", None, "433127199010011238", id="transposed"),
    pytest.param(with_check("43312719900230123"), "bad_birthdate", None, "433127199002301237",
                 id="impossible-date-19900230"),
    pytest.param(with_check("43312720990101123"), "bad_birthdate", None, "43312720990101123X",
                 id="future-birth-date"),
    pytest.param("433127900230123", "bad_birthdate", None, "433127900230123", id="legacy-15-bad-date"),
    pytest.param(EXCEL_000, "excel_000", None, EXCEL_000, id="excel-000-tail"),

    pytest.param("4.33127E+17", "excel_sci", None, "4.33127E+17", id="sci-6-digits"),
    # 15 significant digits written in scientific notation: what a spreadsheet keeps
    pytest.param("4.33127199001011E+17", "excel_000", None, "4.33127199001011E+17", id="sci-15-digits"),
    pytest.param("4.33127e17", "excel_sci", None, "4.33127E17", id="sci-lowercase-no-plus"),
    pytest.param("4.33127201309269E+017", "excel_000", None, "4.33127201309269E+017", id="sci-3-digit-exponent"),
    pytest.param("4.3312720130927E+017", "excel_000", None, "4.3312720130927E+017", id="sci-15-trailing-0-dropped"),
    pytest.param("999999199001011234", "placeholder", None, "999999199001011234", id="placeholder-999999"),
    pytest.param("000000000000000000", "placeholder", None, "000000000000000000", id="placeholder-zeros"),
    pytest.param("111111111111111111", "placeholder", None, "111111111111111111", id="placeholder-ones"),
    # 999999999999999999 as a spreadsheet number: the double is 10^18
    pytest.param("1000000000000000000", "placeholder", None, "1000000000000000000", id="placeholder-as-number"),
    pytest.param("1E+018", "placeholder", None, "1E+018", id="placeholder-as-sci"),
    # zero in scientific notation (a number cell formatted so): no ID's image, read without failing
    pytest.param("0E+17", "excel_sci", None, "0E+17", id="zero-as-sci"),
    pytest.param("0.0e+017", "excel_sci", None, "0.0E+017", id="zero-as-sci-lowercase"),
    pytest.param("43312719900101", "bad_format", None, "43312719900101", id="too-short"),
    pytest.param("4331271990010112345", "bad_format", None, "4331271990010112345", id="19-digits"),
    pytest.param("43312719900101123A", "bad_format", None, "43312719900101123A", id="letter-at-end"),
    pytest.param("无", "bad_format", None, "无", id="chinese-text"),
    pytest.param("", "missing", None, None, id="empty"),
    pytest.param("  \u3000 ", "missing", None, None, id="only-spaces"),
    pytest.param(None, "missing", None, None, id="null"),
]


@pytest.mark.parametrize(("raw", "status", "id18", "clean"), STATUS_CASES)
def test_status_id18_and_clean_text(raw: str | None, status: str, id18: str | None, clean: str | None) -> None:
    row = decode_one(raw)
    assert row["id_status"] == status
    assert row["id18"] == id18
    assert row["id_clean"] == clean


def test_every_status_is_covered_by_the_table() -> None:
    covered = {p.values[1] for p in STATUS_CASES} | {p.values[2] for p in CELL_CASES}
    assert covered == set(ID_STATUSES)


CELL_CASES = [
        pytest.param(EXCEL_000_FLOAT_IMAGE, "number", "excel_000", EXCEL_000, id="number-cell-15-digits"),
        pytest.param("433127199001011008", "number", "excel_000", "433127199001011000", id="number-000-passes"),
        pytest.param("433127199001011000", "number", "excel_000", "433127199001011000", id="number-cell-written-000"),
        pytest.param("433127197910059840", "number", "excel_float", "433127197910059840", id="number-cell-double"),
        pytest.param(EXCEL_000_FLOAT_IMAGE, None, "bad_checksum", EXCEL_000_FLOAT_IMAGE, id="csv-alone-is-a-typo"),
        pytest.param(EXCEL_000_FLOAT_IMAGE, "text", "bad_checksum", EXCEL_000_FLOAT_IMAGE, id="xlsx-text-is-a-typo"),
]


@pytest.mark.parametrize(("raw", "cell", "status", "digits"), CELL_CASES)
def test_excel_damage_depends_on_what_the_cell_was(raw: str, cell: str | None, status: str, digits: str) -> None:
    """A number cell lost digits whatever its check says; a lone text value that fails the
    check is a typo (unless it ends in 000); the reading keeps the cell's own text."""
    row = decode_one(raw, cell=cell)
    assert row["id_status"] == status
    assert row["id_digits"] == digits
    assert row["id_clean"] == raw
    assert row["id18"] is None or status == "valid"


def test_a_column_printed_from_numbers_is_read_as_numbers() -> None:
    """A CSV written from an .xls (every ID the exact decimal of a double) is recognised as a
    whole, even the values that pass the check by chance; typed IDs in a CSV never are."""
    rng = np.random.default_rng(7)
    bodies = [f"433127{1950 + i}{1 + i % 12:02d}{1 + i % 28:02d}{rng.integers(0, 1000):03d}" for i in range(60)]
    true_ids = [t for b in bodies if not (t := with_check(b)).endswith("X")]
    doubles = [str(int(float(t))) for t in true_ids]
    lucky = [d for d in doubles if with_check(d[:17]) == d and d not in true_ids]
    assert lucky, "premise: some doubles pass the check by chance"
    rows = decode(doubles)
    assert set(rows["id_status"]) <= {"excel_float", "excel_000"}
    assert rows["id18"].null_count() == rows.height
    assert all(lo <= int(t) <= hi for t, lo, hi in zip(true_ids, rows["id_lo"], rows["id_hi"], strict=True))
    typed = [with_check(f"43312719800101{i:03d}") for i in range(100, 140)]
    assert set(decode(typed)["id_status"]) == {"valid"}


def test_a_placeholder_held_as_a_number_has_no_reading() -> None:
    row = decode_one("1000000000000000000", cell="number")
    assert row["id_status"] == "placeholder"
    assert row["id_lo"] is None and row["id_known"] is None


@pytest.mark.parametrize(
    ("true_id", "shown"),
    [
        # LibreOffice rounds to 15 significant digits: the 15th digit is one up and, here, the
        # rounding carries into the birth date (…059845 → …060000).
        pytest.param("433127197910059845", "4.3312719791006E+017", id="libreoffice-rounds-with-carry"),
        pytest.param("433127201309269123", "4.33127201309269E+017", id="libreoffice-rounds-down"),
        pytest.param("433127201309269987", "433127201309269000", id="excel-truncates-on-typing"),
        pytest.param("433127201309269987", "433127201309270016", id="xlsx-number-cell-rounded"),
        pytest.param("433127197910059845", "433127197910059840", id="xls-double"),
        pytest.param("110105194912310021", "110105194912310016", id="xls-double-small-exponent"),
        pytest.param("433127197910059845", "4.331271979100598E+17", id="pandas-repr"),
        # LibreOffice 7.4 rounds twice (16 digits, then 15): …265456 → …2655 → …266
        pytest.param("433127200409265456", "4.33127200409266E+017", id="libreoffice-double-rounding"),
        # a 20-digit 残疾人证号 (ID + category + grade) held as a number
        pytest.param("433127199001011238", "4.33127199001011E+019", id="certificate-sci"),
        pytest.param("433127199001011238", str(int(float(43312719900101123811))), id="certificate-double"),
    ],
)
def test_the_range_of_a_number_holds_the_true_id(true_id: str, shown: str) -> None:
    row = decode_one(shown, cell="number")
    assert row["id_status"].startswith("excel_")
    assert row["id_lo"] <= int(true_id) <= row["id_hi"]
    assert row["id_hi"] - row["id_lo"] < 2000
    # the known digits are those every value in the range shares, so they are the true ones
    assert row["id_digits"][: row["id_known"]] == true_id[: row["id_known"]]
    assert row["id_known"] >= 13


def test_typed_000_that_passes_the_check_is_valid() -> None:
    # Typed as text, a real ID may end in 000: nothing shows it was damaged.
    assert decode_one("433127199001011000")["id_status"] == "valid"


def test_a_valid_id_is_never_rewritten_as_a_float_image() -> None:
    # 433127200103020992 is an exact double; it is rewritten only because it fails its check.
    fine = with_check("43312720010302099")
    assert decode_one(fine)["id_clean"] == fine
    assert decode_one(fine)["id_status"] == "valid"


def test_bad_checksum_reports_the_expected_check_char() -> None:
    row = decode_one("433127199001011239")
    assert row["id_expected_check"] == "8"
    assert row["id_digits"] == "433127199001011239"
    assert row["id_known"] == 18
    # the birth date, sex and region digits are still readable for repair
    assert row["id_birth"] == date(1990, 1, 1)
    assert row["id_sex"] == "男"


def test_expected_check_x() -> None:
    assert decode_one("110105194912310021")["id_expected_check"] == "X"
    assert pl.select(check_char(pl.lit("11010519491231002"))).item() == "X"
    assert pl.select(check_char(pl.lit("1101051949123100A"))).item() is None


def test_legacy_15_is_upgraded_with_the_right_check_char() -> None:
    row = decode_one("433127900101123")
    assert row["id_digits"] == "433127199001011238"
    assert row["id_expected_check"] == "8"
    assert ric.is_valid(row["id18"])
    assert row["id_birth"] == date(1990, 1, 1)
    assert row["id_sex"] == "男"


@pytest.mark.parametrize(
    ("raw", "known", "digits", "birth", "region"),
    [
        # Rounded to 6 digits, the 6th may be one up: only 5 are certain, not even the region.
        pytest.param("4.33127E+17", 5, "433127000000000000", None, None, id="6-significant"),
        # Rounded or truncated to 15 digits: the 15th is uncertain, the birth date is not.
        pytest.param("4.33127199001011E+17", 14, "433127199001011000", date(1990, 1, 1), "433127",
                     id="15-significant"),
        pytest.param(EXCEL_000, 14, EXCEL_000, date(1976, 8, 12), "433101", id="excel-000"),
        pytest.param(VALID, 18, VALID, date(1990, 1, 1), "433127", id="valid"),
    ],
)
def test_known_digits_and_what_they_still_tell(
    raw: str, known: int, digits: str, birth: date | None, region: str | None
) -> None:
    row = decode_one(raw)
    assert row["id_known"] == known
    assert row["id_digits"] == digits
    assert row["id_birth"] == birth
    assert row["id_region"] == region


def test_excel_damaged_ids_have_no_sex() -> None:
    # The 17th digit is gone (…000 tail or scientific notation): sex must not be guessed.
    rows = decode([EXCEL_000, "4.33127199001011E+17", "4.33127E+17"])
    assert rows["id_sex"].to_list() == [None, None, None]
    assert rows["id18"].to_list() == [None, None, None]


@pytest.mark.parametrize(
    ("raw", "birth", "sex"),
    [
        (VALID, date(1990, 1, 1), "男"),
        (VALID_X, date(1949, 12, 31), "女"),
        (with_check("43312720160229002"), date(2016, 2, 29), "女"),  # leap day
        (with_check("43312719000101005"), date(1900, 1, 1), "男"),
    ],
)
def test_birth_date_and_sex(raw: str, birth: date, sex: str) -> None:
    row = decode_one(raw)
    assert row["id_status"] == "valid"
    assert row["id_birth"] == birth
    assert row["id_sex"] == sex


def test_birth_on_the_reference_date_is_valid_and_day_after_is_future() -> None:
    on = with_check("43312720261130001")
    after = with_check("43312720261201001")
    rows = decode([on, after], reference_date=date(2026, 11, 30))
    assert rows["id_status"].to_list() == ["valid", "bad_birthdate"]
    assert rows["id_birth"].to_list() == [date(2026, 11, 30), None]
    assert rows["id_age"].to_list() == [0, None]


@pytest.mark.parametrize(
    ("code", "known"),
    [
        pytest.param("433127", True, id="current-永顺县"),
        pytest.param("110105", True, id="current-朝阳区"),
        pytest.param("430122", True, id="retired-望城县-kept-in-table"),
        pytest.param("439999", False, id="never-assigned"),
        pytest.param("000001", False, id="nonsense"),
    ],
)
def test_region_and_region_known(code: str, known: bool) -> None:
    row = decode_one(with_check(code + "19800101123"))
    assert row["id_status"] == "valid"  # an unknown region is only a warning
    assert row["id_region"] == code
    assert row["id_region_known"] is known


def test_region_known_is_null_without_region_digits() -> None:
    rows = decode(["", "12345", "999999199001011234"])
    assert rows["id_region"].to_list() == [None, None, None]
    assert rows["id_region_known"].to_list() == [None, None, None]


@pytest.mark.parametrize(
    ("born", "ref", "age"),
    [
        pytest.param("20101130", date(2026, 11, 29), 15, id="day-before-16th-birthday"),
        pytest.param("20101130", date(2026, 11, 30), 16, id="on-16th-birthday"),
        pytest.param("20101130", date(2026, 12, 1), 16, id="day-after-16th-birthday"),
        pytest.param("20200601", date(2026, 5, 31), 5, id="day-before-6th-birthday"),
        pytest.param("20200601", date(2026, 6, 1), 6, id="on-6th-birthday"),
        pytest.param("20080229", date(2026, 2, 28), 17, id="leap-day-birthday-not-reached"),
        pytest.param("20080229", date(2026, 3, 1), 18, id="leap-day-birthday-passed"),
        pytest.param("19491231", date(2026, 11, 30), 76, id="elderly"),
    ],
)
def test_age_in_full_years_around_birthdays(born: str, ref: date, age: int) -> None:
    row = decode_one(with_check("433127" + born + "004"), reference_date=ref)
    assert row["id_status"] == "valid"
    assert row["id_age"] == age


def test_age_of_legacy_15_and_sci_15() -> None:
    rows = decode(["433127900101123", "4.33127199001011E+17"], reference_date=date(2026, 1, 1))
    assert rows["id_age"].to_list() == [36, 36]


def test_many_rows_keep_their_order_and_prefix() -> None:
    values = [VALID, None, "433127900101123", EXCEL_000, VALID_X]
    frame = pl.DataFrame({"证件": values})
    out = with_id_columns(frame, "证件", reference_date=REF, prefix="r_")
    assert out["证件"].to_list() == values
    assert out["r_id_status"].to_list() == ["valid", "missing", "legacy_15", "excel_000", "valid"]
    assert not any(c.startswith("_") or c.startswith("r__") for c in out.columns)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        pytest.param("433127199001011238", "433127***********8", id="18"),
        pytest.param("11010519491231002X", "110105***********X", id="18-with-X"),
        pytest.param("433127900101123", "433127*********", id="15"),  # no sequence digit shown
        pytest.param("43312719900101123812", "433127*************2", id="20-disability"),
        pytest.param("4.33127E+17", "4.33127E+17", id="sci-11-chars"),  # readable, 6 digits as a masked ID
        pytest.param("4331271", "433***1", id="7-chars"),
        pytest.param("123456789", "123*****9", id="9-chars"),
        pytest.param("123456", "123456", id="6-chars-unchanged"),
        pytest.param("无", "无", id="1-char-unchanged"),
        pytest.param("", "", id="empty"),
        pytest.param(None, None, id="null"),
    ],
)
def test_mask_id_shapes(value: str | None, masked: str | None) -> None:
    out = pl.select(mask_id(pl.lit(pl.Series([value], dtype=pl.String)))).item()
    assert out == masked
    if value and len(value) >= 7 and "E+" not in value:  # scientific notation shows ≤ 6 digits already
        assert len(out) == len(value)
        assert out != value


def test_mask_id_never_leaves_a_full_valid_id() -> None:
    ids = pl.Series([with_check(f"4331271990010{i:04d}") for i in range(200)])
    masked = pl.select(mask_id(pl.lit(ids))).to_series()
    assert not masked.str.contains(r"\d{10}").any()


# ----------------------------------------------------------------------------------------
# Property test against python-stdnum
# ----------------------------------------------------------------------------------------

PER_EXAMPLE = 10_000
_W = np.array(WEIGHTS, dtype=np.int64)
_CHECK_CODES = np.frombuffer(CHECK_CHARS.encode(), dtype=np.uint8)
_REGIONS = np.array([[int(ch) for ch in c] for c in region_codes()], dtype=np.uint8)
_EPOCH = np.datetime64("1900-01-01")
_LAST_DAY = np.datetime64("2025-12-31")


def _birth_digits(rng: np.random.Generator, n: int) -> np.ndarray:
    """n × 8 digit array of random real dates 1900-01-01 … 2025-12-31 (YYYYMMDD)."""
    span = int((_LAST_DAY - _EPOCH).astype(int))
    days = _EPOCH + rng.integers(0, span + 1, n).astype("timedelta64[D]")
    text = np.datetime_as_string(days, unit="D").astype("S10")
    raw = np.frombuffer(text.tobytes(), dtype=np.uint8).reshape(n, 10)
    return raw[:, [0, 1, 2, 3, 5, 6, 8, 9]] - 48


def _with_checks(first17: np.ndarray) -> np.ndarray:
    """n × 18 ASCII codes: the 17 digits plus their check character."""
    checks = _CHECK_CODES[(first17.astype(np.int64) @ _W) % 11]
    return np.column_stack([first17 + 48, checks]).astype(np.uint8)


def _valid_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    region = _REGIONS[rng.integers(0, len(_REGIONS), n)]
    seq = rng.integers(0, 10, (n, 3)).astype(np.uint8)
    first17 = np.column_stack([region, _birth_digits(rng, n), seq]).astype(np.uint8)
    return _with_checks(first17)


def _random_strings(rng: np.random.Generator, n: int) -> np.ndarray:
    body = rng.integers(0, 10, (n, 17)).astype(np.uint8) + 48
    last = np.frombuffer(b"0123456789X", dtype=np.uint8)[rng.integers(0, 11, n)]
    return np.column_stack([body, last]).astype(np.uint8)


def _single_digit_corruptions(rng: np.random.Generator, base: np.ndarray) -> np.ndarray:
    out = base.copy()
    rows = np.arange(len(out))
    pos = rng.integers(0, 17, len(out))  # a digit of the first 17
    old = out[rows, pos] - 48
    new = (old + rng.integers(1, 10, len(out))) % 10  # always a different digit
    out[rows, pos] = new + 48
    return out


def _transpositions(rng: np.random.Generator, base: np.ndarray) -> np.ndarray:
    out = base.copy()
    rows = np.arange(len(out))
    pos = rng.integers(0, 16, len(out))  # swap digits pos and pos+1 (both among the first 17)
    a, b = out[rows, pos].copy(), out[rows, pos + 1].copy()
    # make the two digits differ so that the swap changes the number
    b = np.where(a == b, (b - 48 + 1) % 10 + 48, b).astype(np.uint8)
    out[rows, pos], out[rows, pos + 1] = b, a
    return out


def _to_strings(codes: np.ndarray) -> list[str]:
    return np.ascontiguousarray(codes).view("S18").ravel().astype("U18").tolist()


def _stdnum_valid(value: str) -> bool:
    try:
        return ric.is_valid(value)
    except KeyError:  # stdnum 2.2 fails on a few province-level codes (no "county" entry)
        return False


def _stdnum_birth(value: str) -> date | None:
    try:
        return ric.get_birth_date(value)
    except Exception:  # noqa: BLE001 - stdnum raises its own ValidationError subclasses
        return None


def test_property_against_stdnum_on_100k_ids() -> None:
    checked: list[int] = []

    @settings(max_examples=10, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(seed=st.integers(min_value=0, max_value=2**63 - 1))
    def run(seed: int) -> None:
        rng = np.random.default_rng(seed)
        quarter = PER_EXAMPLE // 4
        valid = _valid_ids(rng, quarter)
        groups = {
            "valid": valid,
            "random": _random_strings(rng, quarter),
            "corrupt": _single_digit_corruptions(rng, _valid_ids(rng, quarter)),
            "transposed": _transpositions(rng, _valid_ids(rng, quarter)),
        }
        values: list[str] = []
        kinds: list[str] = []
        for kind, codes in groups.items():
            strings = _to_strings(codes)
            values += strings
            kinds += [kind] * len(strings)
        out = decode(values, reference_date=REF).with_columns(pl.Series("kind", kinds))
        status = out["id_status"].to_list()
        digits = out["id_digits"].to_list()
        expected = out["id_expected_check"].to_list()
        births = out["id_birth"].to_list()
        knowns = out["id_known"].to_list()

        for value, kind, st_, dig, exp, born, known in zip(
            values, kinds, status, digits, expected, births, knowns, strict=True
        ):
            if st_ == "placeholder":  # 999999… / one repeated digit: nothing decoded
                assert dig is None
                continue
            # our check character equals stdnum's for the same 17 digits
            assert exp == ric.calc_check_digit(dig), value
            sd_birth = _stdnum_birth(dig)
            # birth dates agree wherever the date is real, not in the future and its digits
            # certain (a spreadsheet number rounded into the day leaves it unknown)
            if known is not None and known < 14:
                assert born is None, value
            elif sd_birth is not None and date(1880, 1, 1) <= sd_birth <= REF:
                assert born == sd_birth, value
            else:
                assert born is None, value
            # stdnum valid (and a plausible birth date) ⇒ ours valid (asked only where ours
            # is not valid: elsewhere the implication holds anyway)
            if st_ != "valid" and _stdnum_valid(value):
                assert not date(1880, 1, 1) <= ric.get_birth_date(value) <= REF, value
            # a reading that differs from the raw value is only ever an undone Excel float
            # image: the raw value is the double Excel stores for the …000 reading
            if dig != value:
                assert dig.endswith("000") and int(float(int(dig))) == int(value), value
            # ours valid ⇒ stdnum's checksum right and its birth date equals ours
            if st_ == "valid":
                assert dig[-1] == ric.calc_check_digit(dig), value
                assert ric.get_birth_date(dig) == born, value
            # everything built with the checksum is valid; single-digit errors and adjacent
            # transpositions are always caught by GB 11643's mod-11 check
            if kind == "valid":
                assert st_ == "valid", value
                assert dig == value, value
            elif kind in ("corrupt", "transposed"):
                assert st_ != "valid", value
                assert value[-1] != ric.calc_check_digit(value), value
        checked.append(len(values))

    run()
    assert len(checked) >= 10
    assert sum(checked) >= 100_000


def test_mask_keeps_an_excel_damaged_id_readable_without_revealing_more():
    import polars as pl

    from fanpin_cli.idnum import mask_id

    got = pl.select(mask_id(pl.Series(["4.33127E+17", "4.33127199001011E+17", "4.33127e17"]))).to_series().to_list()
    assert got == ["4.33127E+17", "4.33127…E+17", "4.33127E+17"]
    assert all("*" not in g for g in got)  # not "4.3******17"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), st.integers(0, 10**17 - 1)), max_size=40))
def test_check_chars_agrees_with_the_expression(values):
    """The numpy check characters (`check_chars`) equal GB 11643's for every 17-digit value, nulls kept."""
    from fanpin_cli.idnum import check_chars

    s = pl.Series("v", values, dtype=pl.Int64)
    expected = [None if v is None else check_char_value(f"{v:017d}") for v in values]
    assert check_chars(s).to_list() == expected


def check_char_value(first17: str) -> str:
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def test_a_file_reads_its_ids_alike_alone_or_beside_another():
    """Whether a column was held as numbers is decided per file: a file whose IDs were printed
    from spreadsheet numbers and one with typed IDs (one of which happens to be an exact
    double) decode the same in one frame as each alone."""
    typed = [f + check_char_value(f) for f in ("43312719900101123", "43312719800202124", "43312719750505123")]
    as_doubles = [str(int(float(v[:17] + "5"))) for v in typed]  # what a reader prints for a number cell
    a = pl.DataFrame({"source_file": ["a.csv"] * 3, "id_number": as_doubles})
    b = pl.DataFrame({"source_file": ["b.csv"] * 3, "id_number": [as_doubles[0], typed[1], typed[2]]})
    alone = pl.concat([with_id_columns(a, reference_date=REF), with_id_columns(b, reference_date=REF)])
    together = with_id_columns(pl.concat([a, b]), reference_date=REF)
    assert together.equals(alone)
    assert together["id_status"].to_list()[:3] == ["excel_float"] * 3
    assert together["id_status"].to_list()[4:] == ["valid", "valid"]


# Values of every shape an ID cell takes: plain IDs (valid, bad check, impossible or future
# birth, X), and what takes the whole reading — …000, 999999…, one repeated digit, scientific
# notation, 15 digits, full-width and spaced text, 20-digit 残疾人证号, junk, empty.
_SHAPES = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "433127199001011238", "11010519491231002X", "11010519491231002x",
                     "433127199013011234", "433127203001011236", "433101197608123000", "999999999999999999",
                     "111111111111111111", "000000000000000000", "4.33127E+17", "4.33127201309269E+017",
                     "433127900101123", "４３３１２７１９９００１０１１２３８", "433127 19900101 1238",
                     "43312719900101123811", "433127199001011238.0", "abc", "G433127199001011238"]),
    st.integers(10**16, 10**17 - 1).map(lambda v: f"{v}" + check_char_value(f"{v}")),
    st.integers(10**17, 10**18 - 1).map(str),
    st.text("0123456789X", min_size=14, max_size=20),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(_SHAPES, max_size=30), cells=st.lists(st.sampled_from(["number", "text", None]), max_size=30),
       with_cells=st.booleans())
def test_plain_ids_read_as_the_whole_reading_reads_them(values, cells, with_cells):
    """`with_id_columns` makes a plain ID's columns in one pass and reads only the other rows
    in full: every row equals the whole reading done on every row (`_read_ids`)."""
    from fanpin_cli.idnum import _clean_fast, _read_ids

    frame = pl.DataFrame({"id_number": values}, schema={"id_number": pl.String})
    if with_cells:
        frame = frame.with_columns(pl.Series("id_number_cell", (cells + [None] * len(values))[: len(values)],
                                             dtype=pl.String))
    got = with_id_columns(frame, reference_date=REF)
    whole = _read_ids(frame.with_columns(_clean_fast(frame["id_number"]).alias("id_clean")), "id_number", REF, "",
                      None, numeric_file(_clean_fast(frame["id_number"])))
    assert got.schema == whole.schema
    assert got.equals(whole)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(_SHAPES, max_size=30), cells=st.lists(st.sampled_from(["number", "text", None]), max_size=30),
       with_cells=st.booleans(), numbers=st.sampled_from([None, True, False]))
def test_the_reading_on_every_row_is_the_reading_on_its_rows(values, cells, with_cells, numbers):
    """`_read_ids` on a small frame makes the columns that apply to few rows (scientific
    notation, …000, spreadsheet numbers, 15 digits) on every row and keeps them where they apply:
    the same frame, column for column, as making them on those rows only (`rows.on_rows`)."""
    from fanpin_cli.idnum import _clean_fast, _read_ids

    frame = pl.DataFrame({"id_number": values}, schema={"id_number": pl.String})
    if with_cells:
        frame = frame.with_columns(pl.Series("id_number_cell", (cells + [None] * len(values))[: len(values)],
                                             dtype=pl.String))
    frame = frame.with_columns(_clean_fast(frame["id_number"]).alias("id_clean"),
                               pl.lit("a.csv").alias("source_file"))
    group = pl.col("source_file") if numbers is None else None
    apart = _read_ids(frame, "id_number", REF, "", group, numbers, every_row=False)
    every = _read_ids(frame, "id_number", REF, "", group, numbers, every_row=True)
    assert every.schema == apart.schema
    assert every.equals(apart)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), st.integers(-(10**18), 10**18 - 1),
                          st.integers(1, 10**6).map(lambda v: v * 10**12)), max_size=40),
       st.lists(st.one_of(st.none(), st.integers(-(10**18), 10**18 - 1)), max_size=40))
def test_numpy_digit_sums_agree_with_the_expressions(values, others):
    """`significant_digits_of` and `common_prefix_of` (numpy, for `_read_ids` on few rows) equal
    `significant_digits` and `common_prefix` (the polars definitions) on any Int64, nulls kept."""
    from fanpin_cli.idnum import (
        common_prefix,
        common_prefix_of,
        significant_digits,
        significant_digits_of,
    )

    a = pl.Series("a", values, dtype=pl.Int64)
    b = pl.Series("b", (others + values)[: len(values)], dtype=pl.Int64)
    frame = pl.DataFrame([a, b])
    assert significant_digits_of(a).to_list() == frame.select(significant_digits(pl.col("a"))).to_series().to_list()
    assert common_prefix_of(a, b).to_list() == frame.select(common_prefix(pl.col("a"), pl.col("b"))).to_series().to_list()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(_SHAPES, max_size=30), numbers=st.lists(st.integers(10**17, 10**18 - 1), max_size=6))
def test_the_form_found_while_cleaning_is_the_cleaned_ids_form(values, numbers):
    """`_cleaned` tells which folded IDs have the form `_FORM18` by matching only the values it
    cleaned: the same as matching every folded ID; `numeric_file` given it answers alike."""
    from fanpin_cli.idnum import _FORM18, _clean_fast, _cleaned

    raw = pl.Series("id", [*values, *(str(int(float(n))) for n in numbers)], dtype=pl.String)
    clean, form = _cleaned(raw)
    assert clean.equals(_clean_fast(raw))
    assert form.to_list() == clean.str.contains(_FORM18).fill_null(False).to_list()
    assert numeric_file(clean, form) == numeric_file(clean)


# What the IDs of a typed column that are not plain look like (`idfew`): every shape above, and
# the spreadsheet numbers as the loader writes a number cell's text (scientific notation with
# any digits, 16–20 digits, `.0`), 18 digits ending in 000, and numbers next to a power of two.
_ODD = st.one_of(
    _SHAPES,
    st.sampled_from(["433127901130123", "433127901201123", "000012345678901234", "\x1c43312719900101123811",
                     "43312719900101123811 ", "4.33127199001011E+19", "4.3312719900101101E+17"]),
    st.builds(lambda m, frac, e, plus, zero: f"{m}{'.' + frac if frac else ''}{'E' if m % 2 else 'e'}{plus}{zero}{e}",
              st.integers(0, 9), st.text("0123456789", max_size=17), st.integers(14, 20),
              st.sampled_from(["+", ""]), st.sampled_from(["0", ""])),
    st.integers(10**15, 10**20 - 1).map(str),
    st.integers(10**14, 10**15 - 1).map(lambda v: f"{v}000"),
    st.integers(10**14, 10**17).map(lambda v: f"{v}.0"),
    st.sampled_from([2**57, 2**58, 2**59]).flatmap(lambda p: st.integers(p - 3000, p + 3000)).map(str),
)


def _few_and_whole(values: list[str | None], cells: list[str | None] | None) -> tuple[pl.DataFrame | None, pl.DataFrame]:
    """`idfew.read_few` of `values` (None if it gives up) and `_read_ids`' columns, as frames."""
    from fanpin_cli.idfew import COLUMNS, read_few
    from fanpin_cli.idnum import _clean_fast, _read_ids

    frame = pl.DataFrame({"id_number": values}, schema={"id_number": pl.String})
    if cells is not None:
        frame = frame.with_columns(pl.Series("id_number_cell", cells, dtype=pl.String))
    frame = frame.with_columns(_clean_fast(frame["id_number"]).alias("id_clean"))
    whole = _read_ids(frame, "id_number", REF, "", None, False).select(COLUMNS)
    few = read_few(frame["id_clean"].to_list(), values, cells, REF)
    return (None if few is None else pl.DataFrame(few, schema=whole.schema)), whole


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(_ODD, max_size=30), cells=st.lists(st.sampled_from(["number", "text", None]), max_size=30),
       with_cells=st.booleans())
def test_few_ids_read_value_by_value_as_the_whole_reading_reads_them(values, cells, with_cells):
    """`idfew.read_few` (the IDs of a typed column that are not plain, when they are few) makes
    the columns `_read_ids` makes, value for value and in its types; it gives up only on a
    number next to a power of two."""
    few, whole = _few_and_whole(values, (cells + [None] * len(values))[: len(values)] if with_cells else None)
    if few is None:
        assert any(abs(int(float(v)) - p) < 10**9 for v in values if v and v.replace(".", "").isdigit()
                   for p in (2**57, 2**58, 2**59))
    else:
        assert few.equals(whole)


def test_few_ids_are_read_value_by_value_and_the_unsure_by_polars():
    """`read_few` reads the odd IDs a file usually has (missing, placeholder, 15 digits,
    scientific notation, …000, number cells, text around a number cell's digits that polars
    does not strip) as `_read_ids` does, and gives up on a number next to 2^57, which
    `with_id_columns` then reads by `_read_ids`."""
    from fanpin_cli.idfew import read_few
    from fanpin_cli.idnum import _clean_fast, _read_ids

    usual = [None, "999999999999999999", "433127900101123", "4.33127E+17", "4.33127201309269E+017",
             "433127201309269000", "433127199001011000", "43312719900101123811", "abc", "\x1c43312719900101123811",
             " 43312719900101123811\u3000"]
    few, whole = _few_and_whole(usual, ["text", "text", "text", "number", "number", "number", "text", "number",
                                        "text", "number", "number"])
    assert few is not None and few.equals(whole)
    assert read_few(["144115188075855872"], ["144115188075855872"], ["number"], REF) is None  # 2^57
    frame = pl.DataFrame({"id_number": ["144115188075855872", "433127199001011238"], "id_number_cell": ["number", "text"]})
    whole = _read_ids(frame.with_columns(_clean_fast(frame["id_number"]).alias("id_clean")), "id_number", REF, "",
                      None, False)
    assert with_id_columns(frame, reference_date=REF).equals(whole)


@pytest.mark.parametrize("ref", [REF, date(2024, 2, 29), date(2026, 1, 1), date(2026, 12, 31), date(2025, 2, 28)])
def test_the_age_from_the_birth_digits_is_the_age_of_the_birth_date(ref):
    """`_age_of_digits` (a plain ID's age, from its YYYYMMDD digits) equals `age_at` of the date
    on every day from 1880 to the reference date, and is null where there is no date."""
    from fanpin_cli.idnum import _age_of_digits, age_at

    days = pl.date_range(date(1880, 1, 1), ref, eager=True).alias("born")
    frame = days.to_frame().with_columns(pl.col("born").dt.strftime("%Y%m%d").cast(pl.Int32).alias("ymd"))
    frame = pl.concat([frame, pl.DataFrame({"born": [None], "ymd": [19900101]},
                                           schema={"born": pl.Date, "ymd": pl.Int32})])
    got = frame.select(_age_of_digits(pl.col("ymd"), pl.col("born"), ref).alias("a"), age_at(pl.col("born"), ref).alias("b"))
    assert got["a"].dtype == got["b"].dtype == pl.Int32
    assert got["a"].equals(got["b"])
    assert got["a"][-1] is None
