"""Dead letters of a community, for maintainers."""

from __future__ import annotations

from datetime import datetime

from api.db import Conn, fetch_all
from api.models.deadletters import DeadLetterPublic

PAYLOAD_PREVIEW_BYTES = 4096
_LIST = """
SELECT id, received_at, last_received_at, occurrences, topic, reason, detail,
       length(payload) AS payload_size, substring(payload FROM 1 FOR %(preview)s) AS head,
       count(*) OVER () AS total
FROM dead_letters
WHERE community_id = %(c)s
  AND (%(reason)s::text IS NULL OR reason = %(reason)s)
  AND (%(from)s::timestamptz IS NULL OR last_received_at >= %(from)s)
ORDER BY last_received_at DESC, id DESC LIMIT %(limit)s OFFSET %(offset)s"""


async def list_dead_letters(
    conn: Conn,
    community: str,
    *,
    reason: str | None,
    since: datetime | None,
    limit: int,
    offset: int,
) -> tuple[int, list[DeadLetterPublic]]:
    rows = await fetch_all(
        conn,
        _LIST,
        {
            "c": community,
            "reason": reason,
            "from": since,
            "limit": limit,
            "offset": offset,
            "preview": PAYLOAD_PREVIEW_BYTES,
        },
    )
    total = int(rows[0]["total"]) if rows else 0
    return total, [
        DeadLetterPublic(
            id=r["id"],
            received_at=r["received_at"],
            last_received_at=r["last_received_at"],
            occurrences=r["occurrences"],
            topic=r["topic"],
            reason=r["reason"],
            detail=r["detail"],
            payload_size=r["payload_size"],
            payload_text=bytes(r["head"]).decode("utf-8", "replace"),
            payload_truncated=r["payload_size"] > PAYLOAD_PREVIEW_BYTES,
        )
        for r in rows
    ]
