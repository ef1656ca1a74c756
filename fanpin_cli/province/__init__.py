"""Province scale: many counties in one run, each county's outputs exactly as `fanpin run`
writes them, plus what only the province sees (cross-county matches, province-wide extracts
split among counties). Engines: `local` (one county after another) and `spark`.
"""

from fanpin_cli.province.run import ENGINES, ProvinceResult, run_province

__all__ = ["ENGINES", "ProvinceResult", "run_province"]
