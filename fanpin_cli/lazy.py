"""Public names of a package imported from their submodules on first use (PEP 562).

A package's `__init__` declares where each name lives and takes the two module hooks from
`lazy_names`: a process that needs one small submodule then does not import the others (and
what they import) just by importing the package.

>>> import types
>>> pkg = types.ModuleType("fanpin_cli.report")
>>> getter, lister = lazy_names(pkg.__name__, {"RuleInfo": "model"}, vars(pkg))
>>> getter("RuleInfo").__module__, "RuleInfo" in vars(pkg)
('fanpin_cli.report.model', True)
>>> "RuleInfo" in lister()
True
>>> getter("nothing")
Traceback (most recent call last):
...
AttributeError: module 'fanpin_cli.report' has no attribute 'nothing'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_names(package: str, sources: dict[str, str],
               namespace: dict[str, Any]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The `__getattr__` and `__dir__` of `package` (its `namespace`: `globals()`): each name of
    `sources` (name → submodule) imported from `package.<submodule>` when first asked for, then
    kept in `namespace`."""

    def __getattr__(name: str) -> Any:
        module = sources.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted([*namespace, *sources])

    return __getattr__, __dir__
