"""The rollups' split, read before a query through ``readings_*_window``
(schemas/rollup_window.py: given as constants, only the raw partitions
above the mark are planned)."""

from __future__ import annotations

from api.db import Conn
from schemas.rollup_window import SPLIT, Split, split_of


async def read_split(conn: Conn, source: str) -> Split:
    """The split of ``source`` (``readings_1m`` or ``readings_1h``) as it is now."""
    async with conn.cursor() as cur:
        await cur.execute(SPLIT, {"source": source})
        return split_of(await cur.fetchone())
