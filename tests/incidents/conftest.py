"""Fixtures of the closed-loop tests: per module, one database holding the test
community model and one real ingestor on the private broker."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from tests.incidents.helpers import loop_database
from tests.ingest.helpers import IngestProcess
from tests.services import Broker


@pytest.fixture(scope="module")
def loop_db() -> Iterator[str]:
    with loop_database() as url:
        yield url


@pytest.fixture(scope="module")
def root() -> str:
    """A topic root of this module alone on the shared broker."""
    return f"loop{secrets.token_hex(4)}/v1"


@pytest.fixture(scope="module")
def ingestor(
    loop_db: str,
    broker: Broker,
    root: str,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[IngestProcess]:
    """The module's ingestor; a module's ``INGEST_OPTIONS`` are added to its command line."""
    process = IngestProcess(
        loop_db,
        broker.url,
        tmp_path_factory.mktemp("ingest"),
        client_id=f"loop-{root}",
        root=root,
        extra=("--linger-ms", "20", *getattr(request.module, "INGEST_OPTIONS", ())),
    )
    try:
        process.wait_connected()
        yield process
    finally:
        if process.proc.poll() is None:
            code = process.terminate()
            assert code == 0, process.log
