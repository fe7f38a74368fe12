"""A whole ``.city.json`` read without decoding it whole.

A city of 10,000 buildings is one ~80 MiB document; decoded into Python
objects it takes ~1.1 GiB and most of the import's time (millions of small
lists, and the garbage collector walking them). Instead the file is parsed
with simdjson (``pysimdjson``: a compact tape, no Python objects), the shared
``vertices`` array goes straight into numpy from the tape, and ``CityObjects``
is decoded one object at a time: first only each object's type and links
(``children``/``parents``), then again to hand the buildings to the usual
reader (``Header.collect``) a few hundred families at a time, each family (a
top-level object and its descendants) as soon as all of it has been seen.
The result is the one :func:`twin.geometry.cityjson.read_cityjson_report` gives for
the decoded document, buildings in the order their families complete.

Files that are not CityJSON come back decoded as usual (:func:`load_json`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import simdjson

from twin.errors import ModelError
from twin.geometry.bulk_decode import cycle_collector_paused
from twin.geometry.cityjson import Batch, Header, Vertices, settle
from twin.geometry.cityjson_pending import Pending
from twin.geometry.import_report import GeometryReport
from twin.model.crs import Frame
from twin.model.storeys import DEFAULT_STOREY_HEIGHT

CHUNK = 500
"""Families read together: the footprints' bulk speed with bounded memory."""

_BULK = ("CityObjects", "vertices")


@dataclass
class CityJSONDocument:
    """A parsed, not yet decoded CityJSON document; ``parser`` owns ``root``'s memory."""

    source: str
    root: simdjson.Object | None
    parser: simdjson.Parser | None = field(repr=False)

    def close(self) -> None:
        """Free the parsed document (~5 bytes per byte of file) once its buildings are read."""
        self.root = self.parser = None


def load_json(path: Path) -> Any:
    """The decoded JSON of ``path``, or a :class:`CityJSONDocument` for a CityJSON file.

    A missing, unreadable or malformed file is a ModelError naming it.
    """
    parser = simdjson.Parser()
    try:
        # Opened here first for the OS's own reason (simdjson only says IO_ERROR);
        # then simdjson reads it into its buffer itself, without a copy in Python.
        with path.open("rb"):
            pass
        root = parser.load(path)
    except FileNotFoundError:
        raise ModelError(str(path), "file not found") from None
    except OSError as exc:
        raise ModelError(str(path), f"cannot be read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ModelError(str(path), f"is not valid JSON: {exc}") from None
    if isinstance(root, simdjson.Object) and root.get("type") == "CityJSON":
        return CityJSONDocument(path.name, root, parser)
    return _decoded(root)


@cycle_collector_paused()
def read_cityjson_document(
    document: CityJSONDocument,
    *,
    frame: Frame | None = None,
    storey_height: float = DEFAULT_STOREY_HEIGHT,
    strict: bool = False,
    crs: str | None = None,
) -> GeometryReport:
    """``read_cityjson_report`` (twin.geometry.cityjson) of a parsed document, object by object."""
    root, source = document.root, document.source
    if root is None:
        raise ModelError(source, "was closed before it was read")
    head = {key: _decoded(root[key]) for key in list(root.keys()) if key not in _BULK}
    header = Header.of(head, source, crs)
    world = header.placed(_vertex_rows(root.get("vertices"), source))
    if frame is None:
        frame = header.frame_for(world, source)
    objects = root.get("CityObjects")
    if not isinstance(objects, simdjson.Object):
        raise ModelError(source, "CityObjects must be an object")
    links = Links.of(_items(objects))
    local = header.to_local(world, frame, source)
    batch = Batch.empty()
    for family_roots, piece in links.pieces(_items(objects), CHUNK):
        pending: list[Pending] = header.collect(
            piece,
            world,
            batch,
            frame=frame,
            storey_height=storey_height,
            source=source,
            strict=strict,
            roots=family_roots,
            local=local,
        )
        settle(pending, batch, strict=strict, source=source)
    batch.sort_skips(links.order)
    return batch.report(source, header.source_crs, frame)


@dataclass(slots=True)
class Links:
    """Each object's place in the file: its position, whether it is top-level, its family.

    >>> links = Links.of([("b", {"children": ["p"]}), ("p", {"parents": ["b"]}),
    ...                   ("r", {"type": "Road"})])
    >>> [(sorted(r), list(p)) for r, p in links.pieces(
    ...     [("p", {"parents": ["b"]}), ("b", {}), ("r", {})], 10)]
    [(['b', 'r'], ['b', 'p', 'r'])]
    """

    order: dict[str, int]
    members: dict[str, tuple[str, ...]]
    """Per top-level object: itself and its descendants present in the file."""

    @classmethod
    def of(cls, objects: Iterable[tuple[str, Any]]) -> Links:
        order: dict[str, int] = {}
        children: dict[str, list[str]] = {}
        parents: dict[str, list[str]] = {}
        for oid, obj in objects:
            order.setdefault(oid, len(order))
            if isinstance(obj, Mapping):
                children[oid] = _ids(obj.get("children"))
                parents[oid] = _ids(obj.get("parents"))
        members: dict[str, tuple[str, ...]] = {}
        for oid in order:
            if any(p in order for p in parents.get(oid, ())):
                continue  # read as part of its parent's family
            family, seen, queue = [oid], {oid}, deque(children.get(oid, ()))
            while queue:
                child = queue.popleft()
                if child in seen or child not in order:
                    continue  # a missing child is the building reader's error to report
                seen.add(child)
                family.append(child)
                queue.extend(children.get(child, ()))
            members[oid] = tuple(family)
        return cls(order, members)

    def pieces(
        self, objects: Iterable[tuple[str, Any]], size: int
    ) -> Iterator[tuple[frozenset[str], dict[str, Any]]]:
        """``objects`` again, as pieces of about ``size`` complete families, and their roots.

        An object is held only until every family it belongs to has been handed out.
        """
        missing = {top: len(family) for top, family in self.members.items()}
        belongs: dict[str, list[str]] = {}
        for top, family in self.members.items():
            for oid in family:
                belongs.setdefault(oid, []).append(top)
        held: dict[str, Any] = {}
        users = {oid: len(tops) for oid, tops in belongs.items()}
        ready: list[str] = []
        for oid, obj in objects:
            if oid not in belongs or oid in held:
                continue  # not in any family, or a repeated key (the first one counts)
            held[oid] = obj
            for top in belongs[oid]:
                missing[top] -= 1
                if missing[top] == 0:
                    ready.append(top)
            if len(ready) >= size:
                yield self._piece(ready, held, users)
                ready = []
        if ready:
            yield self._piece(ready, held, users)

    def _piece(
        self, ready: list[str], held: dict[str, Any], users: dict[str, int]
    ) -> tuple[frozenset[str], dict[str, Any]]:
        piece: dict[str, Any] = {}
        for top in ready:
            for oid in self.members[top]:
                piece[oid] = held[oid]
                users[oid] -= 1
                if users[oid] == 0:
                    del held[oid]
        return frozenset(ready), piece


def _ids(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _items(objects: simdjson.Object) -> Iterator[tuple[str, Any]]:
    """``CityObjects``' entries, each value decoded on its own (simdjson does it in C)."""
    for key, value in objects.items():
        yield str(key), value


def _decoded(value: Any) -> Any:
    if isinstance(value, simdjson.Object):
        return value.as_dict()
    if isinstance(value, simdjson.Array):
        return value.as_list()
    return value


def _vertex_rows(raw: Any, source: str) -> Vertices:
    """The ``vertices`` array as n × 3 floats, read from simdjson's tape without Python lists.

    ``as_buffer`` flattens any nesting (and refuses anything but numbers), so
    the shape is checked on the array's compact text: with everything but
    brackets and commas deleted it must read ``[[,,],[,,],…]``.
    """
    if raw is None:
        return np.empty((0, 3))
    problem = ModelError(source, "vertices must be a list of [x, y, z] numbers")
    if not isinstance(raw, simdjson.Array):
        raise problem
    count = len(raw)
    if count == 0:
        return np.empty((0, 3))
    try:
        flat = np.frombuffer(raw.as_buffer(of_type="d"), dtype=np.float64)
    except (TypeError, ValueError):
        raise problem from None
    mini: Any = raw.mini  # bytes at run time, though the stubs say str
    text = mini.encode() if isinstance(mini, str) else bytes(mini)
    shape = text.translate(None, _NOT_STRUCTURE)
    if len(flat) != 3 * count or shape != b"[" + b",".join([b"[,,]"] * count) + b"]":
        raise problem
    if not np.isfinite(flat).all():
        raise problem
    return flat.reshape(-1, 3)


_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b"[],")
