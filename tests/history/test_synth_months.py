"""`fanpin synth --months`: consecutive months whose files are re-exported in another order and
carry the scripted changes, with the truth of statuses and resolved flags."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from fanpin_cli.cli import app


def test_synth_months(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["synth", "--households", "120", "--seed", "4", "--months", "3",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    months = sorted(p.name for p in tmp_path.iterdir() if p.is_dir())
    assert months == ["2026-11", "2026-12", "2027-01"]
    assert 'reference_date = "2027-01-31"' in (tmp_path / "2027-01" / "fanpin.toml").read_text(encoding="utf-8")
    shared = (tmp_path / "fanpin-2027-01.toml").read_text(encoding="utf-8")
    assert 'path = "2027-01/医保_参保登记.csv"' in shared and 'reference_date = "2027-01-31"' in shared
    a = pl.read_csv(tmp_path / "2026-11" / "医保_参保登记.csv", encoding="gb18030", infer_schema_length=0)
    b = pl.read_csv(tmp_path / "2026-12" / "医保_参保登记.csv", encoding="gb18030", infer_schema_length=0)
    ident = ["姓名", "公民身份号码", "险种类型", "参保年度"]
    # the same records, in another order (序号 renumbered)
    assert a.select(ident).sort(ident, nulls_last=True).equals(b.select(ident).sort(ident, nulls_last=True))
    assert a["公民身份号码"].to_list() != b["公民身份号码"].to_list()
    changes = pl.read_csv(tmp_path / "2026-12" / "ground_truth" / "changes.csv")
    assert set(changes["effect"]) >= {"new", "resolved", "evidence_changed"}
    status = pl.read_csv(tmp_path / "2026-12" / "ground_truth" / "status_truth.csv")
    resolved = pl.read_csv(tmp_path / "2026-12" / "ground_truth" / "resolved_truth.csv")
    new = changes.filter(pl.col("effect") == "new")
    med = status.filter(pl.col("rule_id") == "MED_UNINSURED")
    assert set(new["roster_row"]) <= set(med.filter(pl.col("status") == "新增")["roster_row"])
    gone = changes.filter(pl.col("effect") == "resolved")
    assert set(gone["roster_row"]) <= set(resolved.filter(pl.col("rule_id") == "MED_UNINSURED")["roster_row"])
    # a status the truth derives: 持续 = in both months' true flags
    m1 = pl.read_csv(tmp_path / "2026-11" / "ground_truth" / "flags_truth.csv").select("rule_id", "household_id", "roster_row")
    ongoing = status.filter(pl.col("status") == "持续").select("rule_id", "household_id", "roster_row")
    assert ongoing.join(m1, on=["rule_id", "household_id", "roster_row"], how="anti", nulls_equal=True).height == 0
