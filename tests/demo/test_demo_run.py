"""`commtwin demo` end to end, in the background as a user runs it.

Each run must, within 60 s of starting, show online devices through the API
with the key it printed and serve the cockpit page; Ctrl-C (SIGINT to its
process group) must end it with every process it started.
"""

from __future__ import annotations

import secrets
import signal
from pathlib import Path

import psycopg

from tests.demo.helpers import (
    SCRIPTS_DEMO,
    DemoRun,
    alive,
    check_live,
    demo_env,
    postmaster_pid,
    start,
    stop_and_check_gone,
)
from tests.services import Broker, scratch_database


def test_demo_uses_the_configured_database_and_broker(
    broker: Broker, data_dir: Path, runs: list[DemoRun]
) -> None:
    # A topic root of its own: the session broker carries other tests' feeds.
    root = f"commtwin-demo-test/{secrets.token_hex(4)}"
    with scratch_database("commtwin_demo") as url:
        env = demo_env(
            COMMTWIN_DATABASE_URL=url, COMMTWIN_MQTT_URL=broker.url, COMMTWIN_TOPIC_ROOT=root
        )
        run = start(runs, data_dir, env)
        check_live(run)
        assert "Database:  COMMTWIN_DATABASE_URL" in run.output
        assert f"MQTT:      {broker.url} (COMMTWIN_MQTT_URL" in run.output
        # How to sign in as the demo's people on the phone pages.
        assert "/app/demo (community demo, password demo-" in run.output
        for login in ("office", "worker1", "resident1"):
            assert f"    {login} " in run.output
        stop_and_check_gone(run, data_dir)
        assert not (data_dir / "pg").exists(), "no embedded PostgreSQL when one is configured"
        assert not (data_dir / "mosquitto").exists()
        with psycopg.connect(url) as conn:
            readings = conn.execute("SELECT count(*) FROM readings").fetchone()
            online = conn.execute(
                "SELECT count(*) FROM devices WHERE community_id = 'demo' AND online"
            ).fetchone()
        assert readings is not None
        assert readings[0] > 0
        assert online is not None
        assert online[0] > 0


def test_demo_with_nothing_configured_embeds_postgres_and_mosquitto_and_reuses_its_data(
    data_dir: Path, runs: list[DemoRun]
) -> None:
    env = demo_env()
    first = start(runs, data_dir, env, command=SCRIPTS_DEMO)
    cockpit = check_live(first)
    assert "embedded PostgreSQL" in first.output
    assert "private mosquitto, MQTT 5" in first.output
    pg = postmaster_pid(data_dir / "pg")
    assert pg is not None
    assert alive({pg}) == {pg}

    # One demo per data directory: a second one says so and starts nothing.
    second = start(runs, data_dir, env)
    assert second.proc.wait(30) == 2
    assert "another demo" in second.output
    assert "--data-dir" in second.output

    stop_and_check_gone(first, data_dir, {pg})
    assert not (data_dir / "pg" / "postmaster.pid").exists(), "PostgreSQL stopped cleanly"

    again = start(runs, data_dir, env)
    reused = again.wait_for_cockpit()
    assert reused.key == cockpit.key
    assert "(cockpit:read, reused)" in again.output
    assert "unchanged" in again.output  # the community was already imported
    pg = postmaster_pid(data_dir / "pg")
    assert pg is not None
    stop_and_check_gone(again, data_dir, {pg})


def test_demo_falls_back_to_the_embedded_amqtt_broker(data_dir: Path, runs: list[DemoRun]) -> None:
    run = start(runs, data_dir, demo_env(), "--broker", "amqtt")
    check_live(run)
    assert "embedded amqtt broker, MQTT 3.1.1" in run.output
    pg = postmaster_pid(data_dir / "pg")
    assert pg is not None
    # A service manager stops with SIGTERM: the same clean stop as Ctrl-C.
    stop_and_check_gone(run, data_dir, {pg}, signal.SIGTERM)
