"""Where the output folder's lock and staging folder go, and what happens where the staging folder
cannot be swapped in at once: a symbolic link to the folder and the folder share one lock; an
output folder that is a mount point or a drive's root (or one a file cannot be moved into from
beside it) is staged inside itself and filled file by file; a staging folder on another file
system is refused before anything in the output folder changes; Windows (no `fcntl`, no
`renameat2`) locks with `msvcrt` and moves the files one by one."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fanpin_cli import outdir
from fanpin_cli.cli import app
from fanpin_cli.errors import FanpinError
from fanpin_cli.outdir import (
    LOCK_SUFFIX,
    STAGE_MARK,
    OutputError,
    commit_folder,
    output_folder,
    staging_folder,
)

from .hostile import hostile_county

runner = CliRunner()


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return hostile_county(tmp_path_factory.mktemp("places") / "county")[0]


def _run(county: Path, out: Path) -> None:
    result = runner.invoke(app, ["run", str(county), "--out", str(out), "-q", "--split", "none", "--no-history"])
    assert result.exit_code == 0, result.output


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_symbolic_link_to_the_folder_and_the_folder_share_one_lock(tmp_path: Path) -> None:
    real = tmp_path / "real" / "out"
    real.mkdir(parents=True)
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    with output_folder(link):
        with pytest.raises(FanpinError, match="另一个 fanpin 正在写入"), output_folder(real):
            pass
    assert (real.parent / f".out{LOCK_SUFFIX}").exists() and not (tmp_path / f".link{LOCK_SUFFIX}").exists()


@pytest.mark.parametrize("why", ["mount point", "cannot move in"])
def test_an_out_that_cannot_be_swapped_is_staged_inside_and_filled_file_by_file(
        county: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, why: str) -> None:
    out = tmp_path / "usb"
    _run(county, out)  # a month in place already (staged beside, swapped at once)
    (out / "mine.txt").write_text("a clerk's own notes", encoding="utf-8")
    before = _files(out)
    if why == "mount point":
        monkeypatch.setattr(outdir, "inside", lambda folder: folder == out.resolve())
    else:  # (a bind mount: the same device, but no rename across it)
        monkeypatch.setattr(outdir, "_moves_into", lambda stage, into: stage.parent == into)
    stages: list[Path] = []
    real_staging = outdir.staging_folder

    def staging(folder: Path) -> Path:
        stages.append(real_staging(folder))
        return stages[-1]

    monkeypatch.setattr(outdir, "staging_folder", staging)
    _run(county, out)
    assert stages and stages[0].parent == out.resolve()  # inside the output folder
    after = _files(out)
    assert after["mine.txt"] == b"a clerk's own notes"
    assert json.loads(after["summary.json"])["county"] == json.loads(before["summary.json"])["county"]
    assert not [p for p in out.iterdir() if p.name.startswith(STAGE_MARK)]  # no staging folder or probe left
    assert not [p for p in out.parent.iterdir() if STAGE_MARK in p.name]


def test_a_staging_folder_on_another_file_system_is_refused_before_anything_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out, stage = tmp_path / "out", tmp_path / f".out{STAGE_MARK}1"
    for folder, period in ((out, "2026-11"), (stage, "2026-12")):
        folder.mkdir()
        (folder / "summary.json").write_text(json.dumps({"period": period}), encoding="utf-8")
        (folder / "links.csv").write_text(period, encoding="utf-8")
    monkeypatch.setattr(outdir, "_exchange", lambda a, b: False)
    monkeypatch.setattr(outdir, "_moves_into", lambda a, b: False)
    before = _files(out)
    with pytest.raises(OutputError, match="不在同一个磁盘上"):
        commit_folder(stage, out)
    assert _files(out) == before  # the month before, summary.json and all


def test_moves_into_says_a_cross_device_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    stage, out = tmp_path / "stage", tmp_path / "out"
    stage.mkdir()
    out.mkdir()
    assert outdir._moves_into(stage, out)
    assert not list(stage.iterdir()) and not list(out.iterdir())  # the probe leaves nothing behind

    def rename(src: object, dst: object) -> None:
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))

    monkeypatch.setattr(os, "rename", rename)
    assert not outdir._moves_into(stage, out)
    assert not list(stage.iterdir()) and not list(out.iterdir())


def test_staging_folder_goes_inside_a_drive_root_or_mount_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    assert staging_folder(out).parent == tmp_path.resolve()
    monkeypatch.setattr(outdir, "inside", lambda folder: True)
    assert staging_folder(out).parent == out.resolve()


def test_without_fcntl_the_lock_is_msvcrts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Windows: no fcntl; msvcrt.locking on the lock file's first byte, which another process
    # (here: another descriptor of the same file) cannot take meanwhile.
    held: set[int] = set()

    def locking(fd: int, mode: int, nbytes: int) -> None:
        import os

        inode = os.fstat(fd).st_ino
        if inode in held:
            raise OSError(13, "Permission denied")
        held.add(inode)

    fake = types.ModuleType("msvcrt")
    fake.LK_NBLCK = 2  # type: ignore[attr-defined]
    fake.locking = locking  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fcntl", None)  # `import fcntl` raises ImportError
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    out = tmp_path / "out"
    with output_folder(out):
        assert held
        with pytest.raises(FanpinError, match="另一个 fanpin 正在写入"), output_folder(out):
            pass


def test_off_linux_the_folders_are_not_exchanged_but_filled_file_by_file(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import ctypes

    def cdll(name: object, *args: object, **kwargs: object) -> object:
        raise TypeError("argument of type 'NoneType' is not iterable")  # Windows' CDLL(None)

    monkeypatch.setattr(outdir.sys, "platform", "win32")
    monkeypatch.setattr(ctypes, "CDLL", cdll)
    out, stage = tmp_path / "out", tmp_path / f".out{STAGE_MARK}1"
    for folder, period in ((out, "2026-11"), (stage, "2026-12")):
        folder.mkdir()
        (folder / "summary.json").write_text(period, encoding="utf-8")
    (out / "mine.txt").write_text("mine", encoding="utf-8")
    assert not outdir._exchange(stage, out)
    commit_folder(stage, out)
    assert _files(out) == {"mine.txt": b"mine", "summary.json": b"2026-12"} and not stage.exists()
