"""The ingestor's garbage-collection pauses: timed, and long-lived state frozen out."""

from __future__ import annotations

import gc
import urllib.request
from pathlib import Path

import psycopg

from ingest.heap import Freezer, GcPauses
from ingest.places import Places
from tests.incidents.helpers import loop_database
from tests.ingest.helpers import IngestProcess, wait_for_value
from tests.services import Broker, free_port


def test_freezer_moves_what_survived_out_of_full_passes() -> None:
    before = gc.get_freeze_count()
    kept = [{"device": f"d{i}", "seen": [i]} for i in range(10_000)]
    try:
        Freezer().freeze_survivors()
        # The dicts and lists above, at least, are now in the permanent generation.
        assert gc.get_freeze_count() >= before + 2 * len(kept)
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0


def test_pauses_are_timed_per_generation() -> None:
    pauses = GcPauses()
    pauses.install()
    try:
        gc.collect()
    finally:
        pauses.remove()
    assert pauses.passes[2] >= 1
    assert pauses.seconds[2] > 0
    assert pauses.on_gc not in gc.callbacks
    seen = pauses.passes[2]
    gc.collect()
    assert pauses.passes[2] == seen  # removed: no longer counting


def _metrics(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        lines = r.read().decode().splitlines()
    return {
        line.split()[0]: float(line.split()[1])
        for line in lines
        if line.startswith("commtwin_ingest_gc")
    }


def test_the_ingestor_freezes_on_its_clock_and_reports_its_pauses(
    broker: Broker, ingest_db: str, root: str, tmp_path: Path
) -> None:
    figures = {}
    for every in ("0.2", "0"):
        port = free_port()
        proc = IngestProcess(
            ingest_db,
            broker.url,
            tmp_path,
            client_id=f"heap-{every}-{root}",
            root=root,
            extra=("--gc-freeze-every", every, "--metrics-host", "127.0.0.1"),
            env={"COMMTWIN_METRICS_PORT": str(port)},
        )
        proc.wait_connected()
        if every != "0":
            wait_for_value(lambda p=port: _metrics(p)["commtwin_ingest_gc_freezes"] >= 3, True, 30)
        figures[every] = _metrics(port)
        assert proc.terminate() == 0, proc.log
    frozen, never = figures["0.2"], figures["0"]
    assert frozen["commtwin_ingest_gc_freezes"] >= 3
    # Each freeze starts with a full pass, which the pause timer saw.
    assert frozen['commtwin_ingest_gc_pause_seconds{generation="2"}'] > 0
    assert frozen["commtwin_ingest_gc_longest_pause_seconds"] > 0
    assert never["commtwin_ingest_gc_freezes"] == 0


def test_a_community_model_dropped_is_freed_without_the_collector() -> None:
    """Freezing is safe only for state without reference cycles: a frozen object
    that later becomes cyclic garbage is never collected. The ingestor reloads
    each community's model every few minutes, so a cycle in it would leak a
    model per reload once frozen."""
    with loop_database() as url, psycopg.connect(url, autocommit=True) as conn:
        cid = conn.execute("SELECT id FROM communities").fetchone()[0]  # type: ignore[index]
        gc.collect()
        gc.disable()
        try:
            places: Places | None = Places()
            assert places is not None
            assert places.get(conn, cid) is not None
            places = None  # the model goes with the last reference
            assert gc.collect() == 0, "a community model holds a reference cycle"
        finally:
            gc.enable()
