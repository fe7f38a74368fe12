"""The API's exception tree; the app turns each into a status and a reason.

Query modules raise these (the CLI shows the same messages as one line).
"""

from __future__ import annotations


class ApiError(Exception):
    """An expected failure with a client-facing message."""

    status_code = 400


class BadRequestError(ApiError):
    """A parameter is unusable; the message starts with the parameter's name."""

    status_code = 400

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param


class NotFoundError(ApiError):
    """An id names nothing this key may see."""

    status_code = 404

    def __init__(self, what: str, ident: str | int) -> None:
        super().__init__(f"{what} {ident!r} not found")


class ConflictError(ApiError):
    """The request is valid but the object's state does not allow it."""

    status_code = 409
