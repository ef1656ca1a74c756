"""Locate the data folders shipped with fanpin (rules YAML, sample county).

>>> resource_dir("rules").name
'rules'
"""

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Return the folder `name` inside the installed package, or at the checkout's root."""
    inside = _HERE / name
    if inside.is_dir():
        return inside
    return _HERE.parent / name
