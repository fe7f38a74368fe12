"""``commtwin api --workers 2``: two processes on one port, each with its own live
state, agree on every ETag (a poller moved from one to the other gets 304s)."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.api.live_fixtures import seeded_database, wait_until
from tests.api.seed import A, Seed
from tests.services import free_port

LIVE = f"/v1/communities/{A}/live"


@pytest.fixture(scope="module")
def workers() -> Iterator[tuple[str, Seed, int, subprocess.Popen[bytes]]]:
    with seeded_database("commtwin_test_api_workers") as (url, seeded):
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMMTWIN_")}
        env |= {"COMMTWIN_DATABASE_URL": url, "COMMTWIN_LOG_LEVEL": "WARNING"}
        cmd = [sys.executable, "-m", "commtwin", "api", "--port", str(port), "--workers", "2"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            assert wait_until(lambda: _ready(port), timeout=30), "the API did not start"
            yield url, seeded, port, proc
        finally:
            proc.terminate()
            _, errors = proc.communicate(timeout=30)
            assert proc.returncode == 0, errors[-2000:]
            assert b"Traceback" not in errors


def _ready(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/readyz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _worker_of(port: int, client_port: int, children: list[int]) -> int:
    """The worker pid holding the server side of the connection from ``client_port``."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == port and int(remote.split(":")[1], 16) == client_port:
            inode = fields[9]
    assert inode is not None
    for child in children:
        for fd in Path(f"/proc/{child}/fd").iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return child
            except FileNotFoundError:
                continue
    raise AssertionError(f"no worker holds the connection from port {client_port}")


def _get(conn: http.client.HTTPConnection, key: str, **headers: str) -> tuple[int, str, bytes]:
    conn.request("GET", LIVE, headers={"Authorization": f"Bearer {key}", **headers})
    resp = conn.getresponse()
    return resp.status, resp.getheader("etag") or "", resp.read()


def test_two_workers_serve_one_port_and_agree_on_etags(
    workers: tuple[str, Seed, int, subprocess.Popen[bytes]],
) -> None:
    url, seeded, port, proc = workers
    key = seeded.keys["reader_a"]
    children = _children(proc.pid)
    assert len(children) == 2
    # Keep-alive connections, spread by the kernel over both workers' sockets.
    conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(16)]
    try:
        _agree(url, key, port, children, conns)
    finally:
        for conn in conns:
            conn.close()


def _agree(
    url: str, key: str, port: int, children: list[int], conns: list[http.client.HTTPConnection]
) -> None:
    first = [_get(c, key) for c in conns]
    owner = {_worker_of(port, c.sock.getsockname()[1], children): c for c in conns}
    assert set(owner) == set(children), "every worker serves some connections"
    assert {status for status, _, _ in first} == {200}
    assert len({etag for _, etag, _ in first}) == 1
    with psycopg.connect(url) as db, db.transaction():
        db.execute(
            "UPDATE devices SET online = false WHERE community_id = %s AND id = 'env-b2'", (A,)
        )
        row = db.execute(
            "INSERT INTO change_log (community_id, kind, ref, data)"
            " VALUES (%s, 'device', 'env-b2', %s) RETURNING seq",
            (A, json.dumps({"online": False})),
        ).fetchone()
    assert row is not None
    expected = f'"{row[0]}"'

    def all_moved() -> bool:
        return all(_get(c, key)[1] == expected for c in conns)

    assert wait_until(all_moved, timeout=10)
    documents = [json.loads(_get(c, key)[2]) for c in owner.values()]
    for doc in documents:
        doc.pop("generated_at")  # each worker's render time
        assert doc["version"] == row[0]
    assert documents[0] == documents[1], "both workers hold the same state"
    # A poller whose next request lands on the other worker is told 304 there.
    for conn in owner.values():
        status, etag, body = _get(conn, key, **{"If-None-Match": expected})
        assert (status, etag, body) == (304, expected, b"")
        status, etag, _ = _get(conn, key, **{"Accept-Encoding": "gzip"})
        assert (status, etag) == (200, expected)


def test_a_busy_port_is_one_line_and_workers_are_bounded(
    workers: tuple[str, Seed, int, subprocess.Popen[bytes]],
) -> None:
    url, _, port, _ = workers
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMTWIN_")}
    env["COMMTWIN_DATABASE_URL"] = url
    for extra, needle in (
        (["--port", str(port), "--workers", "2"], f"cannot serve on 127.0.0.1:{port}"),
        (["--port", str(free_port()), "--workers", "0"], "--workers: 0 is not between 1 and 64"),
    ):
        started = time.monotonic()
        out = subprocess.run(
            [sys.executable, "-m", "commtwin", "api", *extra],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert out.returncode == 2, out.stderr
        assert out.stderr.count("\n") == 1, out.stderr
        assert needle in out.stderr
        assert time.monotonic() - started < 20
