"""An ingestor given ``--communities`` runs its clocks over those communities only.

Two communities in one database, a silent device and an overdue incident in
each: the no-data clock, the SLA escalation and the care queries of an
ingestor scoped to one community see that community's only; unscoped, both.
"""

from __future__ import annotations

from datetime import timedelta

import psycopg

from commtwin.cli import build_parser
from commtwin.cmd_ingest import build_config
from commtwin.settings import Settings
from ingest import care_sql
from ingest.alarm_engine import AlarmStage
from ingest.incident_writer import IncidentBook
from ingest.places import Places
from tests.incidents.helpers import now_utc
from tests.ingest.helpers import add_community
from twin.incidents.events import EventType, IncidentEvent
from twin.rules.engine import default_rules

T0 = now_utc() - timedelta(hours=3)
SCOPE = ["lanting"]


def _seed(url: str) -> None:
    add_community(url, "xihu")
    with psycopg.connect(url, autocommit=True) as conn:
        for cid in ("lanting", "xihu"):
            conn.execute(
                "INSERT INTO devices (community_id, id, kind, last_seen) "
                "VALUES (%s, %s, 'door', %s)",
                (cid, f"door-{cid}", T0),
            )
        IncidentBook().apply(
            conn,
            [
                IncidentEvent(cid, f"i-{cid}", "e1", EventType.REPORTED, T0, category="noise")
                for cid in ("lanting", "xihu")
            ],
        )


def test_the_no_data_clock_watches_the_scoped_communities_only(ingest_db: str) -> None:
    _seed(ingest_db)
    later = T0.timestamp() + 2 * 3600
    with psycopg.connect(ingest_db, autocommit=True) as conn:
        places = Places()
        scoped = AlarmStage(default_rules(), places, IncidentBook(places=places), SCOPE)
        raised = {(e.community, e.device) for e in scoped.tick(conn, later)}
        assert raised == {("lanting", "door-lanting")}
        # The same clock without a scope finds the other community's silent door.
        places = Places()
        everyone = AlarmStage(default_rules(), places, IncidentBook(places=places))
        raised = {(e.community, e.device) for e in everyone.tick(conn, later)}
    assert ("xihu", "door-xihu") in raised


def test_escalation_and_care_queries_keep_to_the_scope(ingest_db: str) -> None:
    _seed(ingest_db)
    late = T0 + timedelta(hours=1)
    with psycopg.connect(ingest_db, autocommit=True) as conn:
        escalated = IncidentBook(scope=SCOPE).escalate(conn, late)
        assert {e.community_id for e in escalated} == {"lanting"}
        assert {e.community_id for e in IncidentBook().escalate(conn, late)} == {"xihu"}
        assert care_sql.communities(conn, SCOPE) == ["lanting"]
        assert care_sql.communities(conn) == ["lanting", "xihu"]


def test_the_option_reaches_the_clocks() -> None:
    settings = Settings()
    for argv, scope in (
        (["ingest", "--communities", "lanting,xihu"], ("lanting", "xihu")),
        (["ingest"], None),
    ):
        twin = build_config(build_parser().parse_args(argv), settings).twin
        assert twin is not None
        assert twin.communities == scope
