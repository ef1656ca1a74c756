"""Shared synthetic province for the province tests (built once per session): three small
counties by `fanpin synth`, a 永顺县 person in 龙山县's police file, a broken county, a
province-wide extract, and each county's `fanpin run` alone."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from fanpin_cli.cli import app

from .data import (
    BROKEN,
    COUNTIES,
    PROVINCE_FILE,
    make_broken,
    make_counties,
    place_person_elsewhere,
    province_extract,
    write_province,
)


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("province")
    folders = make_counties(root)
    moved = place_person_elsewhere(folders)
    make_broken(root, folders["保靖县"])
    config = write_province(root, ["永顺县", "龙山县", BROKEN, "保靖县"])
    cases = province_extract(root, folders)
    with_extract = write_province(root, [name for name, _ in COUNTIES], [("medical_enrollment", PROVINCE_FILE)],
                                  file="PROVINCE_extract.toml")
    runner = CliRunner()
    alone = {}
    for name, _ in COUNTIES:
        alone[name] = root / "alone" / name
        result = runner.invoke(app, ["run", str(folders[name] / "fanpin.toml"), "--out", str(alone[name]), "-q",
                                     "--no-history"])
        assert result.exit_code == 0, result.output
    return {"root": root, "folders": folders, "moved": moved, "config": config, "alone": alone, "cases": cases,
            "with_extract": with_extract}


@pytest.fixture(scope="session")
def local_split(built: dict[str, object]) -> dict[str, object]:
    """The province with its province-wide extract, on the local engine."""
    from fanpin_cli.province import run_province

    out = built["root"] / "out_split_local"
    return {"result": run_province(built["with_extract"], out, history=False), "out": out}
