"""Stable keys: for extract and roster rows, persons and flags. Never a raw ID.

Every key is a keyed BLAKE2b digest (a MAC, like HMAC; 16 hex characters) under the county's
secret key, so a key cannot be turned back into an ID by trying every possible ID number.

- `person_key`: the keyed hash of a person's 18-digit ID (15-digit IDs upgraded first).
- `record_key` of a row: sector + the person (normalised ID, else name + birth date) + the
  fields that make the record in that sector (`RECORD_FIELDS`: a claim's date and amounts, an
  aid's type and date…) — not its status, not its row number, not the file's name. Rows that
  are equal in all of these are told apart by their whole content, so the keys do not depend
  on row order. Next month's file in another order gives the same keys.
- flag `record_key`: rule + household or person key (+ the evidence row's key when a rule fires
  more than once for the same person or household).

The secret key lives in `fanpin.key` beside the config (created on first run, mode 0600);
`history` and `feedback` read the same file.

>>> k = b"0" * 32
>>> person_key(pl.Series(["433127199001011238"]), k).item() == person_key(pl.Series(["433127199001011238"]), k).item()
True
>>> len(person_key(pl.Series(["433127199001011238"]), k).item())
16
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

import polars as pl

KEY_FILE = "fanpin.key"
KEY_BYTES = 32
DIGEST = 8  # bytes → 16 hex characters
_SEP = "\x1f"

# The fields that make a record in each sector (besides who it is about).
RECORD_FIELDS: dict[str, tuple[str, ...]] = {
    "roster": ("household_id",),
    "civil_affairs": ("aid_type", "aid_date"),
    "medical_enrollment": ("insurance_type", "enroll_year"),
    "medical_claims": ("settle_date", "total_cost", "fund_paid", "out_of_pocket", "diagnosis"),
    "education": ("school",),
    "housing": ("assess_date",),
    "police": ("dereg_reason", "dereg_date"),
    "disability": ("disability_type",),
}


def load_or_create_key(folder: Path, *, kept: bool = False) -> bytes:
    """The county's secret key from `folder/fanpin.key`, created (0600) when missing.

    The bundled sample county gets a key derived from the folder's name instead: stable, not
    secret (its data are made up). Where the file cannot be made (a read-only folder): a key for
    this run alone (`random_key`: the outputs' keys as unguessable as ever, but not the same next
    month), or, when the key must be kept (`kept`: a run with a history, whose months are matched
    by their keys), a FanpinError saying so. Never a key derived from something an output shows
    (the folder's name): keyed hashes of IDs could then be reversed by trying every ID.
    """
    from fanpin_cli.resources import resource_dir

    if folder.resolve() == resource_dir("sample_data").resolve():
        return derived_key("sample_data")
    path = folder / KEY_FILE
    try:
        data = path.read_bytes()
        if len(data) >= KEY_BYTES:
            return data[:KEY_BYTES]
    except OSError:
        pass
    key = secrets.token_bytes(KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
        return key
    except FileExistsError:
        return path.read_bytes()[:KEY_BYTES]
    except OSError as exc:
        if kept:
            from fanpin_cli.errors import FanpinError
            from fanpin_cli.outdir import describe_os_error

            raise FanpinError(f"无法创建密钥文件 {KEY_FILE}（{describe_os_error(exc)}）：历史记录靠它把每个月的记录对上；"
                              f"请让这个文件夹可写，或放入本县已有的 {KEY_FILE}，或加 --no-history 运行",
                              file=str(path)) from None
        return random_key()


def random_key() -> bytes:
    """A key for one run or one check alone, where no county key can be read or kept: its keys
    cannot be reversed, and match nothing of another run.

    >>> random_key() != random_key()
    True
    """
    return secrets.token_bytes(KEY_BYTES)


def derived_key(text: str) -> bytes:
    """A key derived from `text` (stable, not secret): for in-memory runs and read-only folders."""
    return hashlib.sha256(("fanpin-key:" + text).encode("utf-8")).digest()


def read_key(folder: Path) -> bytes:
    """The key in `folder/fanpin.key` if there is one, else `random_key()` (never one derived
    from a name an output shows beside the keys); writes nothing."""
    try:
        data = (folder / KEY_FILE).read_bytes()
        if len(data) >= KEY_BYTES:
            return data[:KEY_BYTES]
    except OSError:
        pass
    return random_key()


HASH_BATCH = 1 << 17  # values hashed per batch: their Python texts and digests are made batch by batch


def _hash_texts(values: pl.Series, key: bytes, batch: int = HASH_BATCH) -> pl.Series:
    """Keyed hash (hex) of each text of `values` (nulls stay null), as a String Series, in
    batches of `batch` values: no list of a million Python objects is ever held.

    >>> k = b"1" * 32
    >>> _hash_texts(pl.Series(["a", None, "b"]), k, batch=2).to_list() == _hash_texts(pl.Series(["a", None, "b"]), k).to_list()
    True
    """
    # One keyed state, copied per value: the key block is compressed once, not once per value
    # (measured faster than hashlib's keyed constructor or a chain of C-level maps).
    copy = hashlib.blake2b(key=key, digest_size=DIGEST).copy

    def one(v: bytes) -> str:
        h = copy()
        h.update(v)
        return h.hexdigest()

    texts = values.cast(pl.Binary)  # the UTF-8 bytes: no Python str made, none encoded
    parts = [
        pl.Series(values.name, [None if v is None else one(v) for v in texts.slice(lo, batch).to_list()],
                  dtype=pl.String)
        for lo in range(0, values.len(), batch)
    ]
    return pl.concat(parts, rechunk=True) if parts else pl.Series(values.name, [], dtype=pl.String)


def _digest(values: pl.Series, key: bytes, known: pl.DataFrame | None = None) -> pl.Series:
    """Keyed hash of each non-null text (nulls stay null); once per distinct value when many
    values repeat. `known` (columns `v`, `h`: texts already hashed under `key`) saves hashing
    them again.

    >>> k = b"1" * 32
    >>> s = pl.Series(["a", None, "b", "a"])
    >>> _digest(s, k).to_list() == _digest(s, k, known=pl.DataFrame({"v": ["a"], "h": _hash_texts(pl.Series(["a"]), k)})).to_list()
    True
    """
    if known is not None and known.height:
        found = values.to_frame("v").join(known, on="v", how="left", maintain_order="left")["h"]
        miss = found.is_null() & values.is_not_null()
        if not miss.any():
            return found.alias(values.name)
        idx = miss.arg_true()
        return found.scatter(idx, _digest(values.gather(idx), key)).alias(values.name)
    if values.approx_n_unique() > 0.6 * values.len():
        return _hash_texts(values, key)
    uniq = values.unique()
    table = pl.DataFrame({"v": uniq, "h": _hash_texts(uniq, key)})
    return values.to_frame("v").join(table, on="v", how="left", maintain_order="left", nulls_equal=True)["h"].alias(values.name)


def person_key(id18: pl.Series, key: bytes, known: pl.DataFrame | None = None) -> pl.Series:
    """Keyed hash of each usable 18-digit ID (null where there is none). `known`: IDs already
    keyed (`person_keys_known`), e.g. the roster's, hashed only once per run."""
    return _digest(id18.cast(pl.String).str.to_uppercase(), key, known).alias("person_key")


def person_keys_known(id18: pl.Series, keys: pl.Series) -> pl.DataFrame:
    """The (`v` = upper-case ID, `h` = person key) table that `person_key(known=...)` reuses."""
    return (
        pl.DataFrame({"v": id18.cast(pl.String).str.to_uppercase(), "h": keys})
        .drop_nulls()
        .unique("v", keep="first")
    )


def _text(frame: pl.DataFrame, name: str, dtype: pl.DataType | None = None) -> pl.Expr:
    if name not in frame.columns:
        return pl.lit("")
    return pl.col(name).cast(pl.String).str.strip_chars().fill_null("")


def _identity(frame: pl.DataFrame, before: list[pl.Expr] | None = None,
              after: list[pl.Expr] | None = None) -> pl.Series:
    """Who the row is about: the 18-digit ID, else the folded ID text, else name + birth
    (made only on the rows without an ID); joined (`_SEP`) between the texts `before` and
    `after` when given (a row's key text made in one pass, no column of identities between).

    >>> from datetime import date
    >>> f = pl.DataFrame({"id18": ["433127199001011238", None, None], "id_clean": [None, "123", None],
    ...                   "name_key": ["张三", "李四", "王五"], "birth_any": [None, None, date(1990, 1, 1)]})
    >>> _identity(f).to_list()
    ['id:433127199001011238', 'raw:123', 'nb:王五\\x1f1990-01-01']
    >>> _identity(f, [pl.lit("s")], [pl.lit("x")]).to_list()[2]
    's\\x1fnb:王五\\x1f1990-01-01\\x1fx'
    """
    # id18 and id_clean as `prepare` makes them: null or folded text (no blank, no padding), so
    # the first that is not null decides (concat_str is null where its column is): no strip or
    # comparison of a million texts, no branch made on every row.
    before, after = before or [], after or []

    def text(who: pl.Expr) -> pl.Expr:
        return pl.concat_str([*before, who, *after], separator=_SEP) if before or after else who

    parts = [pl.concat_str([pl.lit(tag), pl.col(c).cast(pl.String)]) for tag, c in (("id:", "id18"), ("raw:", "id_clean"))
             if c in frame.columns]
    if parts:
        by_id = frame.select(text(pl.coalesce(parts)).alias("_identity")).to_series()
    else:
        by_id = pl.Series("_identity", [], dtype=pl.String).extend_constant(None, frame.height)
    if by_id.null_count() == 0:
        return by_id
    # name + birth on the rows without an ID only: their few rows taken out, made, put back
    rows = by_id.is_null().arg_true()
    name_birth = pl.concat_str([pl.lit("nb:"), _text(frame, "name_key"), pl.lit(_SEP), _text(frame, "birth_any")])
    read = sorted({n for e in [name_birth, *before, *after] for n in e.meta.root_names()} & set(frame.columns))
    few = frame.select(pl.int_range(pl.len()).gather(rows).alias("_i"), *[pl.col(c).gather(rows) for c in read])
    return by_id.scatter(rows, few.with_columns(text(name_birth).alias("_identity"))["_identity"])


def _duplicated(values: pl.Series) -> pl.Series:
    """`values.is_duplicated()`, the texts compared only where their 64-bit hashes repeat
    (exact: a hash collision is told apart by the texts themselves). The repeated hashes are
    found by sorting them (a million rows: 0.23 -> 0.07 s CPU against `is_duplicated`'s hash
    table), then looked up among the few.

    >>> s = pl.Series(["a", "b", None, "a", None, "c"])
    >>> _duplicated(s).to_list() == s.is_duplicated().to_list()
    True
    >>> _duplicated(pl.Series([], dtype=pl.String)).to_list()
    []
    """
    hashes = values.hash()
    ordered = hashes.sort()
    repeated = ordered.filter(ordered == ordered.shift(1))
    maybe = hashes.is_in(repeated.implode())
    idx = maybe.arg_true()
    if idx.len() == 0:
        return maybe
    return maybe.scatter(idx, values.gather(idx).is_duplicated())


def row_keys(frame: pl.DataFrame, sector: str, key: bytes) -> pl.Series:
    """`record_key` of every row of a prepared frame (see module docstring)."""
    if frame.height == 0:
        return pl.Series("record_key", [], dtype=pl.String)
    fields = [f for f in RECORD_FIELDS.get(sector, ()) if f in frame.columns]
    text = _identity(frame, [pl.lit(sector)], [_text(frame, f) for f in fields]).alias("b")
    dup = _duplicated(text)
    if dup.any():
        # Rows equal in who + record fields: ordered by their whole content, then numbered, so
        # the keys do not depend on row order.
        cols = sorted(c for c in frame.columns if c not in ("source_row", "source_file") and not c.startswith("_"))
        content = pl.concat_str([_text(frame, c) for c in cols], separator=_SEP)
        sub = frame.filter(dup).select(pl.lit(None).alias("_"), content.alias("c")).with_columns(
            text.filter(dup).alias("b")
        ).with_columns(
            pl.col("c").rank("dense").over("b").cast(pl.Int64).alias("r"),
            pl.int_range(pl.len()).over(["b", "c"]).alias("d"),
        )
        tagged = sub.select(pl.concat_str([pl.col("b"), pl.col("r").cast(pl.String), pl.col("d").cast(pl.String)],
                                          separator=_SEP))
        text = text.scatter(dup.arg_true(), tagged.to_series())
    return _digest(text, key).alias("record_key")


def combine(parts: list[pl.Expr], key: bytes, frame: pl.DataFrame) -> pl.Series:
    """Keyed hash of the parts (null parts as empty text), one per row of `frame`."""
    text = pl.concat_str([p.cast(pl.String).fill_null("") for p in parts], separator=_SEP)
    return _digest(frame.select(text.alias("t"))["t"], key)
