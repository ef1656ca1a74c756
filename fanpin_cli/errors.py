"""The FanpinError family: every failure a clerk can act on, with a one-line Chinese reason.

The CLI maps these to exit code 1 and prints `str(error)`. Messages may quote a parser's own
error text, so `str(error)` masks any ID-shaped number in it. Anything else (a library's error
on an odd file, memory that ran out, a bug) becomes an `InternalError` (exit code 3) naming the
file and stage where known, with the original exception chained (`internal_errors`).

>>> str(InputFileError("找不到文件", file="医保.csv"))
'医保.csv：找不到文件'
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager


def mask_ids_in_text(text: str) -> str:
    """Mask every ID-shaped number in a message (`privacy.mask_text`): messages reach the
    console and logs.

    >>> mask_ids_in_text("第3行：433127199001011238 无法解析")
    '第3行：433127***********8 无法解析'
    """
    from fanpin_cli.privacy import mask_text

    return mask_text(text)


class FanpinError(Exception):
    """Base of all errors the job reports to the user (exit code 1)."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.sheet = sheet
        self.row = row
        self.column = column
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.sheet:
            where.append(f"工作表「{self.sheet}」")
        if self.row is not None:
            where.append(f"第{self.row}行")
        if self.column:
            where.append(f"列「{self.column}」")
        prefix = " ".join(where)
        text = f"{prefix}：{self.message}" if prefix else self.message
        return mask_ids_in_text(text)


class InputFileError(FanpinError):
    """An input file cannot be read, or lacks a required column."""


class ConfigError(FanpinError):
    """The run configuration (fanpin.toml) is missing or wrong."""


class RuleFileError(FanpinError):
    """A rule YAML file under rules/ (or given by the user) is wrong; names the rule id."""


# What stops a command rather than fails it: raised as they are (Ctrl-C: 已中断, exit 130).
# Everything else is an error, BaseExceptions included: a panic inside polars or fastexcel (Rust
# code through pyo3) arrives as `pyo3_runtime.PanicException`, which is no Exception.
INTERRUPTIONS: tuple[type[BaseException], ...] = (KeyboardInterrupt, SystemExit, GeneratorExit)
# README (性能与准确率): a run's peak memory, whole process tree.
MEMORY_ADVICE = ("内存不足，请关闭其他程序后重试，或换内存更大的电脑运行（5 万户约需 2 GB，20 万户约需 6 GB）；"
                 "若这个文件比平时大得多，检查是否多导出了无关的行或列")
# What the operating system said, in a clerk's words (else its own text).
OS_REASONS = {
    errno.ENOSPC: "磁盘空间已满",
    errno.EDQUOT: "磁盘配额已满",
    errno.EACCES: "没有访问权限",
    errno.EPERM: "没有访问权限",
    errno.ENOENT: "文件或文件夹不存在",
    errno.EROFS: "磁盘为只读",
    errno.EIO: "磁盘读写出错",
    errno.EMFILE: "打开的文件过多",
}


class InternalError(FanpinError):
    """A failure that is no fault of the data a clerk could correct: a library's error on an
    odd file, memory that ran out, an operating-system error nobody expected, a bug (exit code
    3). Names the file and the stage (`pipeline.STAGES`) where known; the original exception is
    its `__cause__`, written (masked) to a crash report by the CLI.

    >>> str(InternalError.of(ValueError("433127199001011238"), stage="比对关联", file="医保.csv"))
    '医保.csv（比对关联）：程序内部错误（ValueError）'
    >>> str(InternalError.of(OSError(errno.ENOSPC, "No space left on device"), stage="读取数据"))
    '读取数据：操作系统报错（磁盘空间已满）'
    """

    exit_code = 3

    def __init__(self, message: str, *, stage: str | None = None, file: str | None = None) -> None:
        self.stage = stage
        super().__init__(message, file=file)

    def __str__(self) -> str:
        where = "".join([self.file or "", f"（{self.stage}）" if self.file and self.stage else self.stage or ""])
        return mask_ids_in_text(f"{where}：{self.message}" if where else self.message)

    @classmethod
    def of(cls, error: BaseException, *, stage: str | None = None, file: str | None = None) -> InternalError:
        """`error` said in one Chinese line (its type, never its text, which may quote cell
        values): memory advice for a MemoryError, the system's reason for an OSError."""
        if isinstance(error, MemoryError):
            message = MEMORY_ADVICE
        elif isinstance(error, OSError):
            message = f"操作系统报错（{OS_REASONS.get(error.errno or 0, error.strerror or type(error).__name__)}）"
        else:
            kind = type(error)
            package = kind.__module__.partition(".")[0]
            name = kind.__name__ if package in ("builtins", "fanpin_cli") else f"{package} {kind.__name__}"
            message = f"程序内部错误（{name}）"
        internal = cls(message, stage=stage, file=file)
        internal.__cause__ = error  # (as `raise ... from error` would): its traceback goes with it
        return internal


@contextmanager
def internal_errors(stage: str, file: str | None = None) -> Iterator[None]:
    """Within the block, an exception that is no FanpinError (nor one of `INTERRUPTIONS`: Ctrl-C,
    SystemExit) is raised again as an `InternalError` naming `stage` and `file`, chained to it.
    A FanpinError (an InternalError from an inner block too) passes as it is.

    >>> try:
    ...     with internal_errors("读取数据", "民政.csv"):
    ...         raise MemoryError
    ... except InternalError as error:
    ...     error.file, error.stage, type(error.__cause__).__name__
    ('民政.csv', '读取数据', 'MemoryError')
    """
    try:
        yield
    except (FanpinError, *INTERRUPTIONS):
        raise
    except BaseException as exc:  # a PanicException too (see INTERRUPTIONS)
        raise InternalError.of(exc, stage=stage, file=file) from exc
