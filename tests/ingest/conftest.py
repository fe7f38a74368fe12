"""Fixtures of the ingest tests: a fresh migrated database per test, a unique topic root."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from commtwin import db
from tests.ingest.helpers import IngestProcess, add_community
from tests.services import scratch_database


@pytest.fixture
def ingest_db() -> Iterator[str]:
    """A migrated (plain mode) database holding the community ``lanting``.

    Per test, so row counts are exact: the shared session database also
    receives other areas' rows.
    """
    with scratch_database("commtwin_ingest") as url:
        db.upgrade(url, prefer="plain")
        add_community(url, "lanting")
        yield url


@pytest.fixture
def root() -> str:
    """A topic root of this test alone on the shared broker."""
    return f"t{secrets.token_hex(4)}/v1"


@pytest.fixture(autouse=True)
def _reap_ingestors() -> Iterator[None]:
    yield
    IngestProcess.reap()
