"""The twin's exception tree: one base, and a model error that names its object.

Every problem with a community model (a bad footprint, an unknown CRS, a
duplicate id, a device placed in a building that does not exist) is a
:class:`ModelError` whose message starts with the object it is about, so the
operator sees ``building b01: footprint ring is not closed`` and knows where to
look.
"""

from __future__ import annotations


class TwinError(Exception):
    """Base of every error raised by the ``twin`` package."""


class ModelError(TwinError):
    """A community model (file, geometry, placement) is invalid.

    >>> str(ModelError("building b01", "footprint is empty"))
    'building b01: footprint is empty'
    """

    def __init__(self, obj: str, problem: str) -> None:
        self.obj = obj
        self.problem = problem
        super().__init__(f"{obj}: {problem}")
