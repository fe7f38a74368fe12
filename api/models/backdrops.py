"""A community's 3D Tiles backdrop: what an admin sets, what the cockpit reads."""

from __future__ import annotations

from pydantic import Field

from api.models.common import ApiModel


class BackdropSet(ApiModel):
    url: str = Field(
        min_length=8,
        max_length=2000,
        # Printable ASCII only (a URL's other characters are percent-encoded):
        # no spaces, control characters or NUL, which the database cannot store.
        pattern=r"^https?://[\x21-\x7e]+$",
        description="the tileset.json of an OGC 3D Tiles tileset (http or https, ASCII: "
        "percent-encode anything else)",
        examples=["https://tiles.example.org/lanting/tileset.json"],
    )
    height_offset: float = Field(
        default=0.0,
        ge=-200.0,
        le=200.0,
        description="metres added to the model's heights to get WGS 84 ellipsoidal heights",
    )


class Georeference(ApiModel):
    origin: tuple[float, float, float] = Field(
        description="longitude, latitude (WGS 84 degrees) and ellipsoidal height of the "
        "community's centre"
    )
    ecef_to_local: list[list[float]] = Field(
        description="4×4 rows: local metres (x east, y north, z up) = M · (ECEF x, y, z, 1)"
    )
    residual_m: float = Field(description="worst error of the affine map within 1 km")


class BackdropPublic(ApiModel):
    url: str | None = Field(description="the tileset, or null when none is configured")
    height_offset: float = 0.0
    georeference: Georeference | None = None
