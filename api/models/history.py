from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field

from api.buckets import Agg, Source
from api.models.common import ApiModel


class HistoryPoint(ApiModel):
    t: datetime  # a reading's time, or the start of its bucket
    v: float | None


class HistoryPublic(ApiModel):
    model_config = ConfigDict(extra="forbid", validate_by_name=True, serialize_by_alias=True)

    community: str
    device: str | None = None
    building: str | None = None
    storey: int | None = None
    kind: str | None = None
    metric: str
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    bucket: str | None
    agg: Agg | None
    source: Source  # the table that answered: raw readings or a rollup
    devices: int  # devices whose readings were aggregated
    points: list[HistoryPoint]
