"""Discover the versioned SQL migrations shipped in ``schemas/sql``.

A migration is ``NNNN_name.sql`` (for every storage mode) or
``NNNN_name.<mode>.sql`` (one file per mode, ``plain`` or ``timescale``).
A file whose first line is ``-- commtwin: no-transaction`` runs statement by
statement outside a transaction (TimescaleDB's continuous aggregates want it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Literal

StorageMode = Literal["plain", "timescale"]
MODES: tuple[StorageMode, ...] = ("plain", "timescale")
NO_TRANSACTION_MARK = "-- commtwin: no-transaction"
_NAME = re.compile(
    r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)(?:\.(?P<mode>plain|timescale))?\.sql$"
)


class MigrationLayoutError(Exception):
    """The shipped migration files are inconsistent (a packaging bug)."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def transactional(self) -> bool:
        return not self.sql.startswith(NO_TRANSACTION_MARK)


def plan(files: dict[str, str], mode: StorageMode) -> list[Migration]:
    """Order migrations by version and pick each one's variant for ``mode``.

    >>> files = {"0001_core.sql": "A", "0002_ts.plain.sql": "P", "0002_ts.timescale.sql": "T"}
    >>> [(m.version, m.sql) for m in plan(files, "timescale")]
    [(1, 'A'), (2, 'T')]
    >>> plan({"0001_a.plain.sql": "x"}, "timescale")
    Traceback (most recent call last):
    ...
    schemas.migrations.MigrationLayoutError: migration 0001 has no variant for timescale
    """
    by_version: dict[int, dict[str | None, tuple[str, str]]] = {}
    for filename, sql in files.items():
        match = _NAME.match(filename)
        if match is None:
            raise MigrationLayoutError(f"unexpected file in schemas/sql: {filename}")
        variants = by_version.setdefault(int(match["version"]), {})
        variants[match["mode"]] = (match["name"], sql)
    result = []
    for version in sorted(by_version):
        variants = by_version[version]
        chosen = variants.get(mode) or variants.get(None)
        if chosen is None:
            raise MigrationLayoutError(f"migration {version:04d} has no variant for {mode}")
        result.append(Migration(version, chosen[0], chosen[1]))
    return result


def shipped_files() -> dict[str, str]:
    """The migration files packaged with this version of commtwin."""
    folder = resources.files("schemas") / "sql"
    return {
        entry.name: entry.read_text(encoding="utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    }


def shipped(mode: StorageMode) -> list[Migration]:
    return plan(shipped_files(), mode)


def latest_version() -> int:
    """The newest schema version this code knows."""
    return max(m.version for m in shipped("plain"))


def split_statements(sql: str) -> list[str]:
    """Split a script into statements, keeping ``$$``-quoted bodies whole.

    >>> split_statements("SELECT 1; CREATE FUNCTION f() AS $$ BEGIN; END $$; -- x;\\nSELECT 2")
    ['SELECT 1', 'CREATE FUNCTION f() AS $$ BEGIN; END $$', 'SELECT 2']
    """
    statements: list[str] = []
    current: list[str] = []
    in_dollar = False
    for line in sql.splitlines():
        stripped = line.split("--", 1)[0] if not in_dollar else line
        pieces = re.split(r"(\$\$|;)", stripped)
        for piece in pieces:
            if piece == "$$":
                in_dollar = not in_dollar
                current.append(piece)
            elif piece == ";" and not in_dollar:
                text = "".join(current).strip()
                if text:
                    statements.append(text)
                current = []
            else:
                current.append(piece)
        current.append("\n")
    tail = "".join(current).strip()
    if tail:
        statements.append(tail)
    return [" ".join(s.split()) if "$$" not in s else s for s in statements]
