"""No output, log or console line holds a full ID — in any form — or lets one be rebuilt."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fanpin_cli.cli import app
from fanpin_cli.errors import InputFileError
from fanpin_cli.privacy import mask_text

from .hostile import full_ids_in, hostile_county, output_texts

runner = CliRunner()


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str]]:
    return hostile_county(tmp_path_factory.mktemp("hostile") / "county")


@pytest.fixture(scope="module")
def masked_run(county, tmp_path_factory):
    config, ids = county
    out = tmp_path_factory.mktemp("masked") / "out"
    result = runner.invoke(app, ["run", str(config), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output, ids


def test_the_scanner_finds_ids_in_every_form():
    ids = {"433127199001011238"}
    for text in ("x433127199001011238y", "４３３１２７１９９００１０１１２３８", "4331 2719 9001 0112 38",
                 "433127-19900101-1238", "残疾人证号43312719900101123812", "99433127199001011238",
                 "433127900101123"):
        assert full_ids_in(text, ids) == ids, text
    assert not full_ids_in(mask_text("残疾人证号43312719900101123812 ４３３１２７１９９００１０１１２３８"), ids)


def test_no_full_id_in_any_output_or_console_line(masked_run):
    out, console, ids = masked_run
    texts = output_texts(out)
    assert any(p.endswith("links.csv") for p in texts) and any(p.endswith(".xlsx") for p in texts)
    leaks = {path: full_ids_in(text, ids) for path, text in texts.items()}
    assert not {p: v for p, v in leaks.items() if v}
    assert not full_ids_in(console, ids)


def test_the_hostile_rows_reached_the_outputs_masked(masked_run):
    """The IDs typed in 姓名 (plain, full-width, spaced, 20-digit, in a longer run) are in
    links.csv — masked, not dropped."""
    out, _, _ = masked_run
    links = (out / "links.csv").read_text(encoding="utf-8-sig")
    assert "残疾人证" in links and "备注99" in links
    assert re.search(r"残疾人证[0-9]{6}\*{13}[0-9]", links)
    assert re.search(r"[０-９]{6}\*{11}[０-９Ｘ]", links)


def test_masked_ids_show_region_and_last_character_only(masked_run):
    """Sequence digits stay hidden wherever a birth date could be shown beside a masked ID."""
    out, console, _ = masked_run
    for path, text in {**output_texts(out), "console": console}.items():
        assert not re.search(r"\*[0-9０-９]{2,}", text), path  # at most one character after the stars
        assert not re.search(r"[0-9０-９]{7,}\*", text), path  # at most six before them


def test_full_ids_only_with_the_option_and_never_on_the_console(county, tmp_path):
    config, ids = county
    out = tmp_path / "full"
    result = runner.invoke(app, ["run", str(config), "--out", str(out), "--full-ids"])
    assert result.exit_code == 0, result.output
    shown = set().union(*(full_ids_in(t, ids) for t in output_texts(out).values()))
    assert shown  # the option works: the scanner sees them
    assert not full_ids_in(result.output, ids)
    assert not full_ids_in((out / "fanpin.log").read_text(encoding="utf-8"), ids)


@pytest.mark.parametrize("form", [
    "433127199001011238", "43312719900101123812", "４３３１２７１９９００１０１１２３８",
    "4331 2719 9001 0112 38", "4331271990010112381", "433127900101123", "x433127199001011238y",
])
def test_error_messages_mask_every_form(form):
    err = InputFileError(f"无法解析：'张三,{form},死亡'", file=f"公安{form}.csv", row=3)
    assert not full_ids_in(str(err), {"433127199001011238"})


def test_ids_command_cannot_be_rebuilt_from_what_it_shows():
    result = runner.invoke(app, ["ids", "433127199001011238", "--reference-date", "2026-11-30"])
    assert result.exit_code == 0
    line = result.output.strip().splitlines()[1]
    assert "1990-01-01" in line  # the birth date is shown …
    assert "433127***********8" in line and "1238" not in line  # … so the sequence digits are not


def _ids_left(shown: tuple[str, ...], mask, birth_digits: str = "19900101") -> list[str]:
    """Every ID of region 433127 born on `birth_digits` (the birth date and sex shown beside the
    masks) whose 18-digit and 15-digit forms `mask` as `shown`."""
    from stdnum.cn import ric

    left = []
    for seq in range(1000):
        first17 = f"433127{birth_digits}{seq:03d}"
        id18 = first17 + ric.calc_check_digit(first17)
        if seq % 2 == 1 and (mask(id18[:6] + id18[8:17]), mask(id18)) == shown:  # 男: odd
            left.append(id18)
    return left


@pytest.mark.parametrize("mask", [mask_text, lambda v: pl_mask_id(v)], ids=["text", "id column"])
def test_a_15_digit_id_beside_its_18_digit_form_cannot_be_narrowed_down(mask):
    """review.csv shows an extract's 15-digit ID beside the roster's 18-digit form, the birth
    date and sex beside them: a 15-digit ID's last digit is a sequence digit, so showing it
    would leave ~9 IDs possible. Hidden, as many remain as for an 18-digit ID alone (~45)."""
    id18 = "433127199001011232"
    shown = (mask(id18[:6] + id18[8:17]), mask(id18))
    left = _ids_left(shown, mask)
    assert id18 in left
    assert len(left) >= 30, (shown, len(left))


def pl_mask_id(value: str) -> str:
    import polars as pl

    from fanpin_cli.idnum import mask_id

    return pl.select(mask_id(pl.lit(value))).item()


def test_a_file_digest_holding_an_id_like_run_is_not_altered():
    """A sha256 is hex: by chance it can hold a run of 18 decimal digits that looks like an ID.
    summary.json keeps digests as they are (they identify the file, nobody), and masks the same
    text anywhere else."""
    from fanpin_cli.privacy import mask_data, mask_text

    digest = "ab" + "433127199001011238" + "c" * 44
    assert mask_text(digest) != digest
    masked = mask_data({"inputs": [{"sha256": digest, "file": digest}], "record_key": "433127199001011238"})
    assert masked["inputs"][0]["sha256"] == digest
    assert masked["inputs"][0]["file"] == mask_text(digest)
    assert masked["record_key"] == "433127199001011238"


@pytest.mark.parametrize("split", ["township", "village"])
def test_an_id_typed_as_a_township_or_village_name_is_masked_everywhere(tmp_path, split):
    # 乡镇 and 村 names make the 乡镇/村 workbooks' names, their titles and 汇总, summary.html:
    # an ID typed there is masked as it is in the flags (and the two agree on the area).
    import openpyxl

    from fanpin_cli.synth import generate_county

    folder = tmp_path / "county"
    generate_county(40, 5, folder)
    book = openpyxl.load_workbook(folder / "监测对象信息.xlsx")
    sheet = book.active
    header = [c.value for c in sheet[3]]
    town, village, household = (header.index(h) + 1 for h in ("乡(镇)", "行政村", "户编号"))
    first = sheet.cell(4, household).value
    ids = {"433127195007075218", "433127195107085288"}
    for row in range(4, sheet.max_row + 1):
        if sheet.cell(row, household).value == first:
            sheet.cell(row, town).value = "433127195007075218"
            sheet.cell(row, village).value = "433127195107085288"
    book.save(folder / "监测对象信息.xlsx")
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(folder / "fanpin.toml"), "--out", str(out), "-q", "--split", split,
                                 "--no-history"])
    assert result.exit_code == 0, result.output
    names = "\n".join(str(p.relative_to(out)) for p in out.rglob("*"))
    assert not full_ids_in(names, ids)
    for path, text in output_texts(out).items():
        assert not full_ids_in(text, ids), path
    assert any("_433127___________8_" in name for name in names.splitlines())  # that area's own workbook ("*": "_")


@pytest.mark.parametrize("text", [
    "433127\t195002111718",                # cells pasted from a spreadsheet
    "433127\n195008175907",                # Alt+Enter inside a cell
    "4331 2719  5108 1859 77",             # a double space
    "433127－195102121788",                # a full-width hyphen
    "433127—195102121788",                 # a dash
    "433127\u200b195102121788",            # a zero-width space
    "433127\u2009195102121788",            # a thin space
    "2026-11-30 433127 19510322 2476",     # a date, then a spaced ID
    "彭195208196040",                      # no region code (the county's, shown beside it)
])
def test_ids_split_or_shortened_as_typed_are_masked_in_text_and_frames(text):
    import polars as pl

    from fanpin_cli.privacy import mask_frame

    digits = "".join(ch for ch in text if ch.isdigit())[-12:]  # the birth date on
    assert digits[:-1] not in "".join(ch for ch in mask_text(text) if ch.isdigit())
    masked = mask_frame(pl.DataFrame({"name": [text, "张三"]}))["name"].to_list()
    assert masked == [mask_text(text), "张三"]


@pytest.mark.parametrize("text", ["结算 2026-11-30 2026-12-01，金额 9342.50 元，户编号 4331270400200004",
                                  "电话 13912345678", "1200 3400 5600 7800", "2026-05-01 2026-06-01 2026-07-01"])
def test_numbers_that_are_no_id_stay_as_they_are(text):
    assert mask_text(text) == text


def test_an_id_in_the_county_name_or_a_file_name_reaches_no_history_or_history_console(tmp_path):
    """The history kept the county, the input file names, the config's name and the output
    folder as written (its links masked them): an ID typed into any reached the file and
    `fanpin history`'s title. Stored masked; its runs are looked up by the same masked name."""
    import duckdb

    from fanpin_cli.synth import generate_county

    folder = tmp_path / "county"
    generate_county(30, 5, folder)
    ids = {"433127198212278173", "433127199509300479"}
    (folder / "公安_户籍注销.csv").rename(folder / "公安_433127199509300479.csv")
    config = folder / "fanpin.toml"
    text = config.read_text(encoding="utf-8").replace("公安_户籍注销.csv", "公安_433127199509300479.csv")
    config.write_text(re.sub(r'county = "[^"]*"', 'county = "永顺县433127198212278173"', text), encoding="utf-8")
    for month in (1, 2):
        out = tmp_path / f"out{month}"
        result = runner.invoke(app, ["run", str(config), "--out", str(out), "-q"])
        assert result.exit_code == 0, result.output
    with duckdb.connect(str(folder / "fanpin-history.duckdb"), read_only=True) as con:
        for table, in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
            rows = con.execute(f'SELECT * FROM "{table}"').fetchall()
            assert not full_ids_in("\n".join(map(str, rows)), ids), table
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (1,)  # the same county and month: replaced
    shown = runner.invoke(app, ["history", str(config)])
    assert shown.exit_code == 0, shown.output
    assert not full_ids_in(shown.output, ids) and "永顺县433127" in shown.output


@pytest.mark.parametrize("args", [
    ["history", "{config}", "{id}"],                     # --id forgotten
    ["run", "{config}", "{id}"],
    ["{id}"],                                            # no such command
    ["run", "{config}", "--split", "{id}"],
    ["validate", "{csv}", "--sector", "{id}"],
    ["feedback", "{config}", "{csv}", "--date", "{id}"],
])
def test_an_id_typed_on_the_command_line_is_not_echoed(args, tmp_path):
    """Usage errors quote what was typed (click's `Got unexpected extra argument(s) (…)`,
    `No such command`, fanpin's own `--sector「…」`): an ID typed by mistake was printed in full."""
    from fanpin_cli.resources import resource_dir

    sample = resource_dir("sample_data")
    full = "433127198212278173"
    typed = [a.format(config=sample / "fanpin.toml", csv=sample / "公安_户籍注销.csv", id=full) for a in args]
    result = runner.invoke(app, typed)
    assert full not in result.output and "433127" in result.output, result.output
