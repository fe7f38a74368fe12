"""The ingest command line (help, bad options, deadletters listing) and a broker restart."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ingest.helpers import IngestProcess, scalar, wait_for_value
from tests.ingest.publisher import publish, telemetry_feed
from tests.services import ROOT, Broker


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("COMMTWIN_")}
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "commtwin", *args],
        capture_output=True, text=True, env=full, cwd=ROOT, timeout=60, check=False,
    )  # fmt: skip


def test_ingest_help_documents_every_option() -> None:
    out = cli("ingest", "--help")
    assert out.returncode == 0
    options = set(re.findall(r"--[a-z][a-z-]+", out.stdout))
    assert {"--client-id", "--group", "--protocol", "--batch-max", "--linger-ms",
            "--metrics-port", "--log-format", "--drain-timeout"} <= options  # fmt: skip
    # Every option line carries a help text (argparse prints "--x X   text").
    for option in options - {"--help"}:
        assert re.search(re.escape(option) + r"[ A-Z_{},.0-9]*\n?\s+\S", out.stdout), option


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--batch-max", "0"), "--batch-max must be at least 1"),
        (("--group", "a/b"), "--group may hold"),
        (("--communities", "lanting,Bad/+"), "--communities: 'Bad/+' is not a community id"),
        (("--receive-maximum", "70000"), "--receive-maximum must be at most 65535"),
        (("--gc-freeze-every", "-1"), "--gc-freeze-every must be 0 (never) or positive"),
    ],
)
def test_bad_options_are_one_line(args: tuple[str, ...], message: str) -> None:
    out = cli("ingest", *args)
    assert out.returncode == 2
    assert message in out.stderr
    assert out.stderr.count("\n") == 1, out.stderr


def test_unmigrated_database_is_one_line(empty_database_url: str, broker: Broker) -> None:
    out = cli(
        "ingest",
        env={"COMMTWIN_DATABASE_URL": empty_database_url, "COMMTWIN_MQTT_URL": broker.url},
    )
    assert out.returncode == 2
    assert "run `commtwin db upgrade`" in out.stderr
    assert "Traceback" not in out.stderr


def test_unreachable_database_is_one_line(broker: Broker) -> None:
    env = {"COMMTWIN_DATABASE_URL": "postgresql://u@127.0.0.1:1/x", "COMMTWIN_MQTT_URL": broker.url}
    for command in (("ingest",), ("deadletters",)):
        out = cli(*command, env=env)
        assert out.returncode == 2
        assert out.stderr.startswith("commtwin: cannot connect to the database"), out.stderr
        assert out.stderr.count("\n") == 1


def test_deadletters_lists_recent_ones(
    broker: Broker, ingest_db: str, root: str, tmp_path: Path
) -> None:
    env = {"COMMTWIN_DATABASE_URL": ingest_db}
    assert cli("deadletters", env=env).stdout.strip() == "no dead letters"
    ingestor = IngestProcess(ingest_db, broker.url, tmp_path, client_id=f"dl-{root}", root=root)
    ingestor.wait_connected()
    bad = [
        (f"{root}/lanting/devices/d1/telemetry", b'{"values": {"t": "hot"}}'),
        (f"{root}/lanting/devices/d1/telemetry", b"\xff"),
        (f"{root}/nowhere/devices/d1/status", b'{"online": true}'),
        (f"{root}/lanting/gadgets/d1", b"{}"),
    ]
    publish(broker.url, bad)
    count = "SELECT count(*) FROM dead_letters"
    assert wait_for_value(lambda: scalar(ingest_db, count), 4, 30) == 4
    assert ingestor.terminate() == 0
    text = cli("deadletters", env=env)
    assert text.returncode == 0, text.stderr
    for reason in ("bad_value_type", "bad_utf8", "unknown_community", "bad_topic"):
        assert reason in text.stdout
    rows = [json.loads(line) for line in cli("deadletters", "--json", env=env).stdout.splitlines()]
    assert {r["reason"] for r in rows} == {
        "bad_value_type",
        "bad_utf8",
        "unknown_community",
        "bad_topic",
    }
    assert any(r["payload_hex"] == "ff" for r in rows)
    only = cli("deadletters", "--reason", "bad_utf8", "--json", env=env).stdout.splitlines()
    assert len(only) == 1


def test_broker_restart_mid_feed(ingest_db: str, root: str, tmp_path: Path) -> None:
    """The ingestor reconnects with backoff to the same session and loses nothing."""
    private = Broker().start()
    try:
        ingestor = IngestProcess(
            ingest_db, private.url, tmp_path, client_id=f"br-{root}", root=root
        )
        ingestor.wait_connected()
        feed = list(telemetry_feed(20_000, community="lanting", root=root))
        publish(private.url, feed[:10_000])
        private.restart()
        # CONNACK first: the SUBACK may queue behind the session's redelivered
        # backlog, which a loaded CI machine can take well over 30 s to commit.
        reconnected = "generation=2 session_present=True"
        assert wait_for_value(lambda: reconnected in ingestor.log, True, 30), ingestor.log
        publish(private.url, feed[10_000:])
        rows = "SELECT count(*) FROM readings"
        assert wait_for_value(lambda: scalar(ingest_db, rows), 60_000, 120) == 60_000
        assert ingestor.log.count("mqtt subscribed") == 2, ingestor.log
        assert ingestor.terminate() == 0, ingestor.log
        assert scalar(ingest_db, "SELECT sum(n)::int FROM readings_1m") == 60_000
    finally:
        private.close()
