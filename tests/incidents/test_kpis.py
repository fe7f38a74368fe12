"""Closed-loop KPIs over incidents that went through MQTT, the ingestor and PostgreSQL,
read back from the ``incidents`` table, against figures worked out by hand."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
from psycopg import sql

from tests.incidents.helpers import event, now_utc, publish_events, wait_rows
from tests.ingest.helpers import IngestProcess
from tests.services import Broker
from twin.incidents.kpis import incident_kpis
from twin.incidents.record import IncidentRecord
from twin.incidents.rows import INCIDENT_COLUMNS, record_from_row

INGEST_OPTIONS = ("--escalation-tick", "86400")
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
T0 = now_utc() - timedelta(hours=6)
B01 = {"building": "b01"}  # grid g1
B02 = {"building": "b02"}  # grid g2


def lifecycle() -> list[dict[str, Any]]:
    """Five incidents (k-a .. k-e); the comments give what the KPIs must find."""
    return [
        # k-a: respond 10 min, closed after 2 h, rated 5.
        event("k-a", "1", "reported", T0, category="noise", location=B01),
        event("k-a", "2", "dispatched", T0 + 1 * MIN, assignee="w-zhang"),
        event("k-a", "3", "accepted", T0 + 10 * MIN),
        event("k-a", "4", "resolved", T0 + HOUR),
        event("k-a", "5", "closed", T0 + 2 * HOUR, satisfaction=5),
        # k-b: respond 20 min, closed after 4 h, rated 3.
        event("k-b", "1", "reported", T0 + 5 * MIN, category="noise", location=B01),
        event("k-b", "2", "dispatched", T0 + 6 * MIN, assignee="w-zhang"),
        event("k-b", "3", "accepted", T0 + 25 * MIN),
        event("k-b", "4", "resolved", T0 + 3 * HOUR),
        event("k-b", "5", "closed", T0 + 4 * HOUR + 5 * MIN, satisfaction=3),
        # k-c: withdrawn after 5 min: leaves the closed-loop denominator.
        event("k-c", "1", "reported", T0 + 10 * MIN, category="parking"),
        event("k-c", "2", "cancelled", T0 + 15 * MIN),
        # k-d: never answered: overdue (respond due at +50 min).
        event("k-d", "1", "reported", T0 + 20 * MIN, category="garbage"),
        # k-e: respond 5 min (to the first acceptance), reopened once, closed
        # after 2 h, not rated.
        event("k-e", "1", "reported", T0 + 30 * MIN, category="lift", location=B02),
        event("k-e", "2", "dispatched", T0 + 31 * MIN, assignee="w-li"),
        event("k-e", "3", "accepted", T0 + 35 * MIN),
        event("k-e", "4", "resolved", T0 + HOUR),
        event("k-e", "5", "reopened", T0 + HOUR + 10 * MIN),  # back to dispatched
        event("k-e", "6", "accepted", T0 + HOUR + 15 * MIN),
        event("k-e", "7", "resolved", T0 + 2 * HOUR),
        event("k-e", "8", "closed", T0 + 2 * HOUR + 30 * MIN),
    ]


def stored_records(url: str) -> list[IncidentRecord]:
    query = sql.SQL("SELECT {} FROM incidents WHERE id LIKE 'k-%%' ORDER BY id").format(
        sql.SQL(", ").join(map(sql.Identifier, INCIDENT_COLUMNS))
    )
    with psycopg.connect(url) as conn:
        return [
            record_from_row(dict(zip(INCIDENT_COLUMNS, row, strict=True)))
            for row in conn.execute(query).fetchall()
        ]


def test_kpis_from_the_database_match_the_hand_computed_figures(
    ingestor: IngestProcess, loop_db: str, broker: Broker, root: str
) -> None:
    publish_events(broker.url, root, lifecycle())
    final = wait_rows(
        loop_db,
        "SELECT id, status FROM incidents WHERE id LIKE 'k-%%' ORDER BY id",
        expect=[
            ("k-a", "closed"),
            ("k-b", "closed"),
            ("k-c", "cancelled"),
            ("k-d", "reported"),
            ("k-e", "closed"),
        ],
    )
    assert [s for _, s in final] == ["closed", "closed", "cancelled", "reported", "closed"]
    records = stored_records(loop_db)
    as_of = now_utc()
    [k] = incident_kpis(records, start=T0, end=T0 + timedelta(days=1), as_of=as_of)
    assert (k.reported, k.closed, k.cancelled, k.open) == (5, 3, 1, 1)
    assert k.closed_loop_rate == 3 / 4  # closed ÷ (reported − cancelled)
    # Respond samples 300, 600, 1200 s; close samples 7200, 7200, 14400 s;
    # p90 by linear interpolation at rank 0.9 × 2 = 1.8.
    assert k.respond_median_s == 600.0
    assert k.respond_p90_s == 600.0 + 0.8 * (1200.0 - 600.0)
    assert k.close_median_s == 7200.0
    assert k.close_p90_s == 7200.0 + 0.8 * (14400.0 - 7200.0)
    assert k.overdue == 1  # k-d
    assert (k.reopened, k.reopen_rate) == (1, 1 / 3)  # k-e of k-a, k-b, k-e ever resolved
    assert (k.satisfaction_mean, k.satisfaction_count) == (4.0, 2)

    by_grid = {g.key: g for g in incident_kpis(
        records, start=T0, end=T0 + timedelta(days=1), as_of=as_of, by="grid")}  # fmt: skip
    assert list(by_grid) == ["g1", "g2", None]  # by key, incidents without a grid last
    g1, g2, nowhere = by_grid["g1"], by_grid["g2"], by_grid[None]
    assert (g1.reported, g1.closed, g1.closed_loop_rate, g1.respond_median_s) == (2, 2, 1.0, 900.0)
    assert (g2.reported, g2.closed, g2.reopened, g2.satisfaction_count) == (1, 1, 1, 0)
    assert (nowhere.reported, nowhere.cancelled, nowhere.closed_loop_rate) == (2, 1, 0.0)
    # A shorter period holds k-d and k-e only.
    [late] = incident_kpis(records, start=T0 + 20 * MIN, end=T0 + HOUR, as_of=as_of)
    assert (late.reported, late.closed, late.overdue) == (2, 1, 1)
