"""What a building import left out, and why: one :class:`Skip` per object.

A real city model has thousands of objects from tools we never saw; one bad
object must not cost the community the rest. Readers run in one of two modes:
*lenient* (the default of ``commtwin community import``) turns each object
that cannot be imported into a :class:`Skip` naming the object and a stable
``reason`` (a short phrase, the key of the console summary and of the JSON
report), and *strict* raises the object's :class:`ObjectError` at once, the
old all-or-nothing behaviour.

>>> skips = (Skip("b1", "Building", DANGLING_VERTEX, "index 9 of 8 vertices"),
...          Skip("r1", "Road", NOT_A_BUILDING))
>>> for line in summary_lines(skips):
...     print(line)
  skipped 1 object(s): dangling vertex index (b1)
  skipped 1 object(s): not a building (r1)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from twin.errors import ModelError
from twin.model.community import GeometryImport

NOT_A_BUILDING = "not a building"
DANGLING_VERTEX = "dangling vertex index"
EMPTY_BOUNDARIES = "empty boundaries"
MALFORMED_BOUNDARIES = "malformed boundaries"
SELF_INTERSECTING = "self-intersecting ring"
NO_FOOTPRINT = "no footprint geometry"
INVALID_FOOTPRINT = "invalid footprint"
MISSING_OBJECT = "missing child object"
DUPLICATE_ID = "duplicate id"
INVALID_OBJECT = "invalid object"
INVALID_LINE = "invalid line"


class ObjectError(ModelError):
    """One object of a geometry file cannot be imported; ``reason`` is its category.

    >>> str(ObjectError("building b1 (a.json)", EMPTY_BOUNDARIES, "geometry 0 (lod 1)"))
    'building b1 (a.json): empty boundaries: geometry 0 (lod 1)'
    """

    def __init__(self, obj: str, reason: str, detail: str = "") -> None:
        super().__init__(obj, f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Skip:
    """An object of the file that was not imported."""

    object_id: str
    object_type: str | None
    reason: str
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.object_id,
            "type": self.object_type,
            "reason": self.reason,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class GeometryReport:
    """The buildings read from one file and every object left out."""

    found: GeometryImport
    skips: tuple[Skip, ...] = ()

    @property
    def broken(self) -> tuple[Skip, ...]:
        """Skips of objects that should have been buildings (not other object kinds)."""
        return tuple(s for s in self.skips if s.reason != NOT_A_BUILDING)

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.found.source,
            "buildings": len(self.found.buildings),
            "skipped": len(self.skips),
            "by_reason": dict(sorted(Counter(s.reason for s in self.skips).items())),
            "objects": [s.as_json() for s in self.skips],
        }


def skip_for(object_id: str, object_type: str | None, exc: ModelError) -> Skip:
    """The skip of an object whose reading raised ``exc``."""
    if isinstance(exc, ObjectError):
        return Skip(object_id, object_type, exc.reason, exc.detail)
    if "Self-intersection" in exc.problem:
        reason = SELF_INTERSECTING
    elif exc.problem.startswith("footprint"):
        reason = INVALID_FOOTPRINT
    else:
        reason = INVALID_OBJECT
    return Skip(object_id, object_type, reason, exc.problem)


def summary_lines(skips: Iterable[Skip], examples: int = 3) -> list[str]:
    """One console line per reason, most frequent first, with the first few ids."""
    ids: dict[str, list[str]] = {}
    for skip in skips:
        ids.setdefault(skip.reason, []).append(skip.object_id)
    lines = []
    for reason, found in sorted(ids.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        shown = ", ".join(found[:examples]) + (", ..." if len(found) > examples else "")
        lines.append(f"  skipped {len(found)} object(s): {reason} ({shown})")
    return lines
