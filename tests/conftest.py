"""Shared fixtures: a migrated database for the whole run and a private broker."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from commtwin import db
from tests.services import Broker, scratch_database


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--slow", action="store_true", help="also run the tests marked slow (soak, load)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slow tests stay out of the default run unless asked for (--slow or -m slow)."""
    if config.getoption("--slow") or "slow" in str(config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with --slow (a bench/ script covers it)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A database migrated to the current schema (plain mode), for this run only."""
    with scratch_database() as url:
        db.upgrade(url, prefer="plain")
        yield url


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


@pytest.fixture
def empty_database_url() -> Iterator[str]:
    """A fresh empty database for one test (migration tests)."""
    with scratch_database() as url:
        yield url


@pytest.fixture(scope="session")
def broker() -> Iterator[Broker]:
    """A private Mosquitto with deploy/mosquitto/mosquitto.conf for the whole run."""
    b = Broker().start()
    yield b
    b.close()
