from __future__ import annotations

from typing import Literal

from api.models.common import ApiModel


class HealthPublic(ApiModel):
    status: Literal["ok"]


class ReadinessPublic(ApiModel):
    status: Literal["ready", "not_ready"]
    schema_version: int | None
    expected_schema_version: int
    detail: str | None = None
