"""Synthetic provinces for the province tests: three small counties made by `fanpin synth`
(distinct seeds, county names and so address codes), a person of one county placed in another
county's data, a county whose roster is broken, and a province-wide extract."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl

from fanpin_cli.synth import generate_county

COUNTIES = (("永顺县", 11), ("龙山县", 12), ("保靖县", 13))
HOUSEHOLDS = 100
BROKEN = "坏数据县"
MOVED_FILE = "公安_户籍注销.csv"  # in 龙山县: a 永顺县 roster person deregistered there
PROVINCE_FILE = "全省_医保参保登记.csv"


def roster(folder: Path) -> pl.DataFrame:
    """A county's roster as the province sees it (row numbers as in Excel)."""
    from fanpin_cli.config import load_config
    from fanpin_cli.pipeline import load_input

    return load_input(load_config(folder / "fanpin.toml").roster).frame


def make_counties(root: Path) -> dict[str, Path]:
    """The three counties."""
    folders = {}
    for name, seed in COUNTIES:
        folders[name] = root / name
        generate_county(HOUSEHOLDS, seed, folders[name], county=name)
    return folders


def place_person_elsewhere(folders: dict[str, Path]) -> dict[str, object]:
    """Append to 龙山县's police file (UTF-8 CSV) a 死亡 row for a 永顺县 roster person; return
    who and where."""
    ros = roster(folders["永顺县"])
    person = ros.filter(pl.col("id_number").str.contains(r"^[0-9]{17}[0-9X]$")).row(0, named=True)
    path = folders["龙山县"] / MOVED_FILE
    text = path.read_text(encoding="utf-8-sig")
    heading = text.splitlines()[0].split(",")
    values = {"姓名": person["name"], "身份证号": person["id_number"], "注销原因": "死亡", "注销日期": "2026-10-02",
              "户籍地址": "龙山县民安街道"}
    line = ",".join(values.get(h, "") for h in heading)
    body = text if text.endswith("\n") else text + "\n"
    path.write_text(body + line + "\n", encoding="utf-8")
    return {"roster_row": person["source_row"], "household_id": person["household_id"],
            "source_row": len(body.splitlines()) + 1, "id_number": person["id_number"]}


def make_broken(root: Path, like: Path) -> Path:
    """A county whose roster is not a workbook at all (a clerk saved the wrong file)."""
    folder = root / BROKEN
    shutil.copytree(like, folder)
    text = (folder / "fanpin.toml").read_text(encoding="utf-8").replace(like.name, BROKEN)
    (folder / "fanpin.toml").write_text(text, encoding="utf-8")
    (folder / "监测对象信息.xlsx").write_bytes(b"PK\x03\x04 this is not a workbook")
    return folder


def write_province(root: Path, counties: list[str], extracts: list[tuple[str, str]] = (),
                   file: str = "PROVINCE.toml") -> Path:
    """PROVINCE.toml listing `counties` (folder names) and province-wide `extracts`."""
    lines = ['[province]', 'name = "湘西州"', '']
    for c in counties:
        lines += ['[[counties]]', f'config = "{c}/fanpin.toml"', '']
    for sector, path in extracts:
        lines += ['[[extracts]]', f'sector = "{sector}"', f'path = "{path}"', '']
    path = root / file
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def province_extract(root: Path, folders: dict[str, Path]) -> dict[str, dict[str, object]]:
    """A province-wide 医保参保登记 CSV whose rows reach counties each way: a 永顺县 roster
    person by exact ID, a 龙山县 one by a normalised ID (lower-case x / spaces / 15 digits), an
    unknown person with a 保靖县 address code, one with no ID but a 永顺县 乡镇, and one with
    neither (unassigned). Returns, per case, the row number and what is expected."""
    ys, ls = roster(folders["永顺县"]), roster(folders["龙山县"])
    valid = pl.col("id_number").str.contains(r"^[0-9]{17}[0-9X]$")
    a = ys.filter(valid).row(1, named=True)
    b = ls.filter(valid).row(2, named=True)
    b_id = b["id_number"]
    b_shown = f" {b_id[:6]} {b_id[6:].lower()} "
    others = set(ls["township"].drop_nulls()) | set(roster(folders["保靖县"])["township"].drop_nulls())
    town = sorted(set(ys["township"].drop_nulls()) - others)[0]
    rows = [
        ("id", a["name"], a["id_number"], None, "永顺县"),
        ("normalised", b["name"], b_shown, None, "龙山县"),
        ("region", "外来人", "433125198801010015", None, "保靖县"),
        ("township", "无证人", None, town, "永顺县"),
        ("unassigned", "远方人", "110101199001011237", "不存在乡", None),
    ]
    frame = pl.DataFrame(
        [{"姓名": r[1], "身份证号码": r[2], "乡镇": r[3], "参保状态": "参保缴费", "险种类型": "城乡居民基本医疗保险"}
         for r in rows],
        schema={"姓名": pl.String, "身份证号码": pl.String, "乡镇": pl.String, "参保状态": pl.String, "险种类型": pl.String},
    )
    frame.write_csv(root / PROVINCE_FILE)
    return {r[0]: {"source_row": i + 2, "county": r[4], "roster_row": (a if r[0] == "id" else b)["source_row"]}
            for i, r in enumerate(rows)}


def csv_rows(path: Path) -> pl.DataFrame:
    """A CSV output as text, rows in a canonical order (to compare as sets of rows)."""
    frame = pl.read_csv(path, infer_schema=False)
    return frame.sort(frame.columns, nulls_last=True)
