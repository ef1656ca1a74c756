"""Crash reports: an unexpected error's details, in a file the clerk can send to whoever supports
fanpin, while the console shows one Chinese line (`cli`).

The report holds the command line, fanpin's, Python's and the libraries' versions and the whole
traceback (the original exception's too). It is meant to be sent, so it is masked always, also
under `--full-ids`, and more thoroughly than the outputs (`privacy.mask_thoroughly`: an error
message may quote a cell's ID as a repr of UTF-16 bytes, in JSON escapes, split by `_` or `/` in
a path). It is written, readable by its owner alone (mode 600), into the first of the given
folders that takes it (the command chooses: the folder that holds its output folder, else its
config's), else the current folder, else the system's temporary folder, and named
`fanpin-error-2026-11-30_08-30-15.txt` (`_2`, `_3`, ... for more in the same second): no run of
digits in it is long enough to be masked, so the console line names the file as it is. A report
about one part of the job (a county of a province run) says which in its name:
`fanpin-error-<县>_<time>.txt`.

>>> import tempfile
>>> try:
...     raise ValueError("第3行 433127199001011238 无法转换；/data/433127_199001011238.xlsx")
... except ValueError as exc:
...     path = write_report(exc, [Path(tempfile.mkdtemp())], argv=["fanpin", "run", "x.toml", "--full-ids"])
>>> text = path.read_text(encoding="utf-8")
>>> path.name.startswith("fanpin-error-"), "433127***********8 无法转换" in text, "199001011238" in text
(True, True, False)
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import sys
import tempfile
import traceback
from collections.abc import Iterable, Sequence
from datetime import datetime
from importlib import metadata
from pathlib import Path

from fanpin_cli import __version__
from fanpin_cli.privacy import mask_thoroughly

# Characters a file name cannot hold on some system (Windows' list, control characters, spaces).
UNSAFE_IN_NAMES = re.compile(r'[\\/:*?"<>|\s\x00-\x1f]')
LIBRARIES = ("polars", "fastexcel", "duckdb", "xlsxwriter", "typer", "pyarrow")


def report_text(error: BaseException, *, argv: Sequence[str] | None = None, now: datetime | None = None,
                label: str | None = None) -> str:
    """The report's text: what failed (in `label`, e.g. a county, if given), where it ran, the
    traceback, masked (`mask_thoroughly`), also under --full-ids: the report is meant to be sent."""
    moment = (now or _now()).isoformat(timespec="seconds")
    lines = [
        "fanpin 错误报告" + (f"（{label}）" if label else "") + "：请把这个文件发给技术支持（证件号码已打码）",
        f"时间：{moment}",
        f"命令：{shlex.join(list(argv if argv is not None else sys.argv))}",
        f"错误：{error}",
        f"fanpin {__version__}；Python {platform.python_version()}；" + "；".join(_versions(LIBRARIES)),
        f"系统：{platform.platform()}；CPU {os.cpu_count()} 核",
        "",
        "".join(traceback.format_exception(error)),
    ]
    return mask_thoroughly("\n".join(lines))


def write_report(error: BaseException, folders: Iterable[Path], *, argv: Sequence[str] | None = None,
                 label: str | None = None) -> Path | None:
    """Write `report_text` (masked) into `fanpin-error-<time>.txt`
    (`fanpin-error-<label>_<time>.txt` with a `label`), mode 600, in the first folder that takes
    it (`folders`, the current folder, the system's temporary folder); its path, or None when no
    folder did."""
    now = _now()
    data = report_text(error, argv=argv, now=now, label=label).encode("utf-8")
    # no digit run `mask_text` masks (cli's line shows it): `_` ends a run, as `-` does not
    stamp = ("" if not label else f"{UNSAFE_IN_NAMES.sub('_', label)}_") + now.strftime("%Y-%m-%d_%H-%M-%S")
    for folder in [*folders, *_current_folder(), Path(tempfile.gettempdir())]:
        for n in range(1, 100):
            path = folder / (f"fanpin-error-{stamp}.txt" if n == 1 else f"fanpin-error-{stamp}_{n}.txt")
            try:
                fh = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                                       0o600), "wb")
            except FileExistsError:
                continue
            except OSError:
                break  # this folder does not take it: the next one
            try:
                with fh:
                    fh.write(data)
            except OSError:  # e.g. the disk is full: no half report left behind
                path.unlink(missing_ok=True)
                break
            return path.absolute()
    return None


def report_note(path: Path | None) -> str:
    """What the one-line error adds about its report (`write_report`'s path, None: not written).

    >>> report_note(None)
    '。详细信息无法写入文件（没有可写的文件夹）'
    """
    if path is None:
        return "。详细信息无法写入文件（没有可写的文件夹）"
    return f"。详细信息已写入 {path}，请把这个文件发给技术支持"


def _now() -> datetime:
    """This moment, in local time (the report's time and name)."""
    return datetime.now().astimezone()


def _current_folder() -> list[Path]:
    """The current folder (none if it was removed meanwhile)."""
    try:
        return [Path.cwd()]
    except OSError:
        return []


def _versions(names: Iterable[str]) -> list[str]:
    """`name version` of each installed library (`name 未安装` otherwise)."""
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} 未安装")
    return found
