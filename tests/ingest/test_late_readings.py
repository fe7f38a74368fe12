"""Late, out-of-order and duplicate readings through the real broker and ingestor.

A reading older than the device's last evaluated one is stored but cannot flip
an alarm back; a duplicate changes nothing. Each message is published on its
own connection (as a device reconnecting, or a gateway with several links, may
deliver them), so they arrive in the order published but batch as they come.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

from tests.incidents.helpers import loop_database, now_utc, publish_readings, rows
from tests.ingest.helpers import IngestProcess
from tests.ingest.test_alarms import settle
from tests.services import Broker

SMOKE = "smoke-b01-0101"
ALARMS = """
SELECT state, raised_at, cleared_at FROM alarms WHERE device_id = %s AND rule_id = 'smoke'
ORDER BY id
"""
LOGGED = """
SELECT data->>'event' FROM change_log WHERE kind = 'alarm'
  AND ref IN (SELECT id::text FROM alarms WHERE device_id = %s AND rule_id = 'smoke')
ORDER BY seq
"""
READINGS = """
SELECT r.ts, r.value FROM readings r
JOIN devices d ON d.key = r.device_key JOIN metrics m ON m.key = r.metric_key
WHERE d.id = %s AND m.name = 'smoke' ORDER BY r.ts
"""
SEC = timedelta(seconds=1)


def test_late_and_duplicate_readings_are_stored_but_flip_no_alarm(
    broker: Broker, tmp_path: Path
) -> None:
    with loop_database() as url:
        root = f"late{secrets.token_hex(4)}/v1"
        ingestor = IngestProcess(url, broker.url, tmp_path, client_id=f"late-{root}", root=root)
        ingestor.wait_connected()
        t0 = now_utc() - timedelta(minutes=10)
        # Smoke at t0, clear at t0+20 s: one alarm, raised and cleared.
        publish_readings(broker.url, root, SMOKE, (t0, {"smoke": True}))
        publish_readings(broker.url, root, SMOKE, (t0 + 20 * SEC, {"smoke": False}))
        settle(url, broker, root, t0)
        assert rows(url, ALARMS, SMOKE) == [("cleared", t0, t0 + 20 * SEC)]
        # Late: smoke at t0+10 s, after the clear. Stored; the alarm stays cleared.
        publish_readings(broker.url, root, SMOKE, (t0 + 10 * SEC, {"smoke": True}))
        # A duplicate of the clearing reading, and one of the first alarm.
        publish_readings(broker.url, root, SMOKE, (t0 + 20 * SEC, {"smoke": False}))
        publish_readings(broker.url, root, SMOKE, (t0, {"smoke": True}))
        settle(url, broker, root, t0 + SEC)
        assert rows(url, READINGS, SMOKE) == [(t0, 1.0), (t0 + 10 * SEC, 1.0), (t0 + 20 * SEC, 0.0)]
        assert rows(url, ALARMS, SMOKE) == [("cleared", t0, t0 + 20 * SEC)]
        # The other way round: smoke at t0+40 s, then a late all-clear from t0+30 s.
        publish_readings(broker.url, root, SMOKE, (t0 + 40 * SEC, {"smoke": True}))
        publish_readings(broker.url, root, SMOKE, (t0 + 30 * SEC, {"smoke": False}))
        settle(url, broker, root, t0 + 2 * SEC)
        assert rows(url, ALARMS, SMOKE) == [
            ("cleared", t0, t0 + 20 * SEC),
            ("active_unack", t0 + 40 * SEC, None),
        ]
        assert len(rows(url, READINGS, SMOKE)) == 5
        # raised, cleared, raised: nothing for the late or duplicate readings.
        assert [r[0] for r in rows(url, LOGGED, SMOKE)] == ["raised", "cleared", "raised"]
        assert ingestor.terminate() == 0, ingestor.log
