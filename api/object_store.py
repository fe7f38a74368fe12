"""Where photo bytes live: one small interface, a local directory or any S3-compatible store.

Both are blocking (files, boto3); the routes call them off the event loop.
Keys are made by the API (``photos/<community>/<random>.jpg``), never taken
from a client, and are checked anyway so no key can leave the store's root.

>>> import tempfile
>>> store = LocalStore(Path(tempfile.mkdtemp()))
>>> store.put("photos/a/x.jpg", b"abc", "image/jpeg")
>>> store.get("photos/a/x.jpg"), store.exists("photos/a/y.jpg")
(b'abc', False)
>>> store.delete("photos/a/x.jpg"); store.get("photos/a/x.jpg") is None
True
>>> store.put("../etc/passwd", b"", "text/plain")
Traceback (most recent call last):
...
ValueError: bad object key '../etc/passwd'
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_.-]*)*$")


class ObjectStoreError(Exception):
    """The store could not be reached or refused the operation (the API answers 503)."""


def check_key(key: str) -> str:
    if len(key) > 300 or not _KEY.fullmatch(key) or ".." in key:
        raise ValueError(f"bad object key {key!r}")
    return key


class ObjectStore(Protocol):
    """Bytes by key. ``get`` of a missing key is None; ``delete`` of one is no error.

    Failures of the store itself are :class:`ObjectStoreError`.
    """

    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes | None: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class LocalStore:
    """Files under ``root``; a write is a temporary file renamed into place (all or nothing)."""

    root: Path

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        except OSError as exc:
            raise ObjectStoreError(f"cannot write under {self.root}: {exc}") from exc
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)  # readers see the whole file or none
        except BaseException as exc:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                raise ObjectStoreError(f"cannot write {key}: {exc}") from exc
            raise

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ObjectStoreError(f"cannot read {key}: {exc}") from exc

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise ObjectStoreError(f"cannot delete {key}: {exc}") from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


@dataclass(frozen=True, slots=True)
class S3Config:
    """An S3-compatible bucket (AWS, MinIO, Ceph...); ``None`` fields take boto3's defaults.

    >>> S3Config("photos", access_key_id="AK", secret_access_key="SECRET")
    S3Config(bucket='photos', endpoint_url=None, region=None, access_key_id='AK')
    """

    bucket: str
    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    # Never shown in a repr (logs, tracebacks).
    secret_access_key: str | None = field(default=None, repr=False)


class S3Store:
    """Objects in one bucket, through boto3 (its own connection pool, thread-safe)."""

    def __init__(self, config: S3Config, client: S3Client | None = None) -> None:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - S3 only

        self.bucket = config.bucket
        self.client = client if client is not None else s3_client(config)
        self._client_error = ClientError
        self._failures: tuple[type[Exception], ...] = (BotoCoreError, ClientError)

    def _missing(self, exc: Exception) -> bool:
        if not isinstance(exc, self._client_error):
            return False
        return exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")

    def put(self, key: str, data: bytes, content_type: str) -> None:
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=check_key(key), Body=data, ContentType=content_type
            )
        except self._failures as exc:
            raise ObjectStoreError(f"cannot write {key} to bucket {self.bucket}: {exc}") from exc

    def get(self, key: str) -> bytes | None:
        try:
            found = self.client.get_object(Bucket=self.bucket, Key=check_key(key))
            return found["Body"].read()
        except self._failures as exc:
            if self._missing(exc):
                return None
            raise ObjectStoreError(f"cannot read {key} from bucket {self.bucket}: {exc}") from exc

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=check_key(key))
        except self._failures as exc:
            raise ObjectStoreError(f"cannot delete {key} in bucket {self.bucket}: {exc}") from exc

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=check_key(key))
        except self._failures as exc:
            if self._missing(exc):
                return False
            raise ObjectStoreError(f"cannot look up {key} in bucket {self.bucket}: {exc}") from exc
        return True


def s3_client(config: S3Config) -> S3Client:
    import boto3  # noqa: PLC0415 - boto3 takes ~0.3 s to import: only when S3 is configured
    from botocore.config import Config  # noqa: PLC0415

    client: S3Client = boto3.client(
        "s3",
        endpoint_url=config.endpoint_url,
        region_name=config.region,
        aws_access_key_id=config.access_key_id,
        aws_secret_access_key=config.secret_access_key,
        config=Config(
            # Path-style addressing works with every S3-compatible server (MinIO, moto, Ceph).
            s3={"addressing_style": "path"},
            retries={"mode": "standard"},
            # Checksums only where S3 requires them: servers other than AWS may
            # refuse the CRC32 headers boto3 adds by default since 1.36.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )
    return client


def make_store(local_dir: Path, s3: S3Config | None) -> ObjectStore:
    """The S3 store when one is configured, else files under ``local_dir``."""
    if s3 is not None:
        return S3Store(s3)
    return LocalStore(local_dir)
