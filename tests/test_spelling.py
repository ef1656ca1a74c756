"""No table column name is spelled outside its declaration, the stages that make it and tests.

`fanpin_cli/tables.py` declares every table that passes between stages or leaves the program.
A module that only reads a table (the report, the CSV writer, the console…) refers to its
columns through the declaration (`tables.C.household_id`, `TABLES[...]`), so that a renamed
or misspelt column fails at once instead of writing an empty column. This test reads every
module of `fanpin_cli/` with `ast` and fails on a string literal equal to a declared column
name in a module that is neither `tables.py` nor a stage of a table declaring that column.

Column names that are also ordinary words of other vocabularies (`name`, `level`, `status`,
`file`…: config keys, xlsxwriter options, summary.json keys) are left out (GENERIC): for them
a literal says nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

from fanpin_cli.fields import FIELD_TITLES
from fanpin_cli.tables import TABLES, C

PACKAGE = Path(__file__).resolve().parent.parent / "fanpin_cli"
DECLARATION = "tables.py"
# Declared column names that are also everyday keys elsewhere (see module docstring).
GENERIC = frozenset({
    "attribute", "column", "detail", "errors", "field", "file", "grade", "group", "infos", "issues", "kind",
    "level", "message", "name", "reason", "rows", "sector", "status", "title", "verdict", "warnings",
})
# Loaded and prepared frames carry the canonical input fields and the row they came from; the
# stages that read inputs spell them.
INPUT_STAGES = (
    "loaders.py", "fields.py", "prepare.py", "idnum.py", "idcheck.py", "nondata.py", "values.py", "keys.py",
    "domain.py", "evidence.py", "coverage.py", "pipeline.py", "synth/", "linking/", "flagging/", "quality/",
    "history/", "province/split.py", "province/sources.py", "province/ids.py", "province/spark.py",
    "province/local.py", "province/run.py", "province/county.py", "province/cross.py",
)
INPUT_COLUMNS = (set(FIELD_TITLES) | {"source_file", "source_row"})
# The stages that make each table (module paths under fanpin_cli/, a trailing / for a package).
STAGES: dict[str, tuple[str, ...]] = {
    "links": ("linking/", "evidence.py", "keys.py", "pipeline.py", "history/", "province/cross.py", "province/spark.py",
              "synth/"),
    "flags": ("flagging/", "pipeline.py", "history/", "coverage.py", "synth/"),
    "issues": ("quality/", "loaders.py", "pipeline.py"),
    "review": ("pipeline.py", "history/"),
    "stocktake": ("quality/stocktake.py", "pipeline.py"),
    "stocktake_counts": ("quality/stocktake.py",),
    "scorecard": ("quality/scorecard.py",),
    "link_counts": ("pipeline.py", "artifacts.py", "province/county.py"),
    "resolved": ("history/",),
    "exempted": ("history/",),
}

# The same word in another vocabulary, where `C.<column>` would mislead.
EXEMPT: dict[tuple[str, str], str] = {
    ("cli.py", "township"): "--split township: the workbook split level, not the column",
    ("cli.py", "overdue"): "summary.json history count, not the flags column",
    ("report/table.py", "severity"): "a column kind of the sheet writer (coloured severity cells)",
}


def _allowed() -> dict[str, tuple[str, ...]]:
    """Declared column → the module paths that may spell it."""
    out: dict[str, set[str]] = {}
    for table in TABLES.values():
        for column in table.columns:
            out.setdefault(column.name, {DECLARATION}).update(STAGES[table.name])
    for name in INPUT_COLUMNS & set(out):
        out[name].update(INPUT_STAGES)
    return {name: tuple(paths) for name, paths in out.items() if name not in GENERIC}


def _literals(tree: ast.AST) -> list[ast.Constant]:
    """String constants of a module, without docstrings and f-string parts."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            skip.update(id(v) for v in node.values)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skip.add(id(first.value))
    return [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip]


def _stage(module: str, paths: tuple[str, ...]) -> bool:
    return any(module == p or (p.endswith("/") and module.startswith(p)) for p in paths)


def misspellings(root: Path = PACKAGE) -> list[str]:
    """`module:line: "column"` for every column literal outside its declaration and stages."""
    allowed = _allowed()
    found = []
    for path in sorted(root.rglob("*.py")):
        module = path.relative_to(root).as_posix()
        for node in _literals(ast.parse(path.read_text(encoding="utf-8"))):
            paths = allowed.get(node.value)
            if paths is not None and not _stage(module, paths) and (module, node.value) not in EXEMPT:
                found.append(f"{module}:{node.lineno}: {node.value!r}")
    return found


def test_column_names_are_spelled_only_in_declarations_and_stages():
    found = misspellings()
    assert not found, "use tables.C.<column> in these modules:\n" + "\n".join(found)


def test_the_check_catches_a_column_spelled_in_the_report(tmp_path):
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "sheets.py").write_text(
        '"""Doc mentions "household_id"."""\nimport polars as pl\nX = pl.col("household_id")\nY = f"{1}household_id"\n'
        'Z = {"name": 1, "level": 2}\n', encoding="utf-8")
    (tmp_path / "tables.py").write_text('A = "household_id"\n', encoding="utf-8")
    (tmp_path / "linking").mkdir()
    (tmp_path / "linking" / "tiers.py").write_text('B = "match_status"\n', encoding="utf-8")
    assert misspellings(tmp_path) == ["report/sheets.py:3: 'household_id'"]


def test_column_names_namespace_is_the_declaration():
    assert C.household_id == "household_id" and C.match_status == "match_status"
    names = {c.name for t in TABLES.values() for c in t.columns}
    assert set(vars(C)) == names
    try:
        C.househld_id  # noqa: B018
    except AttributeError:
        pass
    else:
        raise AssertionError("an undeclared column name must fail")
