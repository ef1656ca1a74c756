"""Start-up weight and the speed-related invariants of the job (issue 14)."""

from __future__ import annotations

import subprocess
import sys


def _modules_after(code: str, *, whole: bool = False) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True,
    )
    return set(out.stdout.split()) if whole else {m.split(".")[0] for m in out.stdout.split()}


def test_report_process_imports_no_validation_stack() -> None:
    # The child that writes report.xlsx imports what the workbook needs: not pandera (and,
    # where they are installed, pandas and pyspark.pandas through it).
    loaded = _modules_after(
        "import fanpin_cli.report.background, fanpin_cli.report.writer, fanpin_cli.report.split, "
        "fanpin_cli.report.html"
    )
    assert "xlsxwriter" in loaded
    assert not loaded & {"pandera", "pandas", "pyspark"}


def test_report_process_imports_neither_rule_engine_nor_linking() -> None:
    # What the child imports for the per-area workbooks (flagging.households) and summary.html
    # (outputs.atomic_write_bytes) brings neither the rule engine, linking nor numpy along.
    loaded = _modules_after(
        "import fanpin_cli.report.background, fanpin_cli.report.writer, fanpin_cli.report.split, "
        "fanpin_cli.report.html, fanpin_cli.flagging.households", whole=True,
    )
    assert "fanpin_cli.flagging.households" in loaded
    assert not loaded & {"fanpin_cli.flagging.engine", "fanpin_cli.linking", "fanpin_cli.idnum", "numpy"}


def test_a_run_reads_its_first_file_before_importing_the_later_stages() -> None:
    # `fanpin run` checks its options and config and starts reading with what reading needs:
    # numpy, linking, the rule engine and the workbook writer are imported while the files are
    # read (pipeline._imported_meanwhile), the checks' pandera schemas once the roster is
    # indexed (pipeline.SCHEMAS, on a worker), not before. (A serial
    # run, whose first read comes before anything else: the modules seen by then.)
    code = (
        "import sys\n"
        "from fanpin_cli import cli, pipeline\n"
        "from fanpin_cli.config import load_config\n"
        "from fanpin_cli.resources import resource_dir\n"
        "cli._split_option('township')\n"
        "config = load_config(resource_dir('sample_data') / 'fanpin.toml')\n"
        "class Read(Exception): pass\n"
        "def first_read(spec):\n"
        "    print(' '.join(sorted(sys.modules)))\n"
        "    raise Read\n"
        "pipeline.load_input = first_read\n"
        "try:\n"
        "    pipeline.compute(config)\n"
        "except Exception:\n"
        "    pass\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    assert "polars" in loaded and "fanpin_cli.loaders" in loaded
    assert not loaded & {"numpy", "xlsxwriter", "pandera", "fanpin_cli.linking", "fanpin_cli.flagging.engine",
                         "fanpin_cli.report.writer", "fanpin_cli.schemas"}


# ---- shortcuts that must not change a single output value ------------------------------------

import hashlib  # noqa: E402

import polars as pl  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from fanpin_cli import keys, privacy  # noqa: E402

_PIECES = st.sampled_from([
    "0", "1", "9", "4", "０", "３", " ", "-", ".", "\u3000", "x", "X", "ｘ", "年", "结算", "，", "元",
    "433127199001011238", "4331270400200004", "43312719900101123812", "2026-11-30", " 2026-05-01 2026-06-01",
    "4331 2719 9001 0112 3X", "４３３１２７１９９００１０１１２３８", "37,467.20", "第6882行", "12:30:04",
])


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=12).map("".join))
def test_mask_text_skips_only_runs_too_short_to_mask(text: str) -> None:
    # mask_text looks only at runs of 14+ digits; every shorter run was left as it is anyway.
    reference = text if len(text) < privacy.MIN_DIGITS else privacy._RUN.sub(privacy._mask_run, text)
    assert privacy.mask_text(text) == reference
    if len(text) <= 60:  # (mask_series writes at most 64 stars for a run of digits alone)
        assert privacy.mask_series(pl.Series([text, None])).to_list() == [reference, None]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.lists(_PIECES, max_size=8).map("".join)), max_size=30), st.data())
def test_mask_series_once_per_distinct_value_equals_mask_text_per_cell(texts: list[str | None], data) -> None:
    # Values repeat in a column (reasons, 户编号): masked once per distinct value, then put
    # back in every row that holds it — the same as masking each cell on its own.
    texts = [t for t in texts if t is None or len(t) <= 60]
    column = texts + data.draw(st.lists(st.sampled_from(texts), max_size=20)) if texts else texts
    want = [None if t is None else privacy.mask_text(t) for t in column]
    series = pl.Series(column, dtype=pl.String)
    assert privacy.mask_series(series).to_list() == want
    assert series.to_list() == column  # the input is not changed


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.lists(_PIECES, max_size=8).map("".join)),
                          st.one_of(st.none(), st.lists(_PIECES, max_size=4).map("".join))), max_size=25))
def test_mask_frame_masks_every_text_column_as_mask_text_does_each_cell(rows: list[tuple]) -> None:
    # Every column of a frame is searched in one query; each text column still comes out as
    # mask_text of each of its cells, the key column and the numbers as they were.
    rows = [(a, b) for a, b in rows if (a is None or len(a) <= 60) and (b is None or len(b) <= 60)]
    texts = [a for a, _ in rows]
    frame = pl.DataFrame({
        "reason": texts, "household_id": [b for _, b in rows], "record_key": texts,
        "n": list(range(len(rows))),
    }, schema={"reason": pl.String, "household_id": pl.String, "record_key": pl.String, "n": pl.Int64})
    masked = privacy.mask_frame(frame)
    assert masked.columns == frame.columns and masked.dtypes == frame.dtypes
    for column in ("reason", "household_id"):
        assert masked[column].to_list() == [None if t is None else privacy.mask_text(t) for t in frame[column]]
    assert masked["record_key"].to_list() == texts  # a key column is never masked
    assert masked["n"].to_list() == frame["n"].to_list()


def test_keyed_hash_is_plain_keyed_blake2b() -> None:
    key = b"k" * 32
    values = ["medical_enrollment\x1fid:433127199001011238", "", "张三", None]
    want = [None if v is None else hashlib.blake2b(v.encode(), key=key, digest_size=keys.DIGEST).hexdigest()
            for v in values]
    series = pl.Series(values, dtype=pl.String)
    assert keys._hash_texts(series, key).to_list() == want
    assert keys._hash_texts(series, key, batch=1).to_list() == want  # batches end anywhere
    assert keys._hash_texts(series.drop_nulls(), key, batch=2).to_list() == [w for w in want if w is not None]
    assert keys._hash_texts(series.clear(), key).to_list() == []


def test_person_keys_reused_from_the_roster_are_the_same_keys() -> None:
    key = b"s" * 32
    roster = pl.Series(["433127199001011238", "43312719900101123x", None])
    known = keys.person_keys_known(roster, keys.person_key(roster, key))
    extract = pl.Series(["43312719900101123X", "110101200001011234", None, "433127199001011238"])
    assert keys.person_key(extract, key, known).to_list() == keys.person_key(extract, key).to_list()


def test_allocator_gives_memory_back_unless_the_user_set_it() -> None:
    # jemalloc (polars' allocator) reads its settings once, when polars is first loaded; polars
    # puts its own defaults first and what is already set after them (the last setting wins).
    code = "import fanpin_cli, os, polars; print(os.environ['_RJEM_MALLOC_CONF'])"
    env = {k: v for k, v in __import__("os").environ.items() if k != "_RJEM_MALLOC_CONF"}
    ours = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert ours.stdout.strip().endswith(",dirty_decay_ms:1000,muzzy_decay_ms:0")
    theirs = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env=env | {"_RJEM_MALLOC_CONF": "muzzy_decay_ms:5000"})
    assert theirs.stdout.strip().endswith(",muzzy_decay_ms:5000")
    assert "muzzy_decay_ms:0" not in theirs.stdout


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="0123456789Xx.E+ -张", max_size=40),
                          st.integers(0, 1100).map(lambda n: "1" * n)), max_size=20))
def test_mask_id_padded_stars_equal_stars_one_by_one(values: list[str | None]) -> None:
    from fanpin_cli.idnum import mask_id

    text = pl.col("v")
    n = text.str.len_chars().cast(pl.Int64)
    one_by_one = pl.lit("*").repeat_by((n - 7).clip(lower_bound=0)).list.join("")
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    ours = frame.select(mask_id(text)).to_series().to_list()
    # 15 characters (a first-generation ID): its last is a sequence digit, hidden with the rest.
    long = frame.select(
        pl.when(n == 15).then(text.str.slice(0, 6) + pl.lit("*" * 9))
        .when(n >= 14).then(text.str.slice(0, 6) + one_by_one + text.str.slice(-1, 1))).to_series().to_list()
    for value, got, want in zip(values, ours, long, strict=True):
        if want is not None and not (value or "").strip()[1:2] == ".":  # not E-notation
            assert got == want


# The writing phase (outputs.py): the cheaper paths write exactly what the plain ones did.
_ID_PIECES = st.sampled_from([
    "433127199001011238", "11010519491231002X", "11010519491231002x", "433127900101123", "43312719900101123812",
    "4.33127E+17", "4.33127199001011E+17", " 4.33127199001011e17 ", "4331271", "123456", "", "无", "张三",
    "４３３１２７１９９００１０１１２３８", "433127 199001011238", "43312719900101123", "4331271990010112389",
    "=4331271990010112", "-43312719900101123", "433127199001011238\n",
])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), _ID_PIECES, st.lists(_ID_PIECES, max_size=3).map("".join)), max_size=25))
def test_masked_ids_equal_mask_id_of_each_value(values: list[str | None]) -> None:
    # Plain 18-character IDs take a shortcut; every value still comes out as mask_id makes it.
    from fanpin_cli.idnum import mask_id
    from fanpin_cli.outputs import masked_ids

    series = pl.Series("id_number", values, dtype=pl.String)
    want = series.to_frame().select(mask_id(pl.col("id_number"))).to_series()
    got = masked_ids(series)
    assert got.name == "id_number" and got.dtype == pl.String
    assert got.to_list() == want.to_list()


def test_masked_ids_of_numbers_nulls_and_no_rows() -> None:
    from fanpin_cli.outputs import mask_columns, masked_ids

    numbers = pl.Series("id_number", [433127199001011238, None, 12345], dtype=pl.Int64)
    assert masked_ids(numbers).to_list() == ["433127***********8", None, "12345"]
    assert masked_ids(pl.Series("id_number", [None, None])).to_list() == [None, None]
    assert masked_ids(pl.Series("id_number", [], dtype=pl.String)).to_list() == []
    empty = pl.DataFrame(schema={"id_number": pl.String, "n": pl.Int64})
    assert mask_columns(empty, ["id_number", "absent"]).schema == empty.schema


def test_mask_table_equals_masking_every_column_after_the_ids() -> None:
    # mask_table does not search a masked ID column again: what it skips cannot hold an ID.
    from fanpin_cli.idnum import mask_id
    from fanpin_cli.outputs import mask_table

    ids = ["433127199001011238", "4.33127199001011E+17", "433127 199001011238 433127199001011238",
           "４３３１２７１９９００１０１１２３８", "43312719900101123812", "4331271", None, "证号433127199001011238"]
    frame = pl.DataFrame({
        "id_number": ids,
        "reason": [f"与 {v} 不符" if v else None for v in ids],
        "household_id": ["4331270400200004"] * len(ids),
        "record_key": ["ab433127199001011238cd"] * len(ids),
        "source_row": list(range(len(ids))),
    })
    want = privacy.mask_frame(frame.with_columns(mask_id(pl.col("id_number")).alias("id_number")))
    got = mask_table("links", frame)
    assert got.equals(want)
    assert not got["id_number"].str.contains("[0-9０-９]{7}").any()


def test_write_csv_writes_what_polars_writes_and_leaves_no_temp_file(tmp_path) -> None:
    import io

    from fanpin_cli.outputs import guard_formulas, write_csv

    frame = pl.DataFrame({"a": ["=1+1", "张三", None, "\t@x", "a,b\"c"], "n": [1.5, None, 3.0, 0.1, 2.0]})
    buffer = io.BytesIO()
    guard_formulas(frame).write_csv(buffer, include_bom=True)
    write_csv(frame, tmp_path / "x.csv")
    assert (tmp_path / "x.csv").read_bytes() == buffer.getvalue()
    write_csv(frame.clear(), tmp_path / "x.csv")  # replaced as a whole
    assert (tmp_path / "x.csv").read_bytes() == "\ufeffa,n\n".encode()
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]


def test_write_csv_that_fails_leaves_the_old_file(tmp_path, monkeypatch) -> None:
    from fanpin_cli.outputs import write_csv

    (tmp_path / "x.csv").write_text("old")

    def broken(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pl.DataFrame, "write_csv", broken)
    try:
        write_csv(pl.DataFrame({"a": ["1"]}), tmp_path / "x.csv")
    except OSError:
        pass
    else:
        raise AssertionError("the failure was not raised")
    assert (tmp_path / "x.csv").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]
