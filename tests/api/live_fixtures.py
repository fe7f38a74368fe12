"""Helpers of the live/stream/incident/KPI tests: a private seeded database per
module, an API served on it, and a server-sent events reader running in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql

from api.app import create_app
from api.config import ApiConfig
from api.mqtt_publish import BrokerConfig, publish
from commtwin import db
from tests.api.conftest import serve
from tests.api.seed import Seed, seed
from tests.ingest.helpers import IngestProcess
from tests.services import scratch_database


@dataclass
class LiveSite:
    """A seeded database and an API on it (``base`` URL), with keys per role."""

    url: str
    base: str
    seeded: Seed
    config: ApiConfig
    extra_keys: dict[str, str] = field(default_factory=dict)

    def headers(self, role: str) -> dict[str, str]:
        text = self.extra_keys.get(role) or self.seeded.keys[role]
        return {"Authorization": f"Bearer {text}"}

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            cur = conn.execute(query.encode(), params)
            return cur.fetchall() if cur.description else []


@contextmanager
def seeded_database(prefix: str) -> Iterator[tuple[str, Seed]]:
    with scratch_database(prefix) as url:
        db.upgrade(url, prefer="plain")
        yield url, seed(url)


@contextmanager
def live_site(prefix: str, **config: Any) -> Iterator[LiveSite]:
    """A fresh seeded database and the API on it (rate limits off unless given)."""
    with seeded_database(prefix) as (url, seeded):
        options: dict[str, Any] = {"rate_per_s": 1e6, "rate_burst": 1e6, "sse_ping_s": 1.0}
        options.update(config)
        cfg = ApiConfig(url, **options)
        with serve(create_app(cfg)) as base:
            yield LiveSite(url, base, seeded, cfg)


def log_change(site: LiveSite, community: str, kind: str, ref: str, data: object = None) -> int:
    """A change_log row as a writer adds it (in the same transaction as its change)."""
    rows = site.sql(
        "INSERT INTO change_log (community_id, kind, ref, data) VALUES (%s, %s, %s, %s)"
        " RETURNING seq",
        (community, kind, ref, json.dumps(data or {})),
    )
    return int(rows[0][0])


def wait_until(check: Callable[[], bool], timeout: float = 5.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()


@dataclass(frozen=True)
class Sse:
    event: str
    id: str | None
    data: Any


class SseReader:
    """Reads a server-sent event stream in a thread; events land in a queue."""

    def __init__(self, url: str, headers: dict[str, str], params: dict[str, str] | None = None):
        self.events: queue.Queue[Sse] = queue.Queue()
        self.comments = 0
        self.status: int | None = None
        self.retry: int | None = None
        self.error: BaseException | None = None
        self._client = httpx.Client(timeout=httpx.Timeout(10, read=None))
        self._ready = threading.Event()
        self._response: httpx.Response | None = None
        self._thread = threading.Thread(
            target=self._run, args=(url, headers, params), daemon=True, name="sse-reader"
        )
        self._thread.start()
        if not self._ready.wait(10):
            raise TimeoutError(f"no response from {url}")

    def _run(self, url: str, headers: dict[str, str], params: dict[str, str] | None) -> None:
        try:
            with self._client.stream("GET", url, headers=headers, params=params) as response:
                self._response = response
                self.status = response.status_code
                self._ready.set()
                if response.status_code != 200:
                    response.read()
                    return
                self._parse(response.iter_lines())
        except (httpx.HTTPError, RuntimeError, OSError, ValueError) as exc:
            self.error = exc
        finally:
            self._ready.set()

    def _parse(self, lines: Iterator[str]) -> None:
        event, ident, data = "message", None, list[str]()
        for line in lines:
            if line == "":
                if data:
                    self.events.put(Sse(event, ident, json.loads("\n".join(data))))
                event, ident, data = "message", None, list[str]()
            elif line.startswith(":"):
                self.comments += 1
            else:
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "event":
                    event = value
                elif name == "id":
                    ident = value
                elif name == "data":
                    data.append(value)
                elif name == "retry":
                    self.retry = int(value)

    def next(self, timeout: float = 5.0) -> Sse:
        return self.events.get(timeout=timeout)

    def until(self, predicate: Callable[[Sse], bool], timeout: float = 5.0) -> list[Sse]:
        """Events up to and including the first matching one."""
        seen: list[Sse] = []
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no matching event; got {[(e.event, e.id) for e in seen]}")
            try:
                e = self.events.get(timeout=remaining)
            except queue.Empty:
                continue
            seen.append(e)
            if predicate(e):
                return seen

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self._response is not None:
                self._response.close()
        self._client.close()
        self._thread.join(5)

    def __enter__(self) -> SseReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def add_incident(site_url: str, community: str, iid: str, status: str, **columns: Any) -> None:
    """An incidents row written by hand (``reported_at`` required), with its events."""
    cols = {"community_id": community, "id": iid, "status": status, **columns}
    query = sql.SQL("INSERT INTO incidents ({}) VALUES ({})").format(
        sql.SQL(", ").join(map(sql.Identifier, cols)),
        sql.SQL(", ").join(sql.Placeholder() * len(cols)),
    )
    with psycopg.connect(site_url, autocommit=True) as conn:
        conn.execute(query, tuple(cols.values()))


@contextmanager
def ingest_site(prefix: str, broker_url: str, log_dir: Path, **config: Any) -> Iterator[LiveSite]:
    """A seeded database, a real ``commtwin ingest`` on it (a topic root of its own on
    the shared broker), and an API publishing incident commands to that root."""
    root = f"{prefix.replace('_', '-')}-{secrets.token_hex(3)}/v1"
    with seeded_database(prefix) as (url, seeded):
        ingestor = IngestProcess(
            url,
            broker_url,
            log_dir,
            client_id=f"{prefix}-{secrets.token_hex(3)}",
            root=root,
            extra=("--linger-ms", "20"),
        )
        try:
            ingestor.wait_connected()
            options: dict[str, Any] = {
                "rate_per_s": 1e6,
                "rate_burst": 1e6,
                "sse_ping_s": 1.0,
                "mqtt_url": broker_url,
                "topic_root": root,
            }
            options.update(config)
            cfg = ApiConfig(url, **options)
            with serve(create_app(cfg)) as base:
                yield LiveSite(url, base, seeded, cfg)
        finally:
            if ingestor.proc.poll() is None:
                ingestor.terminate()


def mqtt_publish(site: LiveSite, topic_tail: str, payload: object) -> None:
    """Publish (QoS 1) under the site's topic root, as a device or app would."""
    assert site.config.mqtt_url is not None
    broker = BrokerConfig(site.config.mqtt_url)
    topic = f"{site.config.topic_root}/{topic_tail}"
    asyncio.run(publish(broker, topic, json.dumps(payload).encode(), 5.0))
