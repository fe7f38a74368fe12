"""The simulated grid workers close incidents they did not open, end to end.

A real ingestor on the private broker, the API in-process with a
``cockpit:read`` key, a generated community. A smoke alarm makes the ingestor
open ``alarm-<id>``; another app reports a resident's lift fault. Then an
accelerated ``simulate run`` whose workers read open incidents from the API:
both incidents are accepted, resolved and closed with a rating by the
simulated workers, through MQTT and the ingestor like any app's events.
"""

from __future__ import annotations

import asyncio
import functools
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from api.app import create_app
from api.config import ApiConfig
from api.db import run_once
from api.mqtt_publish import BrokerConfig as ApiBrokerConfig
from api.mqtt_publish import publish
from api.queries.keys import create_key
from commtwin import db, demo_setup
from simulators import wire
from simulators.broker import BrokerConfig
from simulators.community_gen import CommunitySpec, generate_community
from simulators.realistic import RealisticRun, run_realistic
from simulators.scenario import FeedOptions
from simulators.worker_desk import WorkersApi
from tests.api.conftest import serve
from tests.ingest.helpers import IngestProcess, wait_for
from tests.services import Broker, scratch_database

CID = "wloop"
SPEED, DURATION = 7200.0, 12.0  # a simulated day in 12 s


@dataclass(frozen=True)
class Site:
    url: str
    api: str
    key: str
    root: str
    model_path: Path
    model: dict[str, Any]
    broker: str


@pytest.fixture(scope="module")
def site(broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("workers")
    root = f"wloop{secrets.token_hex(3)}/v1"
    with scratch_database("commtwin_workers") as url:
        db.upgrade(url, prefer="plain")
        model = generate_community(CommunitySpec(buildings=2, seed=4, id=CID))
        path = tmp / "model.json"
        path.write_text(json.dumps(model, ensure_ascii=False))
        demo_setup.import_model(url, path, model)
        key = run_once(url, lambda conn: create_key(conn, ["cockpit:read"], [CID], "workers"))
        ingest = IngestProcess(
            url, broker.url, tmp, client_id=f"wloop-{root}", root=root, extra=("--linger-ms", "20")
        )
        try:
            ingest.wait_connected()
            config = ApiConfig(url, rate_per_s=1e6, rate_burst=1e6)
            with serve(create_app(config)) as base:
                yield Site(url, base, key.key, root, path, model, broker.url)
        finally:
            if ingest.proc.poll() is None:
                assert ingest.terminate() == 0, ingest.log


def _send(site: Site, topic: str, payload: bytes) -> None:
    asyncio.run(publish(ApiBrokerConfig(site.broker), topic, payload, 5.0))


def _incident(site: Site, iid: str) -> dict[str, Any] | None:
    with psycopg.connect(site.url, autocommit=True) as conn:
        cur = conn.execute(
            "SELECT status, assignee, accepted_at, resolved_at, closed_at, satisfaction,"
            " reopen_count, alarm_id FROM incidents WHERE community_id = %s AND id = %s",
            (CID, iid),
        )
        row = cur.fetchone()
        names = [d.name for d in cur.description or ()]
    return dict(zip(names, row, strict=True)) if row else None


def _alarm_incident(site: Site) -> str | None:
    with psycopg.connect(site.url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT incident_id FROM alarms WHERE community_id = %s AND incident_id IS NOT NULL",
            (CID,),
        ).fetchone()
    return str(row[0]) if row else None


def test_workers_accept_resolve_and_close_alarm_and_foreign_incidents(site: Site) -> None:
    w = wire.Wire(site.root, CID)
    start = time.time() - DURATION * (SPEED - 1)
    smoke = next(d["id"] for d in site.model["devices"] if d["kind"] == "smoke")
    _send(site, w.telemetry(smoke), wire.reading(start + 120.0, {"smoke": True}))
    building = next(b["id"] for b in site.model["buildings"] if b.get("units"))
    report = wire.incident_event(
        "app-1:reported",
        "reported",
        start + 300.0,
        category="elevator",
        title="电梯故障停运",
        reporter="res-from-another-app",
        location={"building": building, "storey": 1},
    )
    _send(site, w.incident("app-1"), report)
    assert wait_for(lambda: _alarm_incident(site) is not None, 20), "no alarm incident"
    alarm_iid = _alarm_incident(site)
    assert alarm_iid is not None
    assert alarm_iid.startswith("alarm-")
    assert wait_for(lambda: (_incident(site, "app-1") or {}).get("assignee") is not None, 20)

    run = RealisticRun(
        model=site.model_path,
        topic_root=site.root,
        speed=SPEED,
        duration=DURATION,
        start=start,
        options=FeedOptions(
            seed=4, incidents_per_day=0, kinds=frozenset({"env"}), outages=False, offline=False
        ),
        progress=False,
        workers_api=WorkersApi(site.api, site.key, poll_s=0.3),
    )
    summary = run_realistic(run, BrokerConfig.from_url(site.broker))
    assert summary["errors"] == 0
    assert summary["workers"]["learnt"] >= 2, summary["workers"]
    assert summary["workers"]["polls"] > 10

    def closed(iid: str) -> bool:
        return (_incident(site, iid) or {}).get("status") == "closed"

    for iid in (alarm_iid, "app-1"):
        assert wait_for(functools.partial(closed, iid), 30), (iid, _incident(site, iid))
        row = _incident(site, iid)
        assert row is not None
        assert row["accepted_at"] is not None
        assert row["resolved_at"] is not None
        assert row["accepted_at"] <= row["resolved_at"] <= row["closed_at"]
        assert 1 <= row["satisfaction"] <= 5
        assert row["assignee"] in {g["worker"] for g in site.model["grids"]}
    assert _incident(site, alarm_iid)["alarm_id"] is not None  # type: ignore[index]
    with psycopg.connect(site.url, autocommit=True) as conn:
        refused = conn.execute(
            "SELECT count(*) FROM dead_letters WHERE reason = 'invalid_transition'"
        ).fetchone()
    assert refused == (0,)
