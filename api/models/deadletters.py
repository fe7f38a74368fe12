from __future__ import annotations

from datetime import datetime

from api.models.common import ApiModel


class DeadLetterPublic(ApiModel):
    id: int
    received_at: datetime
    last_received_at: datetime
    occurrences: int
    topic: str
    reason: str
    detail: str
    payload_size: int
    # The payload decoded as UTF-8 (bad bytes replaced), cut to a few KiB.
    payload_text: str
    payload_truncated: bool


class DeadLettersPublic(ApiModel):
    count: int
    data: list[DeadLetterPublic]
