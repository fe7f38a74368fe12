"""Prometheus metrics of one ingestor (own registry, so tests can run several)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from ingest.heap import Freezer, GcPauses
from ingest.pipeline import BatchResult

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.messages = Counter("commtwin_ingest_messages", "MQTT messages received", registry=r)
        self.rows = Counter(
            "commtwin_ingest_rows_written", "Rows inserted, by table", ["table"], registry=r
        )
        self.duplicates = Counter(
            "commtwin_ingest_duplicate_readings",
            "Readings already stored (redeliveries), skipped",
            registry=r,
        )
        self.batches = Counter("commtwin_ingest_batches", "Batches committed", registry=r)
        self.commit_seconds = Histogram(
            "commtwin_ingest_commit_seconds",
            "Time to write and commit one batch",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "commtwin_ingest_batch_messages",
            "Messages per committed batch",
            buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 20000),
            registry=r,
        )
        self.dead_letters = Counter(
            "commtwin_ingest_dead_letters",
            "Messages dead-lettered, by reason",
            ["reason"],
            registry=r,
        )
        self.queue_depth = Gauge(
            "commtwin_ingest_queue_depth", "Messages received, not yet committed", registry=r
        )
        self.lag = Histogram(
            "commtwin_ingest_lag_seconds",
            "Broker lag: commit time minus the newest reading's timestamp, per batch",
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        self.db_errors = Counter(
            "commtwin_ingest_db_errors", "Failed batch attempts (retried)", registry=r
        )
        self.db_up = Gauge("commtwin_ingest_db_up", "1 while the database answers", registry=r)
        self.mqtt_unacked = Gauge(
            "commtwin_ingest_mqtt_unacked",
            "Messages the broker sent on this connection that are not acknowledged yet",
            registry=r,
        )
        self.mqtt_connected = Gauge(
            "commtwin_ingest_mqtt_connected", "1 while connected to the broker", registry=r
        )
        self.acked = Counter(
            "commtwin_ingest_acked", "Messages acknowledged to the broker", registry=r
        )
        self.gc_pause = Gauge(
            "commtwin_ingest_gc_pause_seconds",
            "Seconds the process spent in garbage collections so far, by generation",
            ["generation"],
            registry=r,
        )
        self.gc_longest = Gauge(
            "commtwin_ingest_gc_longest_pause_seconds",
            "The longest single garbage collection so far",
            registry=r,
        )
        self.gc_freezes = Gauge(
            "commtwin_ingest_gc_freezes",
            "Times long-lived objects were moved out of full collections (--gc-freeze-every)",
            registry=r,
        )

    def observe_batch(self, result: BatchResult, seconds: float, now_s: float) -> None:
        self.messages.inc(result.messages)
        self.batches.inc()
        self.batch_size.observe(result.messages)
        self.commit_seconds.observe(seconds)
        self.rows.labels("readings").inc(result.readings_inserted)
        self.duplicates.inc(result.readings_offered - result.readings_inserted)
        if result.positions:
            self.rows.labels("positions").inc(result.positions)
        if result.statuses:
            self.rows.labels("device_status").inc(result.statuses)
        if result.incident_events:
            self.rows.labels("incident_events").inc(result.incident_events)
        for reason, n in result.dead_letters.items():
            self.dead_letters.labels(reason).inc(n)
        if result.newest_ts_us is not None:
            self.lag.observe(max(0.0, now_s - result.newest_ts_us / 1e6))

    def track(self, name: str, fn: Callable[[], float]) -> None:
        """Make a gauge read its value at scrape time."""
        gauge: Any = getattr(self, name)
        gauge.set_function(fn)

    def track_gc(self, pauses: GcPauses, freezer: Freezer) -> None:
        for generation in range(3):
            self.gc_pause.labels(str(generation)).set_function(
                partial(pauses.seconds.__getitem__, generation)
            )
        self.gc_longest.set_function(lambda: pauses.longest)
        self.gc_freezes.set_function(lambda: freezer.runs)

    def serve(self, port: int, host: str = "0.0.0.0") -> Any:
        """Start the /metrics HTTP endpoint; returns the server (``.shutdown()``)."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return server
