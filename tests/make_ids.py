"""ID numbers for tests, made with the GB 11643 check character computed here (independently
of `fanpin_cli.idnum`, so that the tests check it rather than repeat it).

>>> make_id("19700101", "011")
'433127197001010113'
"""

from __future__ import annotations

W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def with_check(first17: str) -> str:
    """`first17` and its check character."""
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, W, strict=True)) % 11]


def make_id(birth: str, seq: str = "123", region: str = "433127") -> str:
    """A valid 18-digit ID: region + YYYYMMDD birth + 3-digit sequence (odd = male) + check."""
    return with_check(region + birth + seq)
