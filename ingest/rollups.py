"""The rollup job's clock: ``commtwin_refresh_rollups`` every few seconds.

In plain mode the writer only logs which minutes a batch touched
(``rollup_pending``); this thread, with its own database connection so that
batches never wait on it, has the database recompute those minutes of
``readings_1m`` from ``readings`` and their hours of ``readings_1h``
(schemas/sql/0090). The function takes an advisory lock: with several
ingestors one runs and the others skip that turn. :meth:`RollupJob.final`
runs once at clean shutdown, after the last commit: it also materializes the
open minute and waits for a run elsewhere, so a stopped ingestor leaves the
rollup tables whole. If the database is away, nothing is lost: the log is in
the database, and the next run (here, in another ingestor, or ``commtwin db
maintain``) picks it up. In TimescaleDB mode the function does nothing.
"""

from __future__ import annotations

import logging
import random
import threading
from typing import Any

import psycopg

from ingest import sql
from ingest.backoff import Backoff

log = logging.getLogger(__name__)


def refresh(
    conn: psycopg.Connection[Any], *, final: bool = False, grace_s: float = 15.0
) -> dict[str, tuple[int, int]]:
    """One run of the job: level → (buckets recomputed, rows written).

    ``grace_s``: a minute is done once closed and not logged for this long.
    """
    rows = conn.execute(sql.REFRESH_ROLLUPS, (final, grace_s)).fetchall()
    return {str(level): (int(buckets), int(written)) for level, buckets, written in rows}


class RollupJob:
    def __init__(
        self, database_url: str, *, every_s: float = 5.0, backoff: Backoff | None = None
    ) -> None:
        self.database_url = database_url
        self.every_s = every_s
        self._backoff = backoff or Backoff(1.0, 30.0)
        self.runs = 0

    def _connect(self, options: str = "") -> psycopg.Connection[Any]:
        return psycopg.connect(
            self.database_url,
            autocommit=True,
            connect_timeout=5,
            application_name="commtwin-ingest-rollups",
            options=options,
        )

    def run(self, stop: threading.Event) -> None:
        """Until ``stop`` is set: a run every ``every_s`` seconds."""
        conn: psycopg.Connection[Any] | None = None
        attempt = 0
        while not stop.wait(self.every_s if attempt == 0 else 0):
            try:
                if conn is None or conn.closed or conn.broken:
                    conn = self._connect()
                done = refresh(conn)
                self.runs += 1
                if done:
                    log.debug("rollups: %s", done)
                attempt = 0
            except (psycopg.Error, OSError) as exc:
                if conn is not None:
                    conn.close()
                    conn = None
                delay = self._backoff.delay(attempt, random.random())
                attempt += 1
                log.warning("rollup job: %s: %s; retry in %.1fs", type(exc).__name__, exc, delay)
                if stop.wait(delay):
                    break
        if conn is not None:
            conn.close()

    def final(self) -> bool:
        """The run at clean shutdown; False if the database could not be reached."""
        try:
            # Bounded: a shutdown must not hang on a database that does not answer.
            with self._connect("-c statement_timeout=120s") as conn:
                done = refresh(conn, final=True)
        except (psycopg.Error, OSError) as exc:
            log.warning("final rollup run failed (%s); the next run anywhere does it", exc)
            return False
        log.info("final rollup run: %s", done or "nothing pending")
        return True
