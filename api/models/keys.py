from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from api.keys import Scope
from api.models.common import ApiModel

CommunityId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]


class KeyPublic(ApiModel):
    id: int
    prefix: str
    name: str | None
    scopes: list[Scope]
    communities: list[str]  # empty (and no districts): every community
    districts: list[str] = Field(
        default_factory=list, description="districts the key sees, with their communities"
    )
    created_at: datetime
    revoked_at: datetime | None


class KeysPublic(ApiModel):
    count: int
    data: list[KeyPublic]


class KeyCreate(ApiModel):
    scopes: list[Scope] = Field(min_length=1, max_length=5)
    communities: list[CommunityId] = Field(default_factory=list, max_length=100)
    districts: list[CommunityId] = Field(default_factory=list, max_length=100)
    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[^\x00]*$")


class KeyCreated(KeyPublic):
    key: str  # shown once; only its hash is stored
