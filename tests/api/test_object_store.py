"""The photo object stores: a directory, and S3 against moto's real HTTP server."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from api.object_store import (
    LocalStore,
    ObjectStore,
    ObjectStoreError,
    S3Config,
    S3Store,
    make_store,
)
from tests.api.photos.photo_fixtures import moto_s3
from tests.services import free_port


def _round_trip(store: ObjectStore) -> None:
    key = "photos/lanting/0123abcd.jpg"
    assert not store.exists(key)
    assert store.get(key) is None
    store.put(key, b"\xff\xd8first", "image/jpeg")
    assert store.exists(key)
    assert store.get(key) == b"\xff\xd8first"
    store.put(key, b"\xff\xd8second", "image/jpeg")  # a rewrite replaces it whole
    assert store.get(key) == b"\xff\xd8second"
    store.delete(key)
    assert not store.exists(key)
    assert store.get(key) is None
    store.delete(key)  # deleting what is gone is no error
    for bad in ("../escape.jpg", "/abs.jpg", "photos/../../x", "Photos/X.JPG", "a//b", ""):
        with pytest.raises(ValueError, match="bad object key"):
            store.put(bad, b"x", "image/jpeg")


def test_the_local_store_round_trips_and_keeps_keys_inside_its_root(tmp_path: Path) -> None:
    root = tmp_path / "store"
    _round_trip(LocalStore(root))
    assert not (tmp_path / "escape.jpg").exists()
    assert [p.name for p in root.rglob("*") if p.is_file()] == []  # no temporary files left


def test_a_local_write_is_all_or_nothing(tmp_path: Path) -> None:
    """Readers racing a writer see the old bytes or the new ones, never a part."""
    store = LocalStore(tmp_path)
    key = "photos/c/race.png"
    old, new = b"a" * 2_000_000, b"b" * 3_000_000
    store.put(key, old, "image/png")
    seen: set[int] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            data = store.get(key)
            assert data is not None
            seen.add(len(data))

    reader = threading.Thread(target=read)
    reader.start()
    for _ in range(20):
        store.put(key, new, "image/png")
        store.put(key, old, "image/png")
    stop.set()
    reader.join(10)
    assert seen <= {len(old), len(new)}


def test_a_local_store_that_cannot_write_says_so(tmp_path: Path) -> None:
    blocker = tmp_path / "photos"
    blocker.write_bytes(b"a file where a directory should be")
    with pytest.raises(ObjectStoreError, match="cannot write"):
        LocalStore(tmp_path).put("photos/c/x.jpg", b"x", "image/jpeg")


def test_the_s3_store_round_trips_against_a_real_s3_endpoint() -> None:
    with moto_s3() as config:
        store = make_store(Path("/nonexistent"), config)
        assert isinstance(store, S3Store)
        _round_trip(store)
        store.put("photos/c/typed.png", b"\x89PNG", "image/png")
        head = store.client.head_object(Bucket=config.bucket, Key="photos/c/typed.png")
        assert head["ContentType"] == "image/png"
        missing = S3Store(S3Config("no-such-bucket", **_endpoint(config)))
        with pytest.raises(ObjectStoreError, match="no-such-bucket"):
            missing.put("photos/c/x.jpg", b"x", "image/jpeg")


def _endpoint(config: S3Config) -> dict[str, str | None]:
    return {
        "endpoint_url": config.endpoint_url,
        "region": config.region,
        "access_key_id": config.access_key_id,
        "secret_access_key": config.secret_access_key,
    }


def test_an_unreachable_s3_endpoint_is_a_store_error() -> None:
    config = S3Config(
        "photos",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        region="us-east-1",
        access_key_id="testing",
        secret_access_key="testing",
    )
    store = S3Store(config)
    with pytest.raises(ObjectStoreError):
        store.get("photos/c/x.jpg")


def test_the_store_is_configured_from_the_environment_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from commtwin.cmd_api import config_from  # noqa: PLC0415
    from commtwin.settings import load_settings  # noqa: PLC0415

    monkeypatch.setenv("COMMTWIN_PHOTO_DIR", "/srv/commtwin/photos")
    local = config_from(load_settings())
    assert local.photo_dir == Path("/srv/commtwin/photos")
    assert local.photo_s3 is None
    for name, value in {
        "BUCKET": "commtwin-photos",
        "ENDPOINT_URL": "https://minio.example:9000",
        "REGION": "cn-east-1",
        "ACCESS_KEY_ID": "AKID",
        "SECRET_ACCESS_KEY": "s3cr3t-value",
    }.items():
        monkeypatch.setenv(f"COMMTWIN_PHOTO_S3_{name}", value)
    settings = load_settings()
    s3 = config_from(settings).photo_s3
    assert s3 == S3Config(
        "commtwin-photos", "https://minio.example:9000", "cn-east-1", "AKID", "s3cr3t-value"
    )
    assert "s3cr3t-value" not in repr(s3)
    assert "s3cr3t-value" not in repr(settings)  # nor in the settings' repr
