"""Reading the dead-letter table back (``commtwin deadletters``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg


@dataclass(frozen=True, slots=True)
class DeadLetterInfo:
    id: int
    received_at: datetime
    last_received_at: datetime
    occurrences: int
    topic: str
    reason: str
    detail: str
    community: str | None
    payload: bytes


def recent_dead_letters(
    conn: psycopg.Connection[Any],
    *,
    limit: int = 20,
    community: str | None = None,
    reason: str | None = None,
) -> list[DeadLetterInfo]:
    """Newest first (by last occurrence), optionally for one community/reason."""
    rows = conn.execute(
        """
        SELECT id, received_at, last_received_at, occurrences, topic, reason, detail,
               community_id, payload
        FROM dead_letters
        WHERE (%(community)s::text IS NULL OR community_id = %(community)s)
          AND (%(reason)s::text IS NULL OR reason = %(reason)s)
        ORDER BY last_received_at DESC, id DESC
        LIMIT %(limit)s
        """,
        {"community": community, "reason": reason, "limit": limit},
    ).fetchall()
    return [DeadLetterInfo(*row) for row in rows]


def payload_preview(payload: bytes, width: int = 60) -> str:
    """A one-line, printable preview of raw bytes.

    >>> payload_preview(b'{"a": 1}\\n\\xff')
    '{"a": 1}\\\\n\\\\xff'
    """
    text = repr(payload)[2:-1]
    return text if len(text) <= width else text[: width - 1] + "…"
