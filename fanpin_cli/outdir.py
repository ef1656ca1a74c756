"""The output folder: checked before any work, locked for the run, written as a whole, leftovers
of killed runs removed; every failure a one-line Chinese `OutputError`.

    with output_folder(Path("out")) as out:   # OutputError if out is a file, a FIFO, …
        stage = staging_folder(out)           # another run on the same folder stops at once
        ...                                   # every output is written into `stage`
        commit_folder(stage, out)             # then swapped in at once: old run or new, never a mix

The swap exchanges the two folders in one system call (Linux `renameat2(RENAME_EXCHANGE)`);
entries of the folder that fanpin does not write (a user's own files, the sample county's
history) are carried into the new folder first as hard links. Where the exchange is not
available the files are moved one by one, each atomically, summary.json last.

The staging folder and the lock sit beside the output folder, on its file system. Where the
output folder is a drive's root or a mount point (its parent is another file system, or none),
or a file cannot be moved from beside it into it (a bind mount), the staging folder goes inside
it and the files are moved one by one (`inside`, `staging_folder`).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fanpin_cli.errors import FanpinError

LOCK_SUFFIX = ".fanpin-lock"
STAGE_MARK = ".fanpin-new-"
SUMMARY = "summary.json"  # moved last where the folders cannot be exchanged at once (`commit_folder`)


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


def inside(out: Path) -> bool:
    """Whether the staging folder and the lock go inside the (resolved) folder `out` rather than
    beside it: `out` is a drive's root, or a mount point (its parent is on another file system,
    where the finished folder could not be moved in)."""
    if out.parent == out:
        return True
    try:
        return os.stat(out.parent).st_dev != os.stat(out).st_dev
    except OSError:
        return False


def lock_file(out: Path) -> Path:
    """The lock of output folder `out`: beside the folder its path leads to (a symbolic link
    and its target share one lock), or inside it (`inside`).

    >>> lock_file(Path("/data/2026-11")).name
    '.2026-11.fanpin-lock'
    """
    real = out.resolve()
    return real / LOCK_SUFFIX if inside(real) else real.parent / f".{real.name}{LOCK_SUFFIX}"


def _try_lock(fd: int) -> bool:
    """Take the exclusive lock on open file `fd` without waiting (released when it is closed,
    also when the process is killed); False if another process holds it."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


@contextmanager
def output_folder(out: Path) -> Iterator[Path]:
    """Check `out`, take its lock (a second run on the same folder stops with a clear message),
    remove leftovers of killed runs; the lock is released when the run ends or dies. A folder
    this call created is removed again if the run leaves it empty (it failed before its outputs
    went in): no empty output folder is left where there was none (the hidden lock file beside
    it, and parent folders made for it, stay)."""
    created = not (out.exists() or out.is_symlink())
    out = check_output_folder(out)
    lock_path = lock_file(out)
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OutputError(f"无法创建锁文件：{describe_os_error(exc)}", file=str(lock_path)) from None
    locked = False
    try:
        if not _try_lock(fd):
            raise OutputError("另一个 fanpin 正在写入这个输出文件夹，请等它结束后再运行，或换一个 --out",
                              file=str(out))
        locked = True
        remove_leftovers(out)
        remove_stale_stages(out)
        yield out
    finally:
        # only under the lock: a run that did not get it may have seen the folder missing
        # too, but it is the other run's now
        if created and locked:
            with contextlib.suppress(OSError):  # not empty: the run's outputs are in it
                out.rmdir()
        os.close(fd)  # releases the lock (also when the process is killed)


def _stages(out: Path) -> list[Path]:
    out = out.resolve()  # a symbolic link to the folder: the stage sits beside its target
    found = list(out.parent.glob(f".{out.name}{STAGE_MARK}*")) if out.parent != out else []
    return sorted(found + list(out.glob(f"{STAGE_MARK}*")))  # (inside it: `inside`)


def remove_stale_stages(out: Path) -> list[Path]:
    """Staging folders of killed runs beside `out` (call only while holding its lock)."""
    removed = []
    for stage in _stages(out):
        if stage.is_dir() and not stage.is_symlink():
            shutil.rmtree(stage, ignore_errors=True)
        else:  # a probe left by a killed run (`_moves_into`)
            with contextlib.suppress(OSError):
                stage.unlink()
        removed.append(stage)
    return removed


def staging_folder(out: Path) -> Path:
    """A new, empty folder that a run writes all its outputs into: beside `out` (same file
    system: swapped in at once), else inside it (`inside`, or a file made beside it cannot be
    moved into it: `_moves_into`)."""
    out = out.resolve()
    if not inside(out):
        stage = _new_folder(out.parent / f".{out.name}{STAGE_MARK}{os.getpid()}")
        if _moves_into(stage, out):
            return stage
        discard_stage(stage)
    return _new_folder(out / f"{STAGE_MARK}{os.getpid()}")


def _new_folder(stage: Path) -> Path:
    try:
        if stage.exists():
            shutil.rmtree(stage)
        stage.mkdir()
    except OSError as exc:
        raise OutputError(f"无法创建临时输出文件夹：{describe_os_error(exc)}", file=str(stage)) from None
    return stage


def _moves_into(stage: Path, out: Path) -> bool:
    """Whether a file of `stage` can be moved (renamed, not copied) into `out`: False where the
    system says they are on different file systems (EXDEV). Leaves nothing behind."""
    probe, target = stage / f"{STAGE_MARK}probe", out / f"{STAGE_MARK}probe-{os.getpid()}"
    try:
        probe.touch()
        os.rename(probe, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            probe.unlink()
        return exc.errno != errno.EXDEV  # another error: said where the outputs are written
    with contextlib.suppress(OSError):
        target.unlink()
    return True


def discard_stage(stage: Path) -> None:
    """Remove a staging folder (a failed run leaves the output folder as it was)."""
    shutil.rmtree(stage, ignore_errors=True)


@contextmanager
def staged_folder(out: Path) -> Iterator[Path]:
    """A staging folder to write every output into; swapped in as `out` when the block ends
    without an error, removed in any case (call while holding `out`'s lock)."""
    stage = staging_folder(out)
    try:
        yield stage
        commit_folder(stage, out)
    finally:
        discard_stage(stage)


def owned_names() -> set[str]:
    """Names fanpin writes in an output folder: replaced by each run, never carried over."""
    from fanpin_cli.report.split import FOLDERS
    from fanpin_cli.tables import TABLES

    files = {t.file for t in TABLES.values() if t.file}
    return files | {"report.xlsx", "summary.html", "summary.json", "fanpin.log"} | set(FOLDERS.values())


def _link_tree(src: Path, dst: Path) -> None:
    """`dst` the same as `src`: files as hard links (copies where links fail), folders rebuilt."""
    if src.is_symlink():
        os.symlink(os.readlink(src), dst)
    elif src.is_dir():
        dst.mkdir()
        for child in src.iterdir():
            _link_tree(child, dst / child.name)
    else:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    if not sys.platform.startswith("linux"):  # (Windows: `CDLL(None)` is not even the C library)
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError, TypeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def commit_folder(stage: Path, out: Path) -> None:
    """Make `stage` the output folder `out` at once; `out`'s own entries that this run did not
    write and fanpin does not own are kept. `stage` is gone afterwards."""
    owned = owned_names()
    out = out.resolve()
    within = stage.resolve().parent == out  # (`inside`: moved in file by file, nothing carried)
    try:
        for entry in [] if within else out.iterdir():
            if entry.name not in owned and not (stage / entry.name).exists() and not entry.name.endswith(".tmp"):
                _link_tree(entry, stage / entry.name)
        if not within and _exchange(stage, out):
            shutil.rmtree(stage, ignore_errors=True)  # now the previous run's folder
            return
        if not within and not _moves_into(stage, out):  # refused before anything in `out` changes
            raise OutputError("临时输出文件夹与输出文件夹不在同一个磁盘上，无法放入结果；输出文件夹保持原样", file=str(out))
        # One by one: outputs this run did not write go first, and the old summary.json; the
        # new one comes last, so that the folder holds a summary.json only once every other
        # file is in place (the history counts a run killed after its swap by finding it:
        # `history.store.PendingRun.ready`).
        for name in owned:
            old = out / name
            if (name == SUMMARY or not (stage / name).exists()) and (old.exists() or old.is_symlink()):
                shutil.rmtree(old) if old.is_dir() and not old.is_symlink() else old.unlink()
        for entry in sorted(stage.iterdir(), key=lambda e: e.name == SUMMARY):
            target = out / entry.name
            if entry.is_dir() and target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(entry, target)
        shutil.rmtree(stage, ignore_errors=True)
    except OSError as exc:
        raise OutputError(f"写出结果失败：{describe_os_error(exc)}", file=str(out)) from None
