"""Every /live version and every /stream group is a set of whole commits.

Two ingestors (the real :class:`ingest.pipeline.Pipeline`, one connection each)
commit thousands of multi-row changes concurrently: each commit turns a group of
``SIZE`` devices offline or online together, so its change-log rows interleave
in sequence with the other ingestor's. A watcher polls /live and reads /stream
all along. In a state made of whole commits, the online devices of the groups
are a multiple of ``SIZE``, and the events before each ``version`` event hold
every row of each commit they name; the first version that breaks either fails
the test.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from ingest.parse import DEFAULT_ROOT
from ingest.pipeline import Pipeline
from tests.api.live_fixtures import LiveSite, Sse, SseReader, live_site, wait_until
from tests.api.seed import A

GROUPS = 24  # per ingestor
SIZE = 3
COMMITS = 1000  # per ingestor


@pytest.fixture(scope="module")
def site() -> Iterator[LiveSite]:
    with live_site("commtwin_live_commits", sse_queue=100_000, sse_replay_max=100_000) as s:
        rows = [
            (A, device(ingestor, g, k), ("b1", "b2")[k % 2])
            for ingestor in (0, 1)
            for g in range(GROUPS)
            for k in range(SIZE)
        ]
        with psycopg.connect(s.url, autocommit=True) as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO devices (community_id, id, kind, metrics, building_id,"
                " storey_idx, online, modelled)"
                " VALUES (%s, %s, 'env', '{temperature}', %s, 1, true, true)",
                rows,
            )
        yield s


def device(ingestor: int, group: int, k: int) -> str:
    return f"grp-{ingestor}-{group:02d}-{k}"


def ingest(
    url: str, ingestor: int, failures: list[BaseException], commits: int = COMMITS, pause: float = 0
) -> None:
    """One ingestor: ``commits`` transactions of SIZE status changes each."""
    try:
        pipeline = Pipeline()
        start = datetime.now(UTC) - timedelta(minutes=1)
        with psycopg.connect(url, autocommit=True) as conn:
            pipeline.attach(conn)
            for i in range(commits):
                group, turn = i % GROUPS, i // GROUPS
                ts = (start + timedelta(milliseconds=i)).isoformat()
                body = json.dumps({"online": turn % 2 == 1, "ts": ts}).encode()
                now_us = int(time.time() * 1e6)
                batch = [
                    (
                        f"{DEFAULT_ROOT}/{A}/devices/{device(ingestor, group, k)}/status",
                        body,
                        now_us,
                    )
                    for k in range(SIZE)
                ]
                pipeline.write(conn, batch)
                time.sleep(pause)
    except BaseException as exc:  # reported by the test, not lost in the thread
        failures.append(exc)


class LiveWatcher:
    """Polls /live as a screen does; remembers the first version that is no whole state."""

    def __init__(self, site: LiveSite, base_online: int) -> None:
        self.site = site
        self.base_online = base_online
        self.versions: set[str] = set()
        self.partial: tuple[str, int] | None = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        url = f"{self.site.base}/v1/communities/{A}/live"
        etag: str | None = None
        with httpx.Client(timeout=10) as client:
            while not self.stop.is_set():
                headers = self.site.headers("reader_a")
                if etag:
                    headers["If-None-Match"] = etag
                r = client.get(url, headers=headers)
                if r.status_code != 200:
                    continue
                etag = r.headers["etag"]
                self.versions.add(etag)
                online = r.json()["kpis"]["devices_online"] - self.base_online
                if online % SIZE and self.partial is None:
                    self.partial = (etag, online)


def drain(stream: SseReader, *, until_version: int, timeout: float) -> list[Sse]:
    """The events up to the version ``until_version`` (or what came in ``timeout``)."""
    events: list[Sse] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            e = stream.events.get(timeout=0.5)
        except queue.Empty:
            continue
        events.append(e)
        if e.event == "version" and e.data["version"] >= until_version:
            break
    return events


def whole_commit_groups(events: list[Sse], rows_of: dict[str, int]) -> int:
    """Check each group of events before a version event; the number of commits seen."""
    group: Counter[str] = Counter()
    seen: set[str] = set()
    for e in events:
        assert e.event != "reset", f"the stream was reset: {e.data}"
        if e.event == "version":
            for commit, n in group.items():
                assert commit not in seen, f"commit {commit} split over versions ({e.data})"
                assert n == rows_of[commit], (
                    f"version {e.data['version']}: {n} of the {rows_of[commit]} rows of {commit}"
                )
            seen |= set(group)
            group.clear()
        else:
            group[e.data["commit"]] += 1
    return len(seen)


def test_two_ingestors_commits_are_seen_whole_on_live_and_stream(site: LiveSite) -> None:
    first = httpx.get(f"{site.base}/v1/communities/{A}/live", headers=site.headers("reader_a"))
    base_online = first.json()["kpis"]["devices_online"] - 2 * GROUPS * SIZE
    watcher = LiveWatcher(site, base_online)
    failures: list[BaseException] = []
    with SseReader(f"{site.base}/v1/communities/{A}/stream", site.headers("reader_a")) as stream:
        assert stream.next().event == "version"
        writers = [threading.Thread(target=ingest, args=(site.url, n, failures)) for n in (0, 1)]
        for w in writers:
            w.start()
        for w in writers:
            w.join(300)
        assert not failures, failures
        rows = site.sql(
            "SELECT tx::text, count(*) FROM change_log WHERE community_id = %s"
            " AND kind = 'device' AND ref LIKE 'grp-%%' GROUP BY tx",
            (A,),
        )
        rows_of = {str(tx): int(n) for tx, n in rows}
        assert len(rows_of) == 2 * COMMITS
        assert set(rows_of.values()) == {SIZE}
        (last,) = site.sql("SELECT max(seq) FROM change_log")[0]
        events = drain(stream, until_version=last, timeout=60)
    watcher.stop.set()
    watcher.thread.join(10)
    assert watcher.partial is None, f"/live served a partial commit: {watcher.partial}"
    assert len(watcher.versions) > 20  # the watcher saw the changes in flight
    assert whole_commit_groups(events, rows_of) == 2 * COMMITS
    assert wait_until(
        lambda: (
            httpx.get(
                f"{site.base}/v1/communities/{A}/live", headers=site.headers("reader_a")
            ).json()["version"]
            >= last
        )
    )


def statuses(buildings: list[dict[str, Any]]) -> dict[str, tuple[str, int, list[str]]]:
    """Building id → (status, devices online, storey statuses), as /live lists them."""
    return {
        b["id"]: (b["status"], b["devices_online"], [s["status"] for s in b["storeys"]])
        for b in buildings
    }


def test_buildings_and_live_agree_on_every_status_with_changes_in_flight(site: LiveSite) -> None:
    failures: list[BaseException] = []
    writer = threading.Thread(target=ingest, args=(site.url, 0, failures, 250, 0.01))
    writer.start()
    compared = 0
    with httpx.Client(base_url=site.base, headers=site.headers("reader_a"), timeout=10) as client:
        while writer.is_alive():
            fc = client.get(f"/v1/communities/{A}/buildings").json()
            snap = client.get(f"/v1/communities/{A}/live").json()
            if fc["version"] != snap["version"]:
                continue  # a commit came between the two reads
            from_buildings = {
                f["id"]: (
                    f["properties"]["status"],
                    f["properties"]["devices_online"],
                    [s["status"] for s in f["properties"]["storeys"]],
                )
                for f in fc["features"]
            }
            assert from_buildings == statuses(snap["buildings"]), f"version {fc['version']}"
            compared += 1
    writer.join()
    assert not failures, failures
    assert compared >= 10
