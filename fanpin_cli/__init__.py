"""fanpin (防贫): sector-data matching, warnings and data-quality checks for county clerks."""

import os
from pathlib import Path

# polars allocates through jemalloc. Freed pages are given back at once once they turn muzzy
# (MADV_FREE, `muzzy_decay_ms:0`): until the kernel takes them they still count as the
# process's memory, so a job that builds and drops large frames one after another would show
# several stages' worth at once (compute() alone on the 50,000-household county: peak 2.23 →
# 2.05 GB). Dirty pages (freed, still mapped) are kept for 1 s before they turn muzzy: the next
# stage's frames reuse them instead of faulting fresh pages in (whole job at 50,000 households
# ~0.6 s faster, peak +30 MB; benchmarks/bench_run.py, README). polars puts what is set here
# after its own defaults; a value the user set wins.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:1000,muzzy_decay_ms:0")

__version__ = "0.1.0"

# In a source checkout the design card keeps `schemas/`, `rules/` and `sample_data/` at the
# repository root; the wheel force-includes them inside the package. Make both layouts import
# `fanpin_cli.schemas` the same way.
_here = Path(__file__).resolve().parent
if not (_here / "schemas").is_dir() and (_here.parent / "schemas" / "__init__.py").is_file():
    __path__.append(str(_here.parent))  # noqa: F821  (package __path__)

__all__ = ["RunArtifacts", "RunSummary", "__version__", "compute", "run_job", "write_outputs"]


def __getattr__(name: str):  # lazy: `import fanpin_cli` stays light for the CLI
    if name in ("compute", "run_job"):
        from fanpin_cli import pipeline

        return getattr(pipeline, name)
    if name == "write_outputs":
        from fanpin_cli.outputs import write_outputs

        return write_outputs
    if name in ("RunArtifacts", "RunSummary"):
        from fanpin_cli import artifacts

        return getattr(artifacts, name)
    raise AttributeError(f"module 'fanpin_cli' has no attribute {name!r}")
