"""Small checked readers for the fields of a community model file.

Each returns the value or raises a :class:`~twin.errors.ModelError` that names
the object and the field, so a typo in a 2,000-device file is one clear line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from twin.errors import ModelError

COMMUNITY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
"""Community ids: as the database's CHECK constraint (they appear in MQTT topics and URLs)."""
OBJECT_ID = re.compile(r"^[^\s/+#\x00-\x1f]{1,200}$")
"""Building/unit/grid/device ids: no whitespace and no MQTT topic specials (``/ + #``)."""
NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
"""Device kinds and metric names (the ``metrics`` table's CHECK)."""


def check_keys(obj: Mapping[str, Any], allowed: Iterable[str], owner: str) -> None:
    """Reject unknown fields: a misspelt ``roof_zz`` must not be silently ignored.

    >>> check_keys({"id": "b1", "heigth": 3}, ("id", "height"), "building b1")
    Traceback (most recent call last):
    twin.errors.ModelError: building b1: unknown field 'heigth' (allowed: height, id)
    """
    unknown = sorted(set(obj) - set(allowed))
    if unknown:
        raise ModelError(
            owner, f"unknown field {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})"
        )


def identifier(value: Any, owner: str, *, pattern: re.Pattern[str] = OBJECT_ID) -> str:
    """An id string matching ``pattern``.

    >>> identifier("Lanting", "model id", pattern=COMMUNITY_ID)
    Traceback (most recent call last):
    twin.errors.ModelError: model id: 'Lanting' is not a valid id (pattern ...)
    """
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not pattern.match(value):
        raise ModelError(owner, f"{value!r} is not a valid id (pattern {pattern.pattern})")
    return value


def name_pattern(value: Any, owner: str, field: str) -> str:
    if not isinstance(value, str) or not NAME.match(value):
        raise ModelError(owner, f"{field} {value!r} must match {NAME.pattern}")
    return value


def optional_str(value: Any, owner: str, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ModelError(owner, f"{field} must be a string, got {value!r}")
    return value


def number(value: Any, owner: str, field: str) -> float:
    """A finite number (not a bool).

    >>> number("3", "building b1", "roof_z")
    Traceback (most recent call last):
    twin.errors.ModelError: building b1: roof_z must be a finite number, got '3'
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ModelError(owner, f"{field} must be a finite number, got {value!r}")
    return float(value)


def positive(value: Any, owner: str, field: str) -> float:
    result = number(value, owner, field)
    if result <= 0:
        raise ModelError(owner, f"{field} must be greater than 0, got {value!r}")
    return result


def integer(value: Any, owner: str, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ModelError(owner, f"{field} must be an integer, got {value!r}")
    return value


def storey_index(value: Any, owner: str, field: str = "storey") -> int:
    index = integer(value, owner, field)
    if index == 0:
        raise ModelError(owner, f"{field} 0 does not exist (1 = ground floor, -1 = first basement)")
    return index


def object_list(data: Mapping[str, Any], key: str, owner: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ModelError(owner, f"{key} must be a list")
    return value


def mapping(value: Any, owner: str, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ModelError(owner, f"{what} must be a JSON object, got {value!r}")
    return value


RESERVED_PREFIX = "_"
"""Attribute keys starting with this are commtwin's own bookkeeping in the database."""


def attributes(data: Mapping[str, Any], owner: str) -> dict[str, Any]:
    """A free-form ``attributes`` object; keys starting with ``_`` are reserved.

    >>> attributes({"attributes": {"_name": 1}}, "device d")
    Traceback (most recent call last):
    twin.errors.ModelError: device d: attribute '_name' is reserved (keys starting with '_')
    """
    result = dict(mapping(data.get("attributes", {}), owner, "attributes"))
    for key in result:
        if key.startswith(RESERVED_PREFIX):
            raise ModelError(owner, f"attribute {key!r} is reserved (keys starting with '_')")
    return result


def string_list(value: Any, owner: str, field: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ModelError(owner, f"{field} must be a list of strings")
    if len(set(value)) != len(value):
        twice = next(v for v in value if value.count(v) > 1)
        raise ModelError(owner, f"{field} lists {twice!r} twice")
    return tuple(value)
