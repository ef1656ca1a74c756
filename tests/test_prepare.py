"""prepare.with_certificate_fields: 残疾类别/残疾等级 read from a 20-character 残疾人证号."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import polars as pl
import pytest

from fanpin_cli.prepare import with_certificate_fields

IDS = ["43312719900101123811", "433127199001011238", None, "4331271990 0101123842", "43312719900101123823"]


@pytest.mark.parametrize("given", [
    pl.Series("disability_type", [None] * 5, dtype=pl.Null),
    pl.Series("disability_type", [None] * 5, dtype=pl.String),
    pl.Series("disability_type", [1, None, 2, None, None], dtype=pl.Int64),
])
def test_certificate_fills_the_empty_cells_of_a_column_of_any_type(given):
    frame = pl.DataFrame({"id_number": IDS}).with_columns(given)
    got = with_certificate_fields(frame)
    assert got["disability_type"].dtype == pl.String
    kept = [None if v is None else str(v) for v in given.to_list()]
    words = ["视力残疾", None, None, "肢体残疾", "听力残疾"]
    assert got["disability_type"].to_list() == [k if k is not None else w for k, w in zip(kept, words, strict=True)]
    assert got["disability_grade"].to_list() == ["一级", None, None, "二级", "三级"]


def test_warm_up_loads_what_the_first_prepare_would() -> None:
    # The tables a run's first `prepare` loads on its way (pipeline._imported_meanwhile has them
    # loaded by a waiting thread): pypinyin without its phrases, OpenCC's t2s, the address
    # codes, numpy's masked arrays. A fresh interpreter: none of them loaded before.
    code = textwrap.dedent("""
        import sys
        from fanpin_cli import names, prepare, regions
        before = {m for m in ("pypinyin", "numpy.ma", "opencc") if m in sys.modules}
        prepare.warm_up()
        print(sorted(before), "pypinyin" in sys.modules, "numpy.ma" in sys.modules,
              "pypinyin.phrases_dict" in sys.modules, names._t2s.cache_info().currsize,
              regions.known_region.cache_info().currsize)
        """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[]", "True", "True", "False", "1", "1"]
