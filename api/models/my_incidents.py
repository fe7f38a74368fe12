"""What people send and get about incidents through their sessions (``/v1/me/incidents``).

``client_id`` is the phone's own id for a report or an action (a UUID does):
the event id is derived from it, so a resend from the offline queue changes
nothing and is answered 200 with the incident as it is.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from api.models.common import ApiModel
from api.models.incidents import Finite, IncidentPublic, Text, WireId

ClientId = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$",
        description="the phone's id for this report or action (a UUID); a resend reuses it",
        examples=["0b6c8a0e-6f0d-4a51-9a39-2f3a1f0d6c11"],
    ),
]


class HomePlace(ApiModel):
    """The reporting household's unit (building, storey and unit)."""

    kind: Literal["home"] = "home"


class UnitPlace(ApiModel):
    """A building, optionally a storey and unit of it (a stairwell, a lift)."""

    kind: Literal["unit"]
    building: WireId
    storey: Annotated[int, Field(ge=-1000, le=1000)] | None = None
    unit: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]+$")] | None = None


class PointPlace(ApiModel):
    """A public area picked on the map: community-local metres (x east, y north)."""

    kind: Literal["point"]
    x: Finite
    y: Finite


Place = Annotated[HomePlace | UnitPlace | PointPlace, Field(discriminator="kind")]


class MyReport(ApiModel):
    """A resident's report; ``category`` is one commtwin knows (400 lists them)."""

    client_id: ClientId
    category: Annotated[str, Field(min_length=1, max_length=64)]
    title: Text | None = None
    description: Annotated[str, Field(min_length=1, max_length=10_000, pattern=r"^[^\x00]*$")]
    place: Place = Field(default_factory=HomePlace)


Action = Literal["accept", "note", "resolve", "hand_over", "escalate", "confirm", "reopen"]


class MyAction(ApiModel):
    """A step on an incident. Workers, property staff and the office: ``accept``,
    ``note`` (``note`` required), ``resolve``, ``hand_over`` (``to``: a worker
    login of the incident's grid), ``escalate``. The reporting household:
    ``confirm`` (closes it; ``satisfaction`` 1–5 required), ``reopen`` (``note``
    required)."""

    client_id: ClientId
    action: Action
    note: Text | None = None
    satisfaction: Annotated[int, Field(ge=1, le=5)] | None = None
    to: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")] | None = None


class MyIncident(IncidentPublic):
    care: bool | None = Field(
        default=None,
        description="care checks only: whether the household is a care household; "
        "nothing else about it",
    )


class MyIncidentsPublic(ApiModel):
    count: int
    data: list[MyIncident]
