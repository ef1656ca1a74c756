"""fanpin (防贫): sector-data matching, warnings and data-quality checks for county clerks."""

from pathlib import Path

__version__ = "0.1.0"

# In a source checkout the design card keeps `schemas/`, `rules/` and `sample_data/` at the
# repository root; the wheel force-includes them inside the package. Make both layouts import
# `fanpin_cli.schemas` the same way.
_here = Path(__file__).resolve().parent
if not (_here / "schemas").is_dir() and (_here.parent / "schemas" / "__init__.py").is_file():
    __path__.append(str(_here.parent))  # noqa: F821  (package __path__)
