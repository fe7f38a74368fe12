"""Asking the demo's API whether it is ready and whether devices are online.

Plain ``urllib`` (no extra dependency). ``/live`` is the contract
(``kpis.devices_online``); an API without it (before phase 2 of the API)
is asked ``/devices?online=true`` instead, decided once from /openapi.json.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

LIVE_PATH = "/v1/communities/{cid}/live"


@dataclass(frozen=True, slots=True)
class Answer:
    status: int  # 0: no answer (connection refused, timeout)
    body: Any


def get_json(url: str, key: str | None = None, timeout: float = 5.0) -> Answer:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    if key is not None:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Answer(response.status, _json(response.read()))
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, _json(exc.read()))
    except (urllib.error.URLError, OSError, TimeoutError):
        return Answer(0, None)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def has_live(openapi: Any) -> bool:
    """Whether the API serves ``/live`` (from its OpenAPI document).

    >>> has_live({"paths": {"/v1/communities/{cid}/live": {}}})
    True
    >>> has_live({"paths": {}}), has_live(None)
    (False, False)
    """
    return isinstance(openapi, dict) and LIVE_PATH in openapi.get("paths", {})


def online_from_live(body: Any) -> int | None:
    """``kpis.devices_online`` of a /live snapshot.

    >>> online_from_live({"kpis": {"devices_online": 3}})
    3
    >>> online_from_live({"detail": "no"}) is None
    True
    """
    try:
        return int(body["kpis"]["devices_online"])
    except (KeyError, TypeError, ValueError):
        return None


def online_from_devices(body: Any) -> int | None:
    """``count`` of a ``/devices?online=true`` page.

    >>> online_from_devices({"count": 7, "devices": []})
    7
    """
    try:
        return int(body["count"])
    except (KeyError, TypeError, ValueError):
        return None


class ApiProbe:
    """Questions to one API about one community, with one key."""

    def __init__(self, base_url: str, community: str, key: str) -> None:
        self.base = base_url.rstrip("/")
        self.community = community
        self.key = key
        self._live: bool | None = None

    def ready(self) -> bool:
        """``/readyz`` says the database is reachable and the schema current."""
        return get_json(self.base + "/readyz", timeout=2.0).status == 200

    def devices_online(self) -> int | None:
        """How many of the community's devices are online (None: no answer yet)."""
        if self._live is None:
            openapi = get_json(self.base + "/openapi.json")
            if openapi.status != 200:
                return None
            self._live = has_live(openapi.body)
        prefix = f"{self.base}/v1/communities/{self.community}"
        if self._live:
            answer = get_json(prefix + "/live", self.key)
            return online_from_live(answer.body) if answer.status == 200 else None
        answer = get_json(prefix + "/devices?online=true&limit=1", self.key)
        return online_from_devices(answer.body) if answer.status == 200 else None
