"""Over the real broker: every dead-letter reason lands in the table with its raw
bytes, each message is acknowledged, and good data around them is not held up."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg

from ingest.messages import Reason
from tests.ingest.helpers import IngestProcess, scalar, wait_for_value
from tests.ingest.publisher import publish, telemetry_feed
from tests.ingest.test_parse import REASON_CASES
from tests.services import Broker

PARSER_ROOT = "commtwin/v1/"


def test_every_reason_over_mqtt(broker: Broker, ingest_db: str, root: str, tmp_path: Path) -> None:
    bad = [
        (root + "/" + t.removeprefix(PARSER_ROOT), p, r)
        for t, p, r in REASON_CASES
        if r != Reason.TS_FUTURE  # relative to the parser tests' fixed clock
    ]
    future_ms = int(time.time() * 1000) + 3_600_000
    bad.append((f"{root}/lanting/devices/d1/telemetry",
                b'{"ts": %d, "values": {"t": 1}}' % future_ms, Reason.TS_FUTURE))  # fmt: skip
    # The "outside the root" case keeps a foreign prefix: subscribe-all would not
    # see it, so it stays a parser-only case.
    bad = [b for b in bad if b[0].startswith(root + "/")]
    bad.append(
        (f"{root}/elsewhere/devices/d1/telemetry", b'{"values": {"t": 1}}', "unknown_community")
    )
    good = list(telemetry_feed(3000, community="lanting", root=root))
    # Bad messages interleaved with good ones: the pipeline must not stall.
    feed = []
    for i, (topic, payload) in enumerate(good):
        feed.append((topic, payload))
        if i % 50 == 0 and i // 50 < len(bad):
            feed.append(bad[i // 50][:2])
    ingestor = IngestProcess(ingest_db, broker.url, tmp_path, client_id=f"dl2-{root}", root=root)
    ingestor.wait_connected()
    publish(broker.url, feed)
    assert (
        wait_for_value(lambda: scalar(ingest_db, "SELECT count(*) FROM readings"), 9000, 60) == 9000
    )
    rows = "SELECT count(*) FROM dead_letters"
    expected_rows = len({(t, p) for t, p, _ in bad})
    assert wait_for_value(lambda: scalar(ingest_db, rows), expected_rows, 30) == expected_rows
    assert ingestor.terminate() == 0, ingestor.log
    assert ingestor.committed() == len(feed)  # everything acknowledged, bad ones too
    with psycopg.connect(ingest_db) as conn:
        stored = {
            (topic, bytes(payload)): reason
            for topic, payload, reason in conn.execute(
                "SELECT topic, payload, reason FROM dead_letters"
            )
        }
    for topic, payload, reason in bad:
        assert stored[(topic, payload)] == reason, (topic, payload[:60])
    produced = set(stored.values())
    parser_reasons = set(Reason.ALL) - {Reason.INVALID_TRANSITION, Reason.WRITE_FAILED}
    assert produced == parser_reasons
