"""Service facilities of the 15-minute service circle, and OSM tags → facility types.

A :class:`Facility` is a point or a (multi)polygon in the community's local
metres with one of :data:`FACILITY_TYPES`. They come from the model file's
``facilities`` list or from GeoJSON/OSM features (``twin.services.geojson``),
whose tags are mapped by :func:`facility_type_from_tags`:

==============  ==========================================================
type            OSM tags (first match wins, in this order)
==============  ==========================================================
elderly_care    ``amenity=social_facility`` with ``social_facility:for`` =
                senior/elderly, or ``social_facility`` = nursing_home /
                assisted_living; ``amenity=nursing_home``;
                ``healthcare=nursing_home``
clinic          ``amenity`` = clinic / doctors / hospital;
                ``healthcare`` = clinic / doctor / centre / hospital
canteen         ``amenity`` = canteen / food_court
kindergarten    ``amenity`` = kindergarten / childcare
school          ``amenity=school``
supermarket     ``shop`` = supermarket / convenience / greengrocer / general;
                ``amenity=marketplace``
bus_stop        ``highway=bus_stop``; ``amenity=bus_station``;
                ``public_transport=platform`` with ``bus=yes``
park            ``leisure`` = park / garden / recreation_ground / common;
                ``landuse=recreation_ground``
==============  ==========================================================

An explicit ``commtwin:service`` (or ``service_type``) property naming one of
the types wins over the tags, so a planner can tag what OSM does not say.

>>> facility_type_from_tags({"amenity": "social_facility", "social_facility:for": "senior"})
'elderly_care'
>>> facility_type_from_tags({"shop": "convenience"}), facility_type_from_tags({"shop": "car"})
('supermarket', None)
>>> facility_type_from_tags({"amenity": "restaurant", "commtwin:service": "canteen"})
'canteen'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from twin.errors import ModelError
from twin.model import fields as f

FACILITY_TYPES: tuple[str, ...] = (
    "clinic",
    "elderly_care",
    "canteen",
    "kindergarten",
    "school",
    "supermarket",
    "bus_stop",
    "park",
)
"""The service types of the issue, in the order the API and cockpit list them."""

EXPLICIT_TYPE_KEYS = ("commtwin:service", "service_type")

# (tag, values) per type, checked in this order after the elderly-care special case.
_TAGS: dict[str, tuple[tuple[str, frozenset[str]], ...]] = {
    "elderly_care": (
        ("amenity", frozenset({"nursing_home"})),
        ("healthcare", frozenset({"nursing_home"})),
        ("social_facility", frozenset({"nursing_home", "assisted_living"})),
    ),
    "clinic": (
        ("amenity", frozenset({"clinic", "doctors", "hospital"})),
        ("healthcare", frozenset({"clinic", "doctor", "centre", "hospital"})),
    ),
    "canteen": (("amenity", frozenset({"canteen", "food_court"})),),
    "kindergarten": (("amenity", frozenset({"kindergarten", "childcare"})),),
    "school": (("amenity", frozenset({"school"})),),
    "supermarket": (
        ("shop", frozenset({"supermarket", "convenience", "greengrocer", "general"})),
        ("amenity", frozenset({"marketplace"})),
    ),
    "bus_stop": (
        ("highway", frozenset({"bus_stop"})),
        ("amenity", frozenset({"bus_station"})),
    ),
    "park": (
        ("leisure", frozenset({"park", "garden", "recreation_ground", "common"})),
        ("landuse", frozenset({"recreation_ground"})),
    ),
}
_SENIOR = frozenset({"senior", "seniors", "elderly", "aged"})


@dataclass(frozen=True, slots=True)
class Facility:
    """A service facility: a shapely Point, Polygon or MultiPolygon in local metres."""

    id: str
    type: str
    geometry: Any
    name: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)


def facility_type_from_tags(tags: Mapping[str, Any]) -> str | None:
    """The facility type OSM-style ``tags`` describe, or None (see the module table)."""
    for key in EXPLICIT_TYPE_KEYS:
        explicit = tags.get(key)
        if isinstance(explicit, str) and explicit in FACILITY_TYPES:
            return explicit
    if tags.get("amenity") == "social_facility" and (
        str(tags.get("social_facility:for", "")).lower() in _SENIOR
        or tags.get("social_facility") in ("nursing_home", "assisted_living")
    ):
        return "elderly_care"
    for kind, rules in _TAGS.items():
        for key, values in rules:
            if tags.get(key) in values:
                return kind
    if tags.get("public_transport") == "platform" and tags.get("bus") == "yes":
        return "bus_stop"
    return None


def check_facility_type(value: Any, owner: str) -> str:
    """``value`` if it is one of :data:`FACILITY_TYPES`, else a ModelError listing them."""
    if value not in FACILITY_TYPES:
        raise ModelError(owner, f"type must be one of {', '.join(FACILITY_TYPES)}, got {value!r}")
    return str(value)


_FACILITY_KEYS = ("id", "type", "name", "geometry", "attributes")


def facility_from_json(data: Any) -> Facility:
    """One ``facilities`` entry of a model file: a GeoJSON Point/Polygon in local metres.

    >>> facility_from_json({"id": "c1", "type": "clinic",
    ...                     "geometry": {"type": "Point", "coordinates": [3, 4]}}).geometry.wkt
    'POINT (3 4)'
    >>> facility_from_json({"id": "c1", "type": "bank",
    ...                     "geometry": {"type": "Point", "coordinates": [3, 4]}})
    Traceback (most recent call last):
    twin.errors.ModelError: facility c1: type must be one of clinic, ...
    """
    f.mapping(data, "facility", "a facility")
    fid = f.identifier(data.get("id"), "facility id")
    owner = f"facility {fid}"
    f.check_keys(data, _FACILITY_KEYS, owner)
    kind = check_facility_type(data.get("type"), owner)
    if "geometry" not in data:
        raise ModelError(owner, "geometry is required (a GeoJSON Point or Polygon)")
    return Facility(
        fid,
        kind,
        facility_geometry(data["geometry"], owner),
        f.optional_str(data.get("name"), owner, "name"),
        f.attributes(data, owner),
    )


def facility_to_json(facility: Facility) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": facility.id,
        "type": facility.type,
        "geometry": geometry_to_json(facility.geometry),
    }
    if facility.name is not None:
        out["name"] = facility.name
    if facility.attributes:
        out["attributes"] = dict(facility.attributes)
    return out


_FACILITY_GEOMETRIES = ("Point", "Polygon", "MultiPolygon")


def facility_geometry(obj: Any, owner: str) -> Any:
    """A checked shapely Point/Polygon/MultiPolygon from a GeoJSON geometry object."""
    geometry = geometry_from_json(obj, owner, _FACILITY_GEOMETRIES)
    if geometry.geom_type != "Point" and not shapely.is_valid(geometry):
        reason = shapely.is_valid_reason(geometry)
        raise ModelError(owner, f"geometry is invalid: {reason}")
    return geometry


def geometry_from_json(obj: Any, owner: str, allowed: tuple[str, ...]) -> Any:
    """A shapely geometry of one of the ``allowed`` GeoJSON types, finite and non-empty."""
    if not isinstance(obj, Mapping) or obj.get("type") not in allowed:
        kind = obj.get("type") if isinstance(obj, Mapping) else type(obj).__name__
        raise ModelError(owner, f"geometry must be a GeoJSON {' or '.join(allowed)}, got {kind!r}")
    try:
        geometry = shapely.geometry.shape(obj)
    except (ValueError, TypeError, IndexError, AttributeError, shapely.errors.ShapelyError) as exc:
        raise ModelError(owner, f"geometry is not valid GeoJSON: {exc}") from None
    coords = shapely.get_coordinates(geometry)
    if geometry.is_empty or len(coords) == 0:
        raise ModelError(owner, "geometry is empty")
    if not np.isfinite(coords).all():
        raise ModelError(owner, "geometry has non-finite coordinates")
    return geometry


def geometry_to_json(geometry: Any) -> dict[str, Any]:
    """GeoJSON of a shapely geometry (coordinates as lists, x/y only)."""
    mapping = shapely.geometry.mapping(shapely.force_2d(geometry))
    return _listify(mapping)  # type: ignore[no-any-return]


def _listify(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _listify(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_listify(v) for v in value]
    return value
