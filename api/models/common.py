"""Shapes shared by every resource."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ApiModel(BaseModel):
    # Responses are built by us; forbid surprises in request bodies.
    model_config = ConfigDict(extra="forbid")


class Problem(ApiModel):
    """Every 4xx/5xx body: one sentence naming the parameter or object at fault."""

    detail: str


class ValidationProblem(ApiModel):
    """422 body: FastAPI's list of parameter errors (``loc`` names the parameter)."""

    detail: list[dict[str, object]]


def problems(*codes: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI ``responses`` entries for the error codes a route may answer.

    503 (database unavailable, with Retry-After) is possible on every route
    that reads the database.
    """
    return {code: {"model": Problem} for code in (*codes, 503)}
