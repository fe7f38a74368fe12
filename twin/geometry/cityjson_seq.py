"""CityJSON Text Sequences (``.city.jsonl``), streamed one feature at a time.

The first line is a ``CityJSON`` object with the ``transform``, ``metadata``
and ``geometry-templates`` of the whole stream (and normally no objects); every
other line is a ``CityJSONFeature``: one top-level object with its children
and its own ``vertices`` (indices start at 0 in each feature, the header's
transform applies). That is what ``cjio export jsonl`` and 3D BAG's tile
downloads produce.

Only the current feature and the buildings read so far are in memory: lines
are decoded as they come and gathered into chunks whose footprints are
computed in bulk (``twin.geometry.cityjson_building.finish``). Without a frame, the
offset comes from ``metadata.geographicalExtent`` (else from the first
feature), so nothing has to be read twice. A line that is not a feature, or
a duplicate building id, is skipped with its reason like any bad object.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import orjson

from twin.errors import ModelError
from twin.geometry.bulk_decode import cycle_collector_paused
from twin.geometry.cityjson import Batch, Header, settle
from twin.geometry.cityjson_pending import Pending
from twin.geometry.import_report import (
    DUPLICATE_ID,
    INVALID_LINE,
    GeometryReport,
    ObjectError,
    skip_for,
)
from twin.model.crs import Frame
from twin.model.storeys import DEFAULT_STOREY_HEIGHT

CHUNK = 500
"""Features whose footprints are computed together: bulk speed, bounded memory."""


def looks_like_seq(name: str) -> bool:
    """Whether a file name says CityJSONSeq.

    >>> looks_like_seq("tile.city.jsonl"), looks_like_seq("tile.city.json")
    (True, False)
    """
    return name.lower().endswith((".jsonl", ".jsonseq"))


@cycle_collector_paused()
def read_cityjson_seq(
    lines: Iterable[bytes | str],
    source: str,
    *,
    frame: Frame | None = None,
    storey_height: float = DEFAULT_STOREY_HEIGHT,
    strict: bool = False,
    crs: str | None = None,
) -> GeometryReport:
    """The buildings of a CityJSONSeq stream (an open binary file iterates its lines)."""
    numbered = ((n, line) for n, line in enumerate(lines, start=1) if line.strip())
    first = next(numbered, None)
    if first is None:
        raise ModelError(source, "is empty; a CityJSONSeq starts with a CityJSON line")
    head = _decode(first[1], f"{source} line {first[0]}")
    if not isinstance(head, Mapping):
        raise ModelError(source, "line 1 must be a CityJSON object")
    header = Header.of(head, source, crs)
    batch = Batch.empty()
    pending: list[Pending] = []
    seen: set[str] = set()
    features = _features(head, first[0], numbered)
    for number, feature in features:
        where = f"{source} line {number}"
        try:
            objects, world = _feature(feature, header, where)
            if frame is None:
                frame = _frame(head, header, world, source)
            found = header.collect(
                objects,
                world,
                batch,
                frame=frame,
                storey_height=storey_height,
                source=where,
                strict=strict,
            )
        except ModelError as exc:
            if strict:
                raise
            batch.skips.append(skip_for(_feature_id(feature, number), None, exc))
            continue
        for p in found:
            if p.building.id in seen:
                error = ObjectError(p.owner, DUPLICATE_ID, "another feature has this building")
                if strict:
                    raise error
                batch.skips.append(skip_for(p.building.id, p.kind, error))
            else:
                seen.add(p.building.id)
                pending.append(p)
        if len(pending) >= CHUNK:
            settle(pending, batch, strict=strict, source=source)
            pending = []
    settle(pending, batch, strict=strict, source=source)
    if frame is None:
        frame = _frame(head, header, np.empty((0, 3)), source)
    return batch.report(source, header.source_crs, frame)


def _features(
    head: Mapping[str, Any], first: int, numbered: Iterable[tuple[int, bytes | str]]
) -> Iterable[tuple[int, Any]]:
    """The header's own objects (if any, as one feature), then one decoded feature per line."""
    objects = head.get("CityObjects")
    if isinstance(objects, Mapping) and objects:
        yield first, {**head, "type": "CityJSONFeature"}
    for number, line in numbered:
        try:
            yield number, orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield number, ObjectError(f"line {number}", INVALID_LINE, f"not valid JSON: {exc}")


def _feature(feature: Any, header: Header, where: str) -> tuple[Mapping[str, Any], Any]:
    if isinstance(feature, ModelError):
        raise feature
    if not isinstance(feature, Mapping) or feature.get("type") != "CityJSONFeature":
        raise ObjectError(where, INVALID_LINE, "not a CityJSONFeature")
    objects = feature.get("CityObjects")
    if not isinstance(objects, Mapping):
        raise ObjectError(where, INVALID_LINE, "CityObjects must be an object")
    try:
        world = header.world(feature.get("vertices"), where)
    except ModelError as exc:
        raise ObjectError(where, INVALID_LINE, exc.problem) from None
    return objects, world


def _feature_id(feature: Any, number: int) -> str:
    if isinstance(feature, Mapping) and isinstance(feature.get("id"), str):
        return str(feature["id"])
    return f"line {number}"


def _frame(head: Mapping[str, Any], header: Header, world: Any, source: str) -> Frame:
    metadata = head.get("metadata")
    extent = metadata.get("geographicalExtent") if isinstance(metadata, Mapping) else None
    try:
        box = np.asarray(extent, np.float64).reshape(6)
        if np.isfinite(box).all():
            world = np.asarray([box[:3], box[3:]])
    except (TypeError, ValueError):
        pass
    return header.frame_for(world, source)


def _decode(line: bytes | str, where: str) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ModelError(where, f"is not valid JSON: {exc}") from None
