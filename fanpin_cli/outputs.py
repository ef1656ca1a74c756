"""Write outputs atomically (temp name in the same folder, then rename) and mask IDs.

CSV files are UTF-8 with a BOM so that Excel and WPS open the Chinese text correctly.

>>> import polars as pl
>>> mask_columns(pl.DataFrame({"id_number": ["433127199001011238"]}), ["id_number"]).item()
'433127********1238'
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl

from fanpin_cli.idnum import mask_id


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temp file in the same folder and os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_csv(frame: pl.DataFrame, path: Path) -> None:
    """CSV (UTF-8 with BOM), written atomically."""
    atomic_write_bytes(path, frame.write_csv(include_bom=True).encode("utf-8"))


def write_json(data: Any, path: Path) -> None:
    """Pretty JSON (UTF-8, Chinese kept readable), written atomically."""
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    atomic_write_bytes(path, (text + "\n").encode("utf-8"))


def mask_columns(frame: pl.DataFrame, columns: Iterable[str], *, full_ids: bool = False) -> pl.DataFrame:
    """Mask the ID columns present in `frame` (unless `full_ids`)."""
    if full_ids:
        return frame
    present = [c for c in columns if c in frame.columns]
    return frame.with_columns([mask_id(pl.col(c)).alias(c) for c in present])
