"""The FanpinError family: every failure a clerk can act on, with a one-line Chinese reason.

The CLI maps these to exit code 1 and prints `str(error)`; anything else is a bug. Messages may
quote a parser's own error text, so `str(error)` masks any ID-shaped number in it.

>>> str(InputFileError("找不到文件", file="医保.csv"))
'医保.csv：找不到文件'
"""

from __future__ import annotations


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
