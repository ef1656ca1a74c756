"""Cell formats, column widths and sheet names for report.xlsx.

Widths count a CJK character as two columns; sheet names follow Excel's rules (≤ 31
characters, none of []:*?/\\, no leading/trailing apostrophe, unique ignoring case).

>>> display_width("永顺县abc")
9
>>> SheetNames(reserved=["汇总"]).make("汇总")
'汇总(2)'
>>> SheetNames().make("户[1]/2: 人*?")
'户12 人'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook

# Fills for levels (red/yellow/blue) and severities (error/warning/info), Excel's "good/bad/
# neutral" palette so the colours read the same in Excel and WPS.
LEVEL_FILLS: dict[str, str] = {"red": "#FFC7CE", "yellow": "#FFEB9C", "blue": "#BDD7EE"}
LEVEL_FONTS: dict[str, str] = {"red": "#9C0006", "yellow": "#9C5700", "blue": "#1F4E78"}
TAB_COLOURS: dict[str, str] = {"red": "#C00000", "yellow": "#FFC000", "blue": "#5B9BD5"}
SEVERITY_LEVEL: dict[str, str] = {"error": "red", "warning": "yellow", "info": "blue"}

HEADER_FILL = "#D9E1F2"
SECTOR_SIDE_FILL = "#FCE4D6"   # 待核实匹配: the sector (行业数据) record
ROSTER_SIDE_FILL = "#E2EFDA"   # 待核实匹配: the roster (监测系统) record

MIN_WIDTH = 6.0
MAX_WIDTH = 60.0

_INVALID_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
SHEET_NAME_MAX = 31


def display_width(text: str) -> int:
    """Columns `text` takes on screen: wide (CJK, full-width) characters count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def column_width(chars: float) -> float:
    """Excel column width for text `chars` display columns wide (plus padding, clamped)."""
    return max(MIN_WIDTH, min(MAX_WIDTH, chars * 1.1 + 2))


class SheetNames:
    """Hands out valid, unique sheet names."""

    def __init__(self, reserved: Iterable[str] = ()) -> None:
        # Excel reserves "History"; names compare case-insensitively.
        self._used: set[str] = {"history"} | {name.lower() for name in reserved}

    def make(self, title: str, fallback: str = "规则") -> str:
        name = _INVALID_SHEET_CHARS.sub("", title or "")
        name = " ".join(name.split()).strip("'").strip()
        if not name:
            name = _INVALID_SHEET_CHARS.sub("", fallback).strip("'").strip() or "规则"
        name = name[:SHEET_NAME_MAX].rstrip("'").rstrip()
        candidate, n = name, 1
        while candidate.lower() in self._used:
            n += 1
            suffix = f"({n})"
            candidate = name[: SHEET_NAME_MAX - len(suffix)].rstrip("'") + suffix
        self._used.add(candidate.lower())
        return candidate

    def reserve(self, name: str) -> None:
        self._used.add(name.lower())


def sheet_ref(name: str) -> str:
    """An internal hyperlink target for cell A1 of sheet `name`."""
    return "internal:'" + name.replace("'", "''") + "'!A1"


class Formats:
    """The workbook's shared formats (xlsxwriter formats must be created per workbook)."""

    def __init__(self, wb: Workbook) -> None:
        made: list[Format] = []

        def add(properties: dict) -> Format:
            made.append(wb.add_format(properties))
            return made[-1]

        base = {"valign": "vcenter"}
        self.base = base
        self.header = add(
            {**base, "bold": True, "bg_color": HEADER_FILL, "border": 1, "text_wrap": True,
             "align": "center"}
        )
        self.header_sector = add(
            {**base, "bold": True, "bg_color": SECTOR_SIDE_FILL, "border": 1, "text_wrap": True,
             "align": "center"}
        )
        self.header_roster = add(
            {**base, "bold": True, "bg_color": ROSTER_SIDE_FILL, "border": 1, "text_wrap": True,
             "align": "center"}
        )
        self.header_level = {
            lvl: add(
                {**base, "bold": True, "bg_color": fill, "font_color": LEVEL_FONTS[lvl],
                 "border": 1, "text_wrap": True, "align": "center"}
            )
            for lvl, fill in LEVEL_FILLS.items()
        }
        self.level = {
            lvl: add(
                {**base, "bg_color": fill, "font_color": LEVEL_FONTS[lvl], "align": "center"}
            )
            for lvl, fill in LEVEL_FILLS.items()
        }
        self.title = add({**base, "bold": True, "font_size": 16})
        self.section = add({**base, "bold": True, "font_size": 12})
        self.label = add({**base, "bold": True})
        self.note = add({**base, "italic": True, "font_color": "#595959"})
        self.text = add({**base, "num_format": "@"})
        self.wrap = add({**base, "num_format": "@", "text_wrap": True})
        self.small = add({**base, "num_format": "@", "font_size": 8, "font_color": "#7F7F7F"})
        self.wrap_note = add({**base, "italic": True, "font_color": "#595959", "text_wrap": True})
        self.plain = add(base)
        self.integer = add({**base, "num_format": "0"})
        self.decimal = add({**base, "num_format": "0.0"})
        self.percent = add({**base, "num_format": "0.0%"})
        self.link = add({**base, "font_color": "#0563C1", "underline": 1})
        self.diff = add({**base, "font_color": "#C00000", "bold": True})
        self.total = add({**base, "bold": True, "top": 1})
        # Every format numbered now, in the order made (xlsxwriter numbers a format when a cell
        # first uses it): each workbook numbers its formats alike, so the cells written with one
        # workbook's formats are right in another's (`report.together`: several 乡镇 workbooks'
        # tables written at once). A format no cell uses still has its entry in styles.xml.
        for made_format in made:
            made_format._get_xf_index()

    def for_level(self, value: str | None) -> Format | None:
        return self.level.get(_level_key(value)) if value else None


_LEVEL_KEYS = {
    "red": "red", "红": "red", "红色": "red",
    "yellow": "yellow", "黄": "yellow", "黄色": "yellow",
    "blue": "blue", "蓝": "blue", "蓝色": "blue",
    "error": "red", "错误": "red",
    "warning": "yellow", "警告": "yellow",
    "info": "blue", "提示": "blue",
}


def _level_key(value: str) -> str | None:
    return _LEVEL_KEYS.get(value.strip().lower())
