"""Request bodies of the service circle (``POST .../service-circle/scenarios``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FacilityType = Literal[
    "clinic",
    "elderly_care",
    "canteen",
    "kindergarten",
    "school",
    "supermarket",
    "bus_stop",
    "park",
]


class Place(BaseModel):
    """A point: local metres (``x``, ``y``) or WGS 84 (``lon``, ``lat``)."""

    model_config = ConfigDict(extra="forbid")
    x: float | None = Field(default=None, allow_inf_nan=False)
    y: float | None = Field(default=None, allow_inf_nan=False)
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)

    @model_validator(mode="after")
    def one_kind(self) -> Place:
        local = self.x is not None and self.y is not None
        wgs = self.lon is not None and self.lat is not None
        if local == wgs:
            raise ValueError("give either x and y (local metres) or lon and lat")
        return self


class FacilityAdd(Place):
    type: FacilityType
    id: str | None = Field(default=None, pattern=r"^[^\s/+#\x00-\x1f]{1,200}$")
    name: str | None = Field(default=None, max_length=200)


class FacilityMove(Place):
    id: str = Field(min_length=1, max_length=200)


class ScenarioCreate(BaseModel):
    """Facilities to add, move or remove; nothing stored changes."""

    model_config = ConfigDict(extra="forbid")
    add: list[FacilityAdd] = Field(default_factory=list, max_length=50)
    move: list[FacilityMove] = Field(default_factory=list, max_length=50)
    remove: list[str] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def not_empty(self) -> ScenarioCreate:
        if not (self.add or self.move or self.remove):
            raise ValueError("a scenario adds, moves or removes at least one facility")
        return self
