"""Photos of reports as the API speaks them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from api.models.common import ApiModel


class PhotoPublic(ApiModel):
    id: int
    incident: str
    stage: Literal["report", "work"] = Field(
        description="report: the resident's, with the report; work: a worker's or the office's"
    )
    content_type: str
    width: int
    height: int
    bytes: int
    created_at: datetime
    url: str = Field(description="the photo's bytes, for those who may see the incident")
    thumb_url: str = Field(description="a JPEG at most 320 px on its longer side")
    mine: bool | None = Field(
        None,
        description="/v1/me answers only: this person uploaded it, and may delete it",
    )


class PhotosPublic(ApiModel):
    count: int
    data: list[PhotoPublic]
