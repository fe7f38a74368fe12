"""Asking the demo's API whether it is ready and whether devices are online.

Plain ``urllib`` (no extra dependency). Online devices are the ``/live``
snapshot's ``kpis.devices_online``, what the cockpit itself shows.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


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


class ApiProbe:
    """Questions to one API about one community, with one key."""

    def __init__(self, base_url: str, community: str, key: str) -> None:
        self.base = base_url.rstrip("/")
        self.community = community
        self.key = key

    def ready(self) -> bool:
        """``/readyz`` says the database is reachable and the schema current."""
        return get_json(self.base + "/readyz", timeout=2.0).status == 200

    def devices_online(self) -> int | None:
        """How many of the community's devices are online (None: no answer yet)."""
        answer = get_json(f"{self.base}/v1/communities/{self.community}/live", self.key)
        return online_from_live(answer.body) if answer.status == 200 else None
