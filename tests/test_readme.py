"""README documents every rule and every quality check the code has, and its two commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from fanpin_cli.flagging import load_rules
from fanpin_cli.quality.catalogue import catalogue_frame

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("rule_id", [r.rule_id for r in load_rules()])
def test_every_rule_is_documented(rule_id):
    assert f"`{rule_id}`" in README


@pytest.mark.parametrize("check_id", catalogue_frame()["check_id"].to_list())
def test_every_check_is_documented(check_id):
    assert f"`{check_id}`" in README


def test_readme_starts_with_the_two_commands():
    blocks = [b.split("```", 1)[0].strip() for b in README.split("```bash\n")[1:3]]
    assert blocks[0].endswith("fanpin demo")
    assert blocks[1].endswith("pytest")
    assert "<!-- test-command -->" in README.split(blocks[1])[0]
