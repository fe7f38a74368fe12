"""The photo tests' world: a running API over a photo store, one per module."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.api.photos.photo_fixtures import World, photo_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with photo_world(tmp_path_factory.mktemp("photos")) as w:
        yield w


@pytest.fixture
def http(world: World) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=world.api, timeout=60) as c:
        yield c
