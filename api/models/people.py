"""People's accounts, invites and sessions as the API speaks them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from api.models.common import ApiModel
from twin.people.passwords import MAX_LENGTH

CommunityId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
Login = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")]
ModelId = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]
Password = Annotated[str, StringConstraints(min_length=1, max_length=MAX_LENGTH)]


class InviteCreate(ApiModel):
    building_id: ModelId
    unit_id: ModelId
    valid_days: int = Field(default=14, ge=1, le=90)


class InviteCreated(ApiModel):
    code: str = Field(description="shown once: only its hash is stored")
    building_id: str
    unit_id: str
    expires_at: datetime


class AccountCreate(ApiModel):
    login: Login
    role: Literal["worker", "property", "office"]
    password: Password
    grids: list[ModelId] = Field(default_factory=list, max_length=100)


class Join(ApiModel):
    community: CommunityId
    code: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    login: Login
    password: Password


class LoginRequest(ApiModel):
    community: CommunityId
    login: Login
    password: Password


class HouseholdPublic(ApiModel):
    building_id: str
    unit_id: str


class PersonPublic(ApiModel):
    account_id: int
    community: str
    login: str
    role: str
    household: HouseholdPublic | None
    grids: list[str]


class SessionCreated(ApiModel):
    person: PersonPublic
    csrf_token: str = Field(description="send it back as X-CSRF-Token on every change")
    expires_at: datetime


class PasswordReset(ApiModel):
    password: Password
