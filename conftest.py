"""Shared by the tests and the modules' docstring examples (`pytest --doctest-modules`)."""

from __future__ import annotations

import tempfile

import pytest


@pytest.fixture(autouse=True)
def _doctest_temp_folders(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A docstring example's `tempfile.mkdtemp()` folders go into pytest's own temporary
    folder for that example (its `tmp_path`: pytest keeps those of the last few runs only),
    not into the system's, where every test run left a dozen behind."""
    if isinstance(request.node, pytest.DoctestItem):
        monkeypatch.setattr(tempfile, "tempdir", str(request.getfixturevalue("tmp_path")))
