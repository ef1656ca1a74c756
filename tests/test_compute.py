"""`fanpin_cli.compute` (the whole job in memory), `write_outputs`, the declared tables and the
record keys, on the bundled sample county and counties made from it."""

from __future__ import annotations

import builtins
import multiprocessing
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import polars as pl
import pytest

import fanpin_cli
from fanpin_cli.config import InputSpec, RunConfig, load_config
from fanpin_cli.pipeline import load_input
from fanpin_cli.resources import resource_dir
from fanpin_cli.tables import CSV_TABLES, TABLES

SAMPLE = resource_dir("sample_data")
KEY = b"k" * 32


def _in_memory_config(folder: Path = SAMPLE) -> RunConfig:
    """The sample county's config built in memory (no fanpin.toml read)."""
    parsed = load_config(SAMPLE / "fanpin.toml")
    return RunConfig(
        config_path=Path("/nonexistent/fanpin.toml"),
        county=parsed.county,
        period=parsed.period,
        reference_date=parsed.reference_date,
        roster=parsed.roster,
        extracts=list(parsed.extracts),
        rules=dict(parsed.rules),
    )


@pytest.fixture(scope="module")
def artifacts():
    return fanpin_cli.compute(_in_memory_config(), key=KEY)


def test_compute_writes_nothing_and_starts_no_thread_or_process(monkeypatch):
    def refuse(what):
        def _refuse(*args, **kwargs):
            raise AssertionError(f"compute() must not {what}")
        return _refuse

    real_open = builtins.open

    def read_only_open(file, mode="r", *args, **kwargs):
        if any(ch in mode for ch in "wax+"):
            raise AssertionError(f"compute() opened {file} for writing")
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", read_only_open)
    monkeypatch.setattr(os, "replace", refuse("replace files"))
    monkeypatch.setattr(os, "rename", refuse("rename files"))
    monkeypatch.setattr(os, "mkdir", refuse("make folders"))
    monkeypatch.setattr(tempfile, "mkstemp", refuse("make temp files"))
    monkeypatch.setattr(threading.Thread, "start", refuse("start a thread"))
    monkeypatch.setattr(multiprocessing.Process, "start", refuse("start a process"))
    monkeypatch.setattr(subprocess, "Popen", refuse("start a process"))
    before = sorted(p.name for p in SAMPLE.iterdir())
    result = fanpin_cli.compute(_in_memory_config())
    assert sorted(p.name for p in SAMPLE.iterdir()) == before
    assert result.links.height == sum(i.rows_read for i in result.summary.inputs[1:])
    assert result.flags.height > 0 and result.issues.height > 0 and result.review.height > 0


def test_every_table_conforms_to_its_declaration(artifacts):
    for name in ("links", "flags", "issues", "review", "stocktake", "scorecard"):
        TABLES[name].validate(getattr(artifacts, name))
    TABLES["stocktake_counts"].validate(artifacts.stocktake_counts)
    TABLES["link_counts"].validate(artifacts.link_counts)


def test_declaration_rejects_a_bad_table(artifacts):
    import pandera.errors as pa_errors

    bad = artifacts.links.with_columns(pl.lit("maybe").alias("match_status"))
    with pytest.raises(pa_errors.SchemaErrors):
        TABLES["links"].validate(bad)
    with pytest.raises(pa_errors.SchemaErrors):
        TABLES["links"].validate(artifacts.links.drop("record_key"))


def test_summary_is_typed(artifacts):
    s = artifacts.summary
    assert s.county == "永顺县" and s.inputs[0].sector == "roster"
    assert {r.rule_id for r in s.rules} >= {"MED_UNINSURED", "CIV_CANDIDATE"}
    assert s.to_dict()["rules"][0]["text"].endswith("人")


def test_record_keys_are_never_ids(artifacts):
    ids = set(artifacts.links["id_number"].drop_nulls().to_list())
    for name in ("links", "flags", "issues", "review"):
        keys = artifacts.__getattribute__(name)["record_key"]
        assert keys.null_count() == 0, name
        assert keys.str.contains(r"^[0-9a-f]{16}$").all(), name
        assert not ids & set(keys.to_list())
    assert artifacts.flags["record_key"].n_unique() == artifacts.flags.height
    assert artifacts.review["record_key"].n_unique() == artifacts.review.height


# ---------------------------------------------------------------------------------------------
# Counties made from the sample: every file as CSV, in another order, under another name.


def _as_csv(spec: InputSpec, path: Path, *, order: str = "keep", head: int | None = None) -> InputSpec:
    loaded = load_input(spec)
    frame = loaded.frame.drop("source_file", "source_row", "id_number_cell", strict=False)
    frame = frame.rename({c: loaded.headings.get(c, c) for c in frame.columns})
    if order == "shuffle":
        frame = frame.sample(fraction=1.0, shuffle=True, seed=7)
    if head is not None:
        frame = frame.head(head)
    frame.write_csv(path)
    return InputSpec(spec.sector, path, path.name)


def _county(tmp: Path, *, order: str, prefix: str, extract_rows: int | None = None) -> RunConfig:
    tmp.mkdir(parents=True, exist_ok=True)
    base = _in_memory_config()
    roster = _as_csv(base.roster, tmp / f"{prefix}roster.csv", order=order)
    extracts = [
        _as_csv(s, tmp / f"{prefix}{i}_{s.sector}.csv", order=order, head=extract_rows)
        for i, s in enumerate(base.extracts)
    ]
    return RunConfig(tmp / "fanpin.toml", base.county, base.period, base.reference_date, roster, extracts,
                     dict(base.rules))


def test_keys_do_not_depend_on_row_order_or_file_names(tmp_path):
    a = fanpin_cli.compute(_county(tmp_path / "a", order="keep", prefix="本月_"), key=KEY)
    b = fanpin_cli.compute(_county(tmp_path / "b", order="shuffle", prefix="下月_"), key=KEY)

    def by_key(frame: pl.DataFrame, cols: list[str]) -> set[tuple]:
        return set(frame.select("record_key", *cols).rows())

    assert a.links["record_key"].n_unique() == a.links.height
    assert by_key(a.links, ["sector", "match_status", "household_id"]) == by_key(
        b.links, ["sector", "match_status", "household_id"]
    )
    assert by_key(a.flags, ["rule_id", "household_id"]) == by_key(b.flags, ["rule_id", "household_id"])
    assert by_key(a.issues, ["check_id"]) == by_key(b.issues, ["check_id"])
    assert set(a.review["record_key"]) == set(b.review["record_key"])
    # Another county key: other keys.
    c = fanpin_cli.compute(_county(tmp_path / "c", order="keep", prefix="本月_"), key=b"x" * 32)
    assert not set(a.links["record_key"]) & set(c.links["record_key"])


def test_one_row_extracts_write_every_csv_with_full_columns(tmp_path, artifacts):
    small = fanpin_cli.compute(_county(tmp_path / "small", order="keep", prefix="", extract_rows=1), key=KEY)
    assert all(i.rows_read == 1 for i in small.summary.inputs[1:])
    full_out, small_out = tmp_path / "full_out", tmp_path / "small_out"
    fanpin_cli.write_outputs(artifacts, full_out)
    fanpin_cli.write_outputs(small, small_out)
    for name in CSV_TABLES:
        file = TABLES[name].file
        full_cols = pl.read_csv(full_out / file, n_rows=0).columns
        small_cols = pl.read_csv(small_out / file, n_rows=0).columns
        assert full_cols == small_cols == TABLES[name].csv_columns, file
    assert (small_out / "report.xlsx").is_file() and (small_out / "summary.json").is_file()


def test_write_outputs_masks_ids(tmp_path, artifacts):
    out = tmp_path / "out"
    fanpin_cli.write_outputs(artifacts, out)
    full = set(artifacts.links["id_number"].drop_nulls().str.strip_chars().to_list())
    full = {i for i in full if len(i) == 18}
    text = "".join(p.read_text(encoding="utf-8-sig") for p in out.glob("*.csv"))
    assert full and not [i for i in full if i in text]


def test_on_rules_comes_before_on_flags_with_the_same_result(artifacts):
    """`on_rules` gets the rules' result as soon as they are evaluated, before the 数据质量 list
    exists; `on_flags` gets the same result once the quality checks are done, with the list."""
    from concurrent.futures import ThreadPoolExecutor

    seen = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        out = fanpin_cli.compute(_in_memory_config(), executor=pool, key=KEY,
                                 on_rules=lambda r: seen.append(("rules", r, r.quality_detail, r.review)),
                                 on_flags=lambda r: seen.append(("flags", r, r.quality_detail, r.review)))
    assert [s[0] for s in seen] == ["rules", "flags"]
    (_, early, detail_then, review_then), (_, late, detail_now, review_now) = seen
    assert early is late and early.flags is out.flags
    assert detail_then is None and detail_now is out.quality_detail and detail_now.height
    # the review queue (made on the main thread beside the rules in a small county) comes with it
    assert review_then is not None and review_then is review_now and review_then.height


def test_a_workbook_started_from_the_rules_alone_gets_the_quality_list_with_the_rest(tmp_path, artifacts):
    """The workbook started early (`outputs.early_workbook`: before the 数据质量 list exists) is,
    part for part, the one started once the quality checks are done."""
    import zipfile
    from types import SimpleNamespace

    from fanpin_cli.outputs import early_workbook, start_workbook
    from fanpin_cli.pipeline import FlagResult

    a = artifacts
    config = SimpleNamespace(county=a.summary.county, period=a.summary.period,
                             reference_date=_in_memory_config().reference_date)
    parts = {}
    for name, detail in (("early", None), ("late", a.quality_detail)):
        flagged = FlagResult(a.flags, a.review, a.rule_counts, a.area_counts, a.rules, a.members, quality_detail=detail)
        assert early_workbook(flagged)
        (tmp_path / name).mkdir()
        report = start_workbook(config, flagged, tmp_path / name, split="none")
        fanpin_cli.write_outputs(a, tmp_path / name, report=report, split="none")
        with zipfile.ZipFile(tmp_path / name / "report.xlsx") as z:
            parts[name] = {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}
    assert a.quality_detail is not None and a.quality_detail.height
    assert parts["early"] == parts["late"]


@pytest.mark.parametrize(("broken", "reported"), [
    # the roster's own error first, whatever else fails
    (("监测对象信息.xlsx", "残联_持证残疾人.csv"), "监测对象信息.xlsx"),
    # then the extracts as the config lists them: the big enrollment file (read first) is listed
    # before the small disability file, which fails first
    (("医保_参保登记.csv", "残联_持证残疾人.csv"), "医保_参保登记.csv"),
    (("残联_持证残疾人.csv",), "残联_持证残疾人.csv"),
])
def test_errors_are_reported_as_the_files_are_listed(tmp_path, broken, reported):
    from concurrent.futures import ThreadPoolExecutor

    from fanpin_cli.errors import FanpinError

    county = tmp_path / "county"
    county.mkdir()
    for f in SAMPLE.iterdir():
        if f.is_file():
            (county / f.name).write_bytes(f.read_bytes())
    for name in broken:  # no heading the sector knows
        (county / name).write_bytes(b"\x50\x4b\x03\x04 not a workbook" if name.endswith(".xlsx") else "甲,乙\n1,2\n".encode())
    config = load_config(county / "fanpin.toml")
    with ThreadPoolExecutor(max_workers=2) as pool, pytest.raises(FanpinError) as caught:
        fanpin_cli.compute(config, executor=pool, key=KEY)
    assert reported in str(caught.value) or caught.value.file == reported


def test_big_files_are_linked_one_after_another(monkeypatch, artifacts):
    """Files of LINK_APART_BYTES or more are linked one at a time, the biggest first (two big
    linkings side by side made the 200,000-household county's peak); same links as otherwise."""
    from concurrent.futures import ThreadPoolExecutor

    import fanpin_cli.linking as linking
    from fanpin_cli import pipeline

    monkeypatch.setattr(pipeline, "LINK_APART_BYTES", 0)  # every extract counts as big
    real_link, lock, running, most, order = linking.link, threading.Lock(), [0], [0], []

    def watched(roster, extract, **kw):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            order.append(extract["source_file"][0])
        try:
            time.sleep(0.05)  # long enough that two linkings allowed side by side would overlap
            return real_link(roster, extract, **kw)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(linking, "link", watched)
    config = _in_memory_config()
    with ThreadPoolExecutor(max_workers=2) as pool:
        out = fanpin_cli.compute(config, executor=pool, key=KEY)
    assert most[0] == 1
    sizes = {spec.source_file: spec.path.stat().st_size for spec in config.extracts}
    assert order == sorted(sizes, key=lambda f: -sizes[f])
    assert out.links.equals(artifacts.links)


@pytest.mark.parametrize("apart_rows", [0, 10**9], ids=["a file set apart", "none set apart"])
def test_the_stocktake_and_summaries_made_beside_the_checks_are_those_made_after_them(
        monkeypatch, artifacts, apart_rows):
    """With no file set apart (APART_ROWS) the rows per village and the stock-take run on the
    workers beside the checks, the file summaries and the review queue are made while they run;
    with one set apart all of it comes after the checks (the review queue after the rules).
    Either way the same tables and summary as one after another."""
    from concurrent.futures import ThreadPoolExecutor

    from fanpin_cli import pipeline

    monkeypatch.setattr(pipeline, "APART_ROWS", apart_rows)
    with ThreadPoolExecutor(max_workers=2) as pool:
        out = fanpin_cli.compute(_in_memory_config(), executor=pool, key=KEY)
    for name in ("stocktake", "stocktake_counts", "scorecard", "issues", "flags", "review", "link_counts",
                 "quality_detail"):
        assert getattr(out, name).equals(getattr(artifacts, name)), name
    mine, theirs = out.summary.to_dict(), artifacts.summary.to_dict()
    for told in (mine, theirs):  # the times, and what writing (an earlier test's) adds
        told.pop("stages"), told.pop("report_process_peak_mb", None)
    assert mine == theirs


def test_the_in_memory_engine_gives_what_the_streaming_engine_gives(artifacts):
    """A small county's queries run on polars' in-memory engine (`in_memory_queries`); an engine
    the user chose is kept: here the streaming one, which "auto" would pick. The same tables."""
    pl.Config.set_engine_affinity("streaming")
    try:
        out = fanpin_cli.compute(_in_memory_config(), key=KEY)
        assert os.environ["POLARS_ENGINE_AFFINITY"] == "streaming"  # the user's choice, kept and left
    finally:
        pl.Config.set_engine_affinity(None)
    for name in ("links", "flags", "issues", "review", "stocktake", "scorecard", "rule_counts", "area_counts",
                 "quality_detail", "stocktake_counts", "link_counts", "persons"):
        assert getattr(out, name).equals(getattr(artifacts, name)), name


ENROLL, CLAIMS = "医保_参保登记.csv", "医保_结算明细.csv"  # the sample's two biggest extracts


@pytest.mark.parametrize(("fails", "reported"), [
    # the biggest file cannot be read (a 600 KB CSV without a heading the sector knows)
    ({ENROLL: "read"}, ENROLL),
    # the biggest file fails while it is linked
    ({ENROLL: "link"}, ENROLL),
    # both fail while linked: the first listed (the smaller, linked after the other) with its own error
    ({ENROLL: "link", CLAIMS: "link"}, CLAIMS),
], ids=["bigger unreadable", "bigger fails linking", "both fail linking"])
def test_a_big_file_that_fails_neither_skips_nor_speaks_for_the_big_files_after_it(
        tmp_path, monkeypatch, fails, reported):
    """Big files are linked one after another (`after` in the task graph: order only). When the
    first of them fails, each after it is still linked on its own, one at a time, and the error
    raised (the first in the config's order) is the failing file's own."""
    import dataclasses
    from concurrent.futures import ThreadPoolExecutor

    import fanpin_cli.linking as linking
    from fanpin_cli import pipeline
    from fanpin_cli.errors import FanpinError, InputFileError

    county = tmp_path / "county"
    county.mkdir()
    for f in SAMPLE.iterdir():
        if f.is_file():
            (county / f.name).write_bytes(f.read_bytes())
    for name, how in fails.items():
        if how == "read":
            (county / name).write_bytes(("甲,乙\n" + "1,2\n" * 150_000).encode("gbk"))
    config = load_config(county / "fanpin.toml")
    # the smaller file listed first: an error carried over from the bigger one would be raised first
    listed = {spec.source_file: spec for spec in config.extracts}
    extracts = [listed[CLAIMS], listed[ENROLL], *(s for s in config.extracts if s.source_file not in (CLAIMS, ENROLL))]
    config = dataclasses.replace(config, extracts=extracts)
    sizes = {spec.source_file: spec.path.stat().st_size for spec in extracts}
    assert max(sizes, key=sizes.get) == ENROLL and sizes[ENROLL] > sizes[CLAIMS] > max(
        size for name, size in sizes.items() if name not in (ENROLL, CLAIMS))

    monkeypatch.setattr(pipeline, "LINK_APART_BYTES", 0)  # every extract counts as big: one chain
    real_link, lock, running, most, linked = linking.link, threading.Lock(), [0], [0], {}

    def watched(roster, extract, **kw):
        source = extract["source_file"][0]
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            time.sleep(0.05)  # long enough that two linkings allowed side by side would overlap
            if fails.get(source) == "link":
                raise InputFileError(f"关联失败（{source}）", file=source)
            links = real_link(roster, extract, **kw)
            linked[source] = (extract.height, links.height)
            return links
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(linking, "link", watched)
    with ThreadPoolExecutor(max_workers=2) as pool, pytest.raises(FanpinError) as caught:
        fanpin_cli.compute(config, executor=pool, key=KEY)
    assert caught.value.file == reported
    if fails[reported] == "link":
        assert caught.value.message == f"关联失败（{reported}）"
    # every other file linked, one at a time, every row of it
    assert set(linked) == set(sizes) - set(fails)
    assert all(rows == links for rows, links in linked.values())
    assert most[0] == 1


@pytest.mark.parametrize("big", [False, True])
def test_the_workbook_starts_with_the_rules_only_in_a_small_county(tmp_path, monkeypatch, big):
    """A small county's report.xlsx starts as soon as the rules are evaluated (its 数据质量 list
    not known yet); a county with a file of LINK_APART_BYTES or more starts it once the checks
    are done (its big file is checked after the rules, at their memory peak), whatever its
    flags number."""
    import fanpin_cli.outputs as outputs
    from fanpin_cli import pipeline

    county = tmp_path / "county"
    county.mkdir()
    for f in SAMPLE.iterdir():
        if f.is_file():
            (county / f.name).write_bytes(f.read_bytes())
    if big:
        monkeypatch.setattr(pipeline, "LINK_APART_BYTES", 0)  # every file counts as big
    real, started = outputs.start_workbook, []

    def spy(config, result, *args, **kwargs):
        started.append(result.quality_detail is None)  # None: started before the checks were done
        return real(config, result, *args, **kwargs)

    monkeypatch.setattr(outputs, "start_workbook", spy)
    pipeline.run_job(load_config(county / "fanpin.toml"), tmp_path / "out", history=False)
    assert started == [not big]
    assert (tmp_path / "out" / "report.xlsx").is_file()


def test_an_error_in_the_on_rules_hook_is_the_writings_not_the_rules():
    """`on_rules` runs in the rules' thread (or beside them), but what goes wrong in it (the
    caller's workbook failing to start) is said as an error of 写出结果, not of 预警规则."""
    from concurrent.futures import ThreadPoolExecutor

    from fanpin_cli.errors import InternalError

    def broken(_result):
        raise OSError("disk gone")

    with ThreadPoolExecutor(max_workers=2) as pool, pytest.raises(InternalError) as caught:
        fanpin_cli.compute(_in_memory_config(), executor=pool, key=KEY, on_rules=broken)
    assert caught.value.stage == "写出结果"
    assert isinstance(caught.value.__cause__, OSError)


def _at_once(fn, hold: float = 0.05):
    """`fn` wrapped to count how many of its calls run at once (`most[0]`: the most), each held
    `hold` seconds: long enough that two calls allowed side by side would overlap."""
    lock, running, most = threading.Lock(), [0], [0]

    def wrapped(*args, **kw):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            time.sleep(hold)
            return fn(*args, **kw)
        finally:
            with lock:
                running[0] -= 1

    return wrapped, most


def test_a_small_countys_checks_run_two_at_a_time_beside_its_rules_with_the_same_issues(monkeypatch) -> None:
    # `run_job` gives a small county's compute SMALL_WORKERS: the rules on one, the checks on two
    from concurrent.futures import ThreadPoolExecutor

    from fanpin_cli import pipeline, quality

    config = load_config(SAMPLE / "fanpin.toml")
    alone = fanpin_cli.compute(config, key=KEY)  # one after another on this thread
    watched, most = _at_once(quality.check_file)
    monkeypatch.setattr(quality, "check_file", watched)
    with ThreadPoolExecutor(max_workers=pipeline.SMALL_WORKERS) as pool:
        beside = fanpin_cli.compute(config, executor=pool, key=KEY)
    assert most[0] >= 2  # (with WORKERS: one at a time beside the rules)
    assert beside.issues.equals(alone.issues, null_equal=True)


@pytest.mark.parametrize(("apart", "workers"), [(None, 3), (0, 2)])  # small county; every file big
def test_the_run_gives_a_small_county_one_worker_more(monkeypatch, tmp_path, apart, workers) -> None:
    from fanpin_cli import pipeline

    made: list[int] = []
    real = pipeline.ThreadPoolExecutor

    def recorded(max_workers=None, **kw):
        made.append(max_workers)
        return real(max_workers=max_workers, **kw)

    monkeypatch.setattr(pipeline, "ThreadPoolExecutor", recorded)
    if apart is not None:
        monkeypatch.setattr(pipeline, "LINK_APART_BYTES", apart)
    pipeline.run_job(load_config(SAMPLE / "fanpin.toml"), tmp_path / "out", split="none", history=False)
    assert max(made) == workers  # compute's pool: the run's other executors have one thread


def test_a_small_countys_schemas_are_imported_once_its_roster_is_indexed_a_big_countys_at_its_checks(
        monkeypatch) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from fanpin_cli import linking, pipeline

    config = load_config(SAMPLE / "fanpin.toml")
    real_index, events = linking.roster_index, []
    monkeypatch.setattr(linking, "roster_index", lambda frame: events.append("indexed") or real_index(frame))
    real_import = pipeline._import_quietly
    monkeypatch.setattr(pipeline, "_import_quietly", lambda name: events.append(name) or real_import(name))
    with ThreadPoolExecutor(max_workers=pipeline.SMALL_WORKERS) as pool:
        fanpin_cli.compute(config, executor=pool, key=KEY)
    assert pipeline.SCHEMAS in events and events.index("indexed") < events.index(pipeline.SCHEMAS)
    assert pipeline.SCHEMAS not in [step.args[0] for step in pipeline._imported_meanwhile()]  # not beside the reads
    events.clear()
    monkeypatch.setattr(pipeline, "LINK_APART_BYTES", 0)  # every file counts as big
    with ThreadPoolExecutor(max_workers=pipeline.WORKERS) as pool:
        fanpin_cli.compute(config, executor=pool, key=KEY)
    assert "indexed" in events and pipeline.SCHEMAS not in events


@pytest.mark.parametrize("big", [False, True])
def test_a_small_countys_links_csv_is_written_once_its_links_are_final(monkeypatch, tmp_path, big) -> None:
    """A small county's links.csv is written as soon as the links are final (`on_links`, on the
    history's thread, while the rules run), not beside the workbooks at the end; the file is the
    one `write_outputs` writes from the artifacts' links. A big county writes it at the end (its
    masked copy is not held at its memory peak)."""
    import fanpin_cli.outputs as outputs
    from fanpin_cli import pipeline

    early: list[str] = []
    real = pipeline.write_table_csv
    monkeypatch.setattr(pipeline, "write_table_csv",
                        lambda name, *args, **kwargs: early.append(name) or real(name, *args, **kwargs))
    if big:
        monkeypatch.setattr(pipeline, "LINK_APART_BYTES", 0)  # every file counts as big
    out = tmp_path / "out"
    result = pipeline.run_job(load_config(SAMPLE / "fanpin.toml"), out, split="none", history=False)
    assert early == ([] if big else ["links"])
    again = tmp_path / "again"
    again.mkdir()
    outputs.write_table_csv("links", result.artifacts.links, again)
    assert (out / "links.csv").read_bytes() == (again / "links.csv").read_bytes()


def test_write_outputs_waits_for_a_table_written_already_and_raises_its_error(tmp_path, artifacts) -> None:
    from concurrent.futures import Future

    from fanpin_cli.outputs import write_outputs

    done: Future = Future()
    done.set_result(tmp_path / "links.csv")
    write_outputs(artifacts, tmp_path / "a", split="none", written={"links": done})
    assert not (tmp_path / "a" / "links.csv").exists()  # written by whoever set the future, not here
    assert (tmp_path / "a" / "flags.csv").exists()
    failed: Future = Future()
    failed.set_exception(OSError(28, "No space left on device"))
    with pytest.raises(OSError, match="No space"):
        write_outputs(artifacts, tmp_path / "b", split="none", written={"links": failed})
