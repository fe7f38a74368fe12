"""A bare building file (CityJSON, CityJSONSeq or GeoJSON) read into a report.

Told apart by content (``type``), except CityJSONSeq, which is not one JSON
document: a ``.jsonl`` name, or a file that is not JSON but whose first line
is a CityJSON object, is streamed line by line (``twin.geometry.cityjson_seq``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from twin.errors import ModelError
from twin.geometry.cityjson import read_cityjson_report
from twin.geometry.cityjson_document import CityJSONDocument, read_cityjson_document
from twin.geometry.cityjson_seq import read_cityjson_seq
from twin.geometry.geojson_buildings import read_geojson_report
from twin.geometry.import_report import GeometryReport
from twin.model.crs import Frame
from twin.model.storeys import DEFAULT_STOREY_HEIGHT


def read_geometry_report(
    data: Any,
    source: str,
    *,
    frame: Frame | None = None,
    storey_height: float = DEFAULT_STOREY_HEIGHT,
    strict: bool = False,
    crs: str | None = None,
) -> GeometryReport:
    """Buildings of a decoded CityJSON or GeoJSON document, and what was skipped.

    A :class:`~twin.geometry.cityjson_document.CityJSONDocument` (from ``load_json``) is
    read object by object.
    """
    if isinstance(data, CityJSONDocument):
        return read_cityjson_document(
            data, frame=frame, storey_height=storey_height, strict=strict, crs=crs
        )
    kind = data.get("type") if isinstance(data, Mapping) else None
    if kind == "CityJSON":
        return read_cityjson_report(
            data, source, frame=frame, storey_height=storey_height, strict=strict, crs=crs
        )
    if kind in ("FeatureCollection", "Feature"):
        return read_geojson_report(
            data, source, frame=frame, storey_height=storey_height, strict=strict
        )
    raise ModelError(source, "is neither CityJSON nor a GeoJSON FeatureCollection")


def starts_like_seq(path: Path) -> bool:
    """Whether a file that is not one JSON document starts with a CityJSON line (a misnamed seq)."""
    try:
        with path.open("rb") as stream:
            first = orjson.loads(stream.readline())
    except (OSError, orjson.JSONDecodeError):
        return False
    return isinstance(first, Mapping) and first.get("type") == "CityJSON"


def read_seq_file(
    path: Path,
    *,
    frame: Frame | None = None,
    storey_height: float = DEFAULT_STOREY_HEIGHT,
    strict: bool = False,
    crs: str | None = None,
) -> GeometryReport:
    """Stream a CityJSONSeq file: one line in memory at a time."""
    try:
        with path.open("rb") as stream:
            return read_cityjson_seq(
                stream, path.name, frame=frame, storey_height=storey_height, strict=strict, crs=crs
            )
    except FileNotFoundError:
        raise ModelError(str(path), "file not found") from None
    except OSError as exc:
        raise ModelError(str(path), f"cannot be read: {exc.strerror}") from None
