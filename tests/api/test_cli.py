"""`commtwin keys`, `commtwin history` and `commtwin api` as an operator runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import httpx
import pytest

from tests.api.seed import A, Seed
from tests.services import free_port, wait_for_port


def run(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMTWIN_")}
    env["COMMTWIN_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "commtwin", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_keys_create_prints_the_key_alone_on_its_last_line(
    database_url: str, api_url: str, seeded: Seed
) -> None:
    out = run(
        database_url,
        "keys",
        "create",
        "--scope",
        "cockpit:read,maintainer",
        "--community",
        A,
        "--name",
        "cli-test",
    )
    assert out.returncode == 0, out.stderr
    key = out.stdout.splitlines()[-1]
    assert key.startswith("ctk_")
    assert " " not in key
    r = httpx.get(f"{api_url}/v1/communities/{A}/deadletters", headers={"X-API-Key": key})
    assert r.status_code == 200
    listing = run(database_url, "keys", "list")
    assert "cli-test" in listing.stdout
    assert key not in listing.stdout
    assert key.split("_", 2)[2] not in listing.stdout
    prefix = key.split("_", 2)[1]
    revoked = run(database_url, "keys", "revoke", prefix)
    assert revoked.returncode == 0
    assert "cli-test" not in run(database_url, "keys", "list").stdout
    assert "cli-test" in run(database_url, "keys", "list", "--all").stdout
    assert httpx.get(f"{api_url}/v1/communities", headers={"X-API-Key": key}).status_code == 401


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["keys", "create", "--scope", "root"], "unknown scope 'root'"),
        (["keys", "create", "--scope", "admin", "--community", "nope"], "unknown community"),
        (["keys", "revoke", "424242424242"], "key '424242424242' not found"),
    ],
)
def test_keys_errors_are_one_line(database_url: str, args: list[str], needle: str) -> None:
    out = run(database_url, *args)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1, out.stderr
    assert needle in out.stderr


def test_history_cli_matches_the_api_csv(database_url: str, api_url: str, seeded: Seed) -> None:
    start = seeded.start.isoformat()
    end = (seeded.start + timedelta(hours=5)).isoformat()
    out = run(
        database_url,
        "history",
        "env-a2",
        "--community",
        A,
        "--metric",
        "temperature",
        "--from",
        start,
        "--to",
        end,
        "--bucket",
        "1h",
        "--agg",
        "last",
        "--csv",
    )
    assert out.returncode == 0, out.stderr
    api = httpx.get(
        f"{api_url}/v1/communities/{A}/devices/env-a2/history",
        params={"metric": "temperature", "from": start, "to": end, "bucket": "1h", "agg": "last"},
        headers={"X-API-Key": seeded.keys["maintainer_a"], "Accept": "text/csv"},
    )
    assert out.stdout == api.text
    assert len(out.stdout.splitlines()) == 6
    table = run(
        database_url,
        "history",
        "env-a2",
        "--community",
        A,
        "--metric",
        "temperature",
        "--from",
        start,
        "--to",
        end,
        "--bucket",
        "1h",
    )
    assert "avg per 1h" in table.stdout
    assert "from readings_1h: 5 points" in table.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["nope", "--community", A, "--metric", "temperature"], "device 'nope' not found"),
        (["env-a2", "--community", A, "--metric", "nope"], "metric: unknown metric 'nope'"),
        (["env-a2", "--community", A, "--metric", "temperature", "--bucket", "7w"], "bucket:"),
        (["env-a2", "--community", A, "--metric", "temperature", "--from", "soon"], "--from:"),
        (["env-a2", "--metric", "temperature"], "--community is required"),
    ],
)
def test_history_cli_errors_are_one_line(
    database_url: str, seeded: Seed, args: list[str], needle: str
) -> None:
    out = run(database_url, "history", *args)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1, out.stderr
    assert needle in out.stderr


def test_api_command_serves_and_stops(database_url: str, seeded: Seed) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMTWIN_")}
    env["COMMTWIN_DATABASE_URL"] = database_url
    proc = subprocess.Popen(
        [sys.executable, "-m", "commtwin", "api", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=20)
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").json()["status"] == "ready"
        r = httpx.get(
            f"http://127.0.0.1:{port}/v1/communities",
            headers={"Authorization": f"Bearer {seeded.keys['reader_a']}"},
        )
        assert r.json()["data"][0]["id"] == A
        assert httpx.get(f"http://127.0.0.1:{port}/openapi.json").json()["info"]["title"]
        busy = run(database_url, "api", "--host", "127.0.0.1", "--port", str(port))
        assert busy.returncode == 2
        assert busy.stderr.startswith(f"commtwin: cannot serve on 127.0.0.1:{port}")
    finally:
        proc.terminate()
        assert proc.wait(timeout=15) in (0, -15)
