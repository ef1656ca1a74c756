"""The output folder: checked before any work, locked for the run, leftovers of killed runs
removed; every failure a one-line Chinese `OutputError`.

    with output_folder(Path("out")) as out:   # OutputError if out is a file, a FIFO, …
        ...                                   # another run on the same folder stops at once
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fanpin_cli.errors import FanpinError

LOCK_SUFFIX = ".fanpin-lock"


class OutputError(FanpinError):
    """The output folder cannot be used or written."""


def describe_os_error(exc: OSError) -> str:
    """A short Chinese reason for a file-system error (no traceback, no Python names)."""
    reasons = {
        errno.ENOSPC: "磁盘空间已满",
        errno.EDQUOT: "磁盘配额已满",
        errno.EROFS: "磁盘为只读",
        errno.EACCES: "没有写入权限",
        errno.EPERM: "没有写入权限",
        errno.ENOTDIR: "路径中有一级不是文件夹",
        errno.EISDIR: "同名的文件夹已存在",
        errno.ELOOP: "符号链接循环",
        errno.ENAMETOOLONG: "路径太长",
        errno.EEXIST: "同名文件已存在",
    }
    return reasons.get(exc.errno or 0, exc.strerror or "无法写入")


def check_output_target(out: Path) -> Path:
    """Raise OutputError when `out` cannot be a folder (a file, a FIFO, a broken or looping
    symbolic link); creates nothing."""
    try:
        if out.is_symlink() and not out.exists():
            raise OutputError("输出位置是一个失效或循环的符号链接", file=str(out))
        if out.exists() and not out.is_dir():
            kind = "管道（FIFO）" if out.is_fifo() else "文件"
            raise OutputError(f"输出位置是一个{kind}，不是文件夹；请用 --out 指定一个文件夹", file=str(out))
    except OSError as exc:
        raise OutputError(f"无法使用输出位置：{describe_os_error(exc)}", file=str(out)) from None
    return out


def check_output_folder(out: Path) -> Path:
    """`out` made ready to hold the outputs (created if missing); raises OutputError."""
    check_output_target(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        if not os.access(out, os.W_OK | os.X_OK):
            raise OutputError("输出文件夹没有写入权限", file=str(out))
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(f"无法创建输出文件夹：{describe_os_error(exc)}", file=str(out)) from None
    return out


def remove_leftovers(out: Path) -> list[Path]:
    """Temp files of runs that were killed (`.name.*.tmp`, written by atomic writes) in `out`
    and its sub-folders; returns what was removed."""
    removed = []
    for path in out.rglob(".*.tmp"):
        try:
            if path.is_file():
                path.unlink()
                removed.append(path)
        except OSError:
            pass
    return removed


@contextmanager
def output_folder(out: Path) -> Iterator[Path]:
    """Check `out`, take its lock (a second run on the same folder stops with a clear message),
    remove leftovers of killed runs; the lock is released when the run ends or dies."""
    import fcntl

    out = check_output_folder(out)
    lock_path = out.parent / f".{out.resolve().name}{LOCK_SUFFIX}"
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OutputError(f"无法创建锁文件：{describe_os_error(exc)}", file=str(lock_path)) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise OutputError("另一个 fanpin 正在写入这个输出文件夹，请等它结束后再运行，或换一个 --out",
                              file=str(out)) from None
        remove_leftovers(out)
        yield out
    finally:
        os.close(fd)  # releases the lock (also when the process is killed)
