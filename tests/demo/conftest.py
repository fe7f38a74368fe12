"""Fixtures of the demo tests: a data directory, and demos that are always cleaned up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.demo.helpers import DemoRun


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def runs() -> Iterator[list[DemoRun]]:
    """Every demo a test starts is killed afterwards, whatever happened."""
    started: list[DemoRun] = []
    yield started
    for run in started:
        run.kill()
