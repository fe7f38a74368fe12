"""SLA deadlines and escalation, with the clock chosen by the test: the ingestor's own
escalation tick runs once at start (nothing due), then the test calls the tick
directly against the database with the ``now`` it wants."""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from ingest.incident_writer import IncidentBook, IncidentPolicy
from ingest.places import Places
from ingest.ticker import Ticker
from tests.incidents.helpers import event, now_utc, publish_events, rows, run_cli, wait_rows
from tests.ingest.helpers import IngestProcess
from tests.services import Broker
from twin.incidents.record import is_overdue, sla_breaches
from twin.incidents.rows import INCIDENT_COLUMNS, record_from_row

INGEST_OPTIONS = ("--escalation-tick", "86400")
MIN = timedelta(minutes=1)
T0 = now_utc() - timedelta(hours=3)


@pytest.fixture
def tick(loop_db: str) -> Ticker:
    places = Places()
    return Ticker(loop_db, alarms=None, book=IncidentBook(IncidentPolicy(), places), places=places)


def escalate(ticker: Ticker, url: str, now: datetime) -> list[tuple[str, str, datetime]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return sorted((e.incident_id, e.event_id, e.ts) for e in ticker.tick_escalations(conn, now))


def record(url: str, incident: str) -> object:
    query = sql.SQL("SELECT {} FROM incidents WHERE id = %s").format(
        sql.SQL(", ").join(map(sql.Identifier, INCIDENT_COLUMNS))
    )
    with psycopg.connect(url) as conn:
        row = conn.execute(query, (incident,)).fetchone()
    assert row is not None
    return record_from_row(dict(zip(INCIDENT_COLUMNS, row, strict=True)))


def test_escalation_by_deadline_once_per_stage(
    ingestor: IngestProcess, loop_db: str, broker: Broker, root: str, tick: Ticker
) -> None:
    publish_events(
        broker.url,
        root,
        [
            event("s-1", "e1", "reported", T0, category="noise"),  # 30 min / 24 h
            event("s-2", "e1", "reported", T0, category="fire"),  # critical: 5 min / 2 h
            event("s-3", "e1", "reported", T0, category="noise"),
        ],
    )
    assert wait_rows(loop_db, "SELECT count(*) FROM incidents", expect=[(3,)]) == [(3,)]
    assert escalate(tick, loop_db, T0 + 5 * MIN) == []  # due means "by": not late yet
    assert escalate(tick, loop_db, T0 + 6 * MIN) == [("s-2", "escalate-respond:s-2", T0 + 5 * MIN)]
    assert escalate(tick, loop_db, T0 + 31 * MIN) == [
        ("s-1", "escalate-respond:s-1", T0 + 30 * MIN),
        ("s-3", "escalate-respond:s-3", T0 + 30 * MIN),
    ]
    assert escalate(tick, loop_db, T0 + 31 * MIN) == []  # once per stage
    assert rows(
        loop_db, "SELECT status, escalated_at, escalations FROM incidents WHERE id = 's-1'"
    ) == [("reported", T0 + 30 * MIN, ["respond"])]
    assert rows(
        loop_db,
        "SELECT type, source, data->>'stage' FROM incident_events WHERE event_id = %s",
        "escalate-respond:s-1",
    ) == [("escalated", "auto", "respond")]
    assert rows(
        loop_db,
        "SELECT data->>'event', data->>'status' FROM change_log "
        "WHERE kind = 'incident' AND ref = 's-1' ORDER BY seq",
    ) == [("reported", "reported"), ("escalated", "reported")]

    # s-3's worker accepted in time, but the news arrives after the escalation:
    # the acceptance applies and counts as on time; the escalation stays on record.
    publish_events(
        broker.url,
        root,
        [
            event("s-3", "e2", "dispatched", T0 + 10 * MIN, assignee="w-li"),
            event("s-3", "e3", "accepted", T0 + 20 * MIN),
            event("s-2", "e2", "dispatched", T0 + 10 * MIN, assignee="w-zhang"),
            event("s-2", "e3", "accepted", T0 + 20 * MIN),
        ],
    )
    assert wait_rows(
        loop_db, "SELECT id, status FROM incidents WHERE id IN ('s-2', 's-3') ORDER BY id",
        expect=[("s-2", "accepted"), ("s-3", "accepted")],
    ) == [("s-2", "accepted"), ("s-3", "accepted")]  # fmt: skip
    s3 = record(loop_db, "s-3")
    assert sla_breaches(s3, T0 + 2 * timedelta(hours=1)) == frozenset()  # type: ignore[arg-type]
    assert rows(loop_db, "SELECT escalated_at FROM incidents WHERE id = 's-3'") == [
        (T0 + 30 * MIN,)
    ]
    # s-2 (critical) is accepted but not resolved by its 2 h deadline.
    assert escalate(tick, loop_db, T0 + 2 * timedelta(hours=1)) == []
    late = T0 + 2 * timedelta(hours=1) + timedelta(seconds=1)
    assert escalate(tick, loop_db, late) == [
        ("s-2", "escalate-resolve:s-2", T0 + 2 * timedelta(hours=1))
    ]
    assert is_overdue(record(loop_db, "s-2"), late)  # type: ignore[arg-type]
    assert rows(loop_db, "SELECT escalations FROM incidents WHERE id = 's-2'") == [
        (["resolve", "respond"],)
    ]
    # A day later the ordinary ones miss their resolve deadline too.
    day = T0 + timedelta(days=1, minutes=1)
    assert escalate(tick, loop_db, day) == [
        ("s-1", "escalate-resolve:s-1", T0 + timedelta(days=1)),
        ("s-3", "escalate-resolve:s-3", T0 + timedelta(days=1)),
    ]


def test_a_policy_file_sets_deadlines_and_alarm_incidents(
    loop_db: str, broker: Broker, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(
        json.dumps(
            {
                "sla": {"categories": {"noise": {"respond": "1h", "resolve": "3d"}}},
                "alarm_incidents": {"categories": {"smoke": "fire"}},
            }
        )
    )
    root = f"pol{secrets.token_hex(3)}/v1"
    process = IngestProcess(
        loop_db,
        broker.url,
        tmp_path,
        client_id=f"policy-{root}",
        root=root,
        extra=("--incident-policy", str(policy), "--escalation-tick", "86400"),
    )
    try:
        process.wait_connected()
        publish_events(broker.url, root, [event("p-1", "e1", "reported", T0, category="noise")])
        due = wait_rows(
            loop_db,
            "SELECT respond_due_at - reported_at, resolve_due_at - reported_at "
            "FROM incidents WHERE id = 'p-1'",
            expect=[(timedelta(hours=1), timedelta(days=3))],
        )
        assert due == [(timedelta(hours=1), timedelta(days=3))]
    finally:
        assert process.terminate() == 0, process.log
    bad = tmp_path / "bad.json"
    bad.write_text('{"sla": {"default": {"respond": "soon"}}}')
    out = run_cli("ingest", "--incident-policy", str(bad), env={"COMMTWIN_DATABASE_URL": loop_db})
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f"commtwin: {bad}: incident policy: sla.default.respond: expected a positive duration"
        " like 90s, 30m, 2h or 1d (or seconds as a number), got 'soon'"
    ]
