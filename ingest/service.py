"""``commtwin ingest`` assembled: network thread, bounded queue, committer, metrics, signals.

Shutdown (SIGTERM/SIGINT): stop reading the socket, let the committer write
and acknowledge everything already received, send the last acks, disconnect
(the persistent session stays on the broker), exit 0. If the database does
not come back within the drain timeout, exit 1: the unacknowledged messages
stay with the broker and are re-sent to the next run.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import psycopg

from ingest.backoff import Backoff
from ingest.batcher import Batcher
from ingest.committer import Committer
from ingest.consumer import Consumer
from ingest.heap import Freezer, GcPauses
from ingest.metrics import IngestMetrics
from ingest.mqtt_session import MqttConfig
from ingest.pipeline import Pipeline, PipelineHooks
from ingest.policy import TwinOptions
from ingest.rollups import RollupJob
from ingest.twin_wiring import build_twin

log = logging.getLogger(__name__)


class IngestSetupError(Exception):
    """The ingestor cannot start (schema missing, port taken): one line for the operator."""


@dataclass(frozen=True, slots=True)
class IngestConfig:
    database_url: str
    mqtt: MqttConfig
    root: str = "commtwin/v1"
    batch_max: int = 10000
    batch_max_bytes: int = 2 * 1024 * 1024
    linger_s: float = 0.05
    queue_max: int = 40000
    queue_max_bytes: int = 32 * 1024 * 1024
    metrics_port: int = 0  # 0: no metrics endpoint
    metrics_host: str = "0.0.0.0"
    maintain_every_s: float = 3600.0
    # The rollup job (plain mode, ingest/rollups.py); 0: never, not even at shutdown.
    rollup_every_s: float = 5.0
    drain_timeout_s: float = 30.0
    # Freeze the long-lived per-device maps out of full GC passes (ingest/heap.py);
    # 0: never (the default for in-process use: freezing is process-wide).
    gc_freeze_every_s: float = 0.0
    last_seen_interval_s: float = 60.0
    db_backoff: Backoff = field(default_factory=lambda: Backoff(0.2, 10.0))
    mqtt_backoff: Backoff = field(default_factory=lambda: Backoff(0.2, 30.0))
    # Alarm rules, incident closed loop and their clock; None: telemetry only.
    twin: TwinOptions | None = field(default_factory=TwinOptions)


class IngestService:
    def __init__(self, config: IngestConfig, hooks: PipelineHooks | None = None) -> None:
        self.config = config
        self.ticker = None
        if hooks is None and config.twin is not None:
            twin = build_twin(config.twin)
            hooks = twin.hooks
            self.ticker = twin.ticker(config.database_url)
        self.metrics = IngestMetrics()
        self.batcher = Batcher(config.queue_max, config.queue_max_bytes)
        self.pipeline = Pipeline(
            root=config.root, hooks=hooks, last_seen_interval_s=config.last_seen_interval_s
        )
        self._stopping = threading.Event()
        self._give_up = threading.Event()
        self.consumer = Consumer(
            config.mqtt,
            self.batcher.put,
            paused=lambda: self._stopping.is_set() or self.batcher.full(),
            on_reconnect=self._on_reconnect,
            backoff=config.mqtt_backoff,
        )
        self.committer = Committer(
            config.database_url,
            self.pipeline,
            self.batcher,
            self.consumer.ack,
            self.metrics,
            batch_max=config.batch_max,
            batch_max_bytes=config.batch_max_bytes,
            linger_s=config.linger_s,
            maintain_every_s=config.maintain_every_s,
            backoff=config.db_backoff,
        )
        self.rollups = (
            RollupJob(config.database_url, every_s=config.rollup_every_s)
            if config.rollup_every_s > 0
            else None
        )
        self.metrics.track("queue_depth", lambda: float(self.batcher.depth))
        self.metrics.track("mqtt_connected", lambda: float(self.consumer.connected.is_set()))
        self.metrics.track("mqtt_unacked", lambda: float(self.consumer.unacked))
        self.gc_pauses = GcPauses()
        self.freezer = Freezer(config.gc_freeze_every_s)
        self.metrics.track_gc(self.gc_pauses, self.freezer)
        self._server: Any = None

    def check_database(self) -> str:
        """Fail fast on a database that is not migrated; returns the storage mode."""
        try:
            with psycopg.connect(self.config.database_url, connect_timeout=5) as conn:
                row = conn.execute("SELECT value FROM storage_config WHERE key = 'mode'").fetchone()
        except psycopg.errors.UndefinedTable:
            raise IngestSetupError(
                "the database has no commtwin schema: run `commtwin db upgrade`"
            ) from None
        except psycopg.OperationalError as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise IngestSetupError(f"cannot connect to the database: {first}") from None
        if row is None:
            raise IngestSetupError("storage_config has no mode: run `commtwin db upgrade`")
        return str(row[0])

    def _on_reconnect(self, generation: int) -> None:
        dropped = self.batcher.discard_generation_before(generation)
        if dropped:
            log.info("dropped %d queued messages of the previous connection (re-sent)", dropped)

    def request_stop(self) -> None:
        self._stopping.set()

    def run(self) -> int:
        """Block until :meth:`request_stop`, then drain; the process exit code."""
        cfg = self.config
        if cfg.metrics_port:
            try:
                self._server = self.metrics.serve(cfg.metrics_port, cfg.metrics_host)
            except OSError as exc:
                raise IngestSetupError(f"metrics port {cfg.metrics_port}: {exc}") from None
        committer = threading.Thread(
            target=self.committer.run, args=(self._give_up,), name="committer"
        )
        committer.start()
        ticker_stop = threading.Event()
        ticker = None
        if self.ticker is not None:
            ticker = threading.Thread(target=self.ticker.run, args=(ticker_stop,), name="ticker")
            ticker.start()
        self.gc_pauses.install()
        freezer = None
        if cfg.gc_freeze_every_s > 0:
            freezer = threading.Thread(
                target=self.freezer.run, args=(ticker_stop,), name="gc-freeze"
            )
            freezer.start()
        rollups = None
        if self.rollups is not None:
            rollups = threading.Thread(target=self.rollups.run, args=(ticker_stop,), name="rollups")
            rollups.start()
        self.consumer.start()
        log.info(
            "ingest started client_id=%s topics=%s batch_max=%d linger_ms=%.0f metrics_port=%s",
            cfg.mqtt.client_id,
            ",".join(cfg.mqtt.topics),
            cfg.batch_max,
            cfg.linger_s * 1000,
            cfg.metrics_port or "off",
        )
        while not self._stopping.wait(0.5):
            pass  # a timed wait keeps the main thread responsive to signals
        log.info("stopping: draining %d queued messages", self.batcher.depth)
        # The network thread hands nothing more over once it is idle.
        self.consumer.idle.wait(2.0)
        self.batcher.close()
        committer.join(cfg.drain_timeout_s)
        if committer.is_alive():
            self._give_up.set()
            committer.join(10.0)
        ticker_stop.set()
        if ticker is not None:
            ticker.join(10.0)
        if freezer is not None:
            freezer.join(10.0)
        self.gc_pauses.remove()
        if rollups is not None and self.rollups is not None:
            rollups.join(60.0)
            # After the last commit: the rollup tables hold every committed reading.
            self.rollups.final()
        self.consumer.stop()
        if self._server is not None:
            self._server.shutdown()
        abandoned = self.committer.abandoned
        log.info(
            "stopped: committed=%d acked=%d abandoned=%d",
            self.committer.committed,
            self.consumer.acked,
            abandoned,
        )
        return 0 if abandoned == 0 and not committer.is_alive() else 1


def run_until_signalled(config: IngestConfig, hooks: PipelineHooks | None = None) -> int:
    """Run in the main thread until SIGTERM or SIGINT."""
    service = IngestService(config, hooks)
    mode = service.check_database()
    log.info("storage mode=%s", mode)

    def _handler(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s received", signal.Signals(signum).name)
        service.request_stop()

    previous = {s: signal.signal(s, _handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        return service.run()
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
