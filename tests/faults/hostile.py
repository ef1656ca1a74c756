"""A small synthetic county with hostile rows, and a scanner for full ID numbers in any form."""

from __future__ import annotations

import re
import unicodedata
import zipfile
from pathlib import Path

import polars as pl

from fanpin_cli.loaders import load_file
from fanpin_cli.synth import generate_county

FORMULAS = ['=HYPERLINK("http://x","click")', "+1+2", "-3+4", "@SUM(A1)", "\t=3+3", " =1+1"]


def _wide(text: str) -> str:
    return text.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))


def hostile_county(folder: Path, households: int = 40, seed: int = 5) -> tuple[Path, set[str]]:
    """A county whose 民政 file has IDs in names (plain, full-width, spaced, 20-digit, inside a
    longer run), swapped name/ID, and formula-like names; returns the config and every roster
    ID (18 digits) that must never be shown in full."""
    generate_county(households, seed, folder)
    roster = load_file(folder / "监测对象信息.xlsx", "roster").frame
    ids = [i for i in roster["id_number"].drop_nulls().to_list() if re.fullmatch(r"[0-9]{17}[0-9X]", i)]
    a, b, c, d, e, f = ids[:6]
    rows = [
        # name, ID, type, status, date
        (a, b, "农村低保", "在保", "2026-01-05"),             # an ID typed in 姓名
        (_wide(c), "", "农村低保", "在保", "2026-01-05"),     # full-width, no ID
        (" ".join([d[:6], d[6:14], d[14:]]), "", "特困供养", "在保", "2026-02-01"),  # spaced
        (f"残疾人证{e}12", e + "12", "临时救助", "已发放", "2026-10-01"),  # 20 digits
        (f"备注99{f}7", "", "临时救助", "已发放", "2026-10-02"),  # inside a longer run
        *[(name, "", "农村低保", "在保", "2026-03-01") for name in FORMULAS],
    ]
    frame = pl.DataFrame(rows, schema=["姓名", "身份证号码", "救助类型", "保障状态", "纳入时间"], orient="row")
    (folder / "民政_救助名单.csv").write_bytes(frame.write_csv().encode("utf-8"))
    return folder / "fanpin.toml", set(ids)


def normalised_digits(text: str) -> str:
    """Full-width folded; up to two spaces (any width), tabs, line breaks, dots, hyphens, dashes or
    invisible characters between digits removed (`privacy._SEP`: how IDs are typed and pasted)."""
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"(?<=[0-9])[\s\-.\u00a0\u00ad\u2000-\u2015\u2060\u202f\u2212\ufeff]{1,2}(?=[0-9Xx])", "", text)


def full_ids_in(text: str, ids: set[str]) -> set[str]:
    """Every ID of `ids` found in `text` in any form: 18 digits, the 15-digit form, full-width,
    spaced, inside a longer run of digits."""
    text = normalised_digits(text)
    found = set()
    short = {i[:6] + i[8:17]: i for i in ids}
    for run in re.findall(r"[0-9]{15,}[0-9Xx]?", text):
        run = run.upper()
        for k in range(len(run) - 14):
            if run[k:k + 18] in ids:
                found.add(run[k:k + 18])
            if run[k:k + 15] in short and len(run) == 15:
                found.add(short[run[k:k + 15]])
    return found


def output_texts(folder: Path) -> dict[str, str]:
    """The text of every file under `folder` (xlsx: every XML part inside)."""
    texts = {}
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                texts[str(path)] = "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
        else:
            texts[str(path)] = path.read_bytes().decode("utf-8", "replace")
    return texts
