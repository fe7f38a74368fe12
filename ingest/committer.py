"""The writer thread: take a batch, write it in one transaction, then ack it.

At-least-once hinges on the order here: acknowledgements go to the broker
only after :meth:`Pipeline.write` returned, i.e. after COMMIT. While the
database is down or failing, the batch in hand is retried with backoff and
nothing is acked; the queue fills, the network thread stops reading, and the
broker holds the rest. A batch that fails for a *data* reason (not a lost
connection) is split and written message by message, and a message that still
fails becomes a ``write_failed`` dead letter, so no single message can stall
the pipeline.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from ingest import sql
from ingest.backoff import Backoff
from ingest.batcher import Batcher
from ingest.metrics import IngestMetrics
from ingest.mqtt_wire import Delivery
from ingest.pipeline import Pipeline

log = logging.getLogger(__name__)

# Connection loss, shutdown, deadlock, serialization failure: retry the batch.
_RETRYABLE = (psycopg.OperationalError, psycopg.InterfaceError)


class Committer:
    def __init__(
        self,
        database_url: str,
        pipeline: Pipeline,
        batcher: Batcher,
        ack: Callable[[Sequence[Delivery]], None],
        metrics: IngestMetrics,
        *,
        batch_max: int = 10000,
        batch_max_bytes: int = 2 * 1024 * 1024,
        linger_s: float = 0.05,
        maintain_every_s: float = 3600.0,
        backoff: Backoff | None = None,
        rand: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.database_url = database_url
        self.pipeline = pipeline
        self.batcher = batcher
        self._ack = ack
        self.metrics = metrics
        self.batch_max = batch_max
        self.batch_max_bytes = batch_max_bytes
        self.linger_s = linger_s
        self.maintain_every_s = maintain_every_s
        self._backoff = backoff or Backoff(0.2, 10.0)
        self._rand = rand
        self._clock = clock
        self._conn: psycopg.Connection[Any] | None = None
        self._next_maintenance = 0.0
        self.committed = 0  # messages committed (and handed to ack)
        self.abandoned = 0  # messages given up at shutdown (the broker re-sends them)

    def run(self, give_up: threading.Event) -> None:
        """Until the batcher is closed and empty. ``give_up``: stop retrying (shutdown timeout)."""
        while True:
            batch = self.batcher.take(self.batch_max, self.linger_s, max_bytes=self.batch_max_bytes)
            if not batch:
                if self.batcher.closed and self.batcher.depth == 0:
                    break
                self._maybe_maintain()
                continue
            if not self._write_with_retry(batch, give_up):
                self.abandoned += len(batch) + self.batcher.depth
                log.error(
                    "shutdown timeout: %d messages not committed (the broker re-sends them)",
                    self.abandoned,
                )
                break
            self._maybe_maintain()
        self._close()

    def _write_with_retry(self, batch: list[Delivery], give_up: threading.Event) -> bool:
        attempt = 0
        one_by_one = False
        while True:
            started = time.monotonic()
            try:
                conn = self._connection()
                if one_by_one:
                    self._write_one_by_one(conn, batch)
                else:
                    result = self.pipeline.write(conn, batch)
                    self.metrics.observe_batch(result, time.monotonic() - started, self._clock())
            except Exception as exc:
                if not isinstance(exc, _RETRYABLE) and not one_by_one:
                    # A data problem, not the connection: isolate the culprit.
                    log.error("batch refused (%s: %s); writing one by one", type(exc).__name__, exc)
                    one_by_one = True
                    continue
                self.metrics.db_errors.inc()
                if self._conn is None or self._conn.closed or self._conn.broken:
                    self.metrics.db_up.set(0)
                    self._close()
                delay = self._backoff.delay(attempt, self._rand())
                attempt += 1
                log.warning(
                    "batch write failed (%s: %s); retry %d in %.2fs, holding %d messages unacked",
                    type(exc).__name__,
                    _first_line(exc),
                    attempt,
                    delay,
                    len(batch),
                )
                if give_up.wait(delay):
                    return False
                continue
            self.metrics.db_up.set(1)
            self._ack(batch)
            self.committed += len(batch)
            return True

    def _write_one_by_one(self, conn: psycopg.Connection[Any], batch: list[Delivery]) -> None:
        """Each message in its own transaction; what still fails is dead-lettered.

        Already-written messages are harmless to write again if a connection
        failure makes the caller retry this (idempotent writes).
        """
        for message in batch:
            try:
                self.pipeline.write(conn, [message])
            except _RETRYABLE:
                raise
            except Exception as exc:
                detail = f"{type(exc).__name__}: {_first_line(exc)}"
                log.error("message on %s refused by the database: %s", message[0], detail)
                self.pipeline.write_failed(conn, message, detail)
                self.metrics.dead_letters.labels("write_failed").inc()
        self.metrics.messages.inc(len(batch))

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = None
            conn = psycopg.connect(
                self.database_url,
                autocommit=True,
                connect_timeout=5,
                application_name="commtwin-ingest",
                # Notice a vanished server within ~15 s instead of hanging.
                keepalives=1,
                keepalives_idle=5,
                keepalives_interval=2,
                keepalives_count=5,
            )
            self.pipeline.attach(conn)
            self._conn = conn
            self.metrics.db_up.set(1)
            log.info("database connected mode=%s", self.pipeline.mode)
        return self._conn

    def _maybe_maintain(self) -> None:
        now = time.monotonic()
        if now < self._next_maintenance:
            return
        self._next_maintenance = now + self.maintain_every_s
        try:
            for (line,) in self._connection().execute(sql.MAINTAIN).fetchall():
                log.info("maintenance: %s", line)
        except psycopg.Error as exc:
            # Retried at the next interval; partitions are made days ahead.
            self._next_maintenance = now + min(60.0, self.maintain_every_s)
            log.warning("maintenance failed: %s", _first_line(exc))

    def _close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
