"""Query and path parameter types shared by the routers.

Every value that reaches SQL is bounded here: integers to PostgreSQL's range,
text without NUL (which PostgreSQL cannot store), times as ISO 8601 only.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import Query
from pydantic import BeforeValidator

_ISO = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|z|[+-]\d{2}(:?\d{2})?)?$"
)


def iso_only(value: object) -> object:
    """Refuse what pydantic would otherwise read as a time (e.g. ``0.5`` epoch seconds).

    >>> iso_only("2026-01-01T10:00:00Z")
    '2026-01-01T10:00:00Z'
    >>> iso_only("0.5")
    Traceback (most recent call last):
    ...
    ValueError: must be an ISO 8601 date-time such as 2026-01-01T10:00:00Z
    """
    if isinstance(value, str) and not _ISO.match(value):
        raise ValueError("must be an ISO 8601 date-time such as 2026-01-01T10:00:00Z")
    return value


IsoDatetime = Annotated[datetime, BeforeValidator(iso_only)]
TextFilter = Annotated[str | None, Query(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]
StoreyFilter = Annotated[int | None, Query(ge=-1000, le=1000)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]
