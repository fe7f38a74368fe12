"""The grid workers' app: the open incidents they did not hear of from residents.

The residents' flow plans the closed loop of every report it makes; incidents
opened elsewhere (the ingestor opens ``alarm-<id>`` from critical alarms;
another app or an earlier run may have left some open) reach the workers the
way they reach a real worker's app: through the API. :class:`WorkerDesk`
polls ``GET /v1/communities/{c}/incidents?status=open`` with a read key
(``cockpit:read`` is enough), turns each incident it has no plan for into a
:class:`~simulators.grid_workers.Job` continuing from its status, and hands
the plan's events to the feed runner (:meth:`FeedRunner.inject`), which
publishes them over MQTT when the simulated clock reaches them, as the
workers' app backend would. No import of the API: only its HTTP contract.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from simulators import wire
from simulators.actions import Publish
from simulators.clock import SimClock
from simulators.grid_workers import GridWorkers, Job

PAGE = 1000
WORKED = frozenset({"reported", "dispatched", "accepted", "resolved"})
# Event times an incident row carries: the plan must come after all of them.
EVENT_TIMES = ("reported_at", "dispatched_at", "accepted_at", "resolved_at")


class DeskError(Exception):
    """The API did not give the open incidents (the message says why)."""


@dataclass(frozen=True, slots=True)
class WorkersApi:
    """Where the workers' app reads incidents: the API's base URL and a read key."""

    url: str
    key: str
    poll_s: float = 2.0  # real seconds between two reads


def _epoch(text: object) -> float | None:
    if not isinstance(text, str):
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def job_from_item(item: dict[str, Any], now: float) -> Job | None:
    """The job of one ``/incidents`` item at simulated time ``now`` (None: nothing to do).

    >>> item = {"id": "alarm-7", "status": "dispatched", "category": "fire",
    ...         "priority": "critical", "assignee": "w-zhang", "reporter": "device:smoke-1",
    ...         "reported_at": "2026-12-03T08:00:00Z", "dispatched_at": "2026-12-03T08:00:00.001Z"}
    >>> job = job_from_item(item, now=0.0)
    >>> job.worker, job.status, job.reporter, job.critical, round(job.since - job.reported_at, 3)
    ('w-zhang', 'dispatched', None, True, 0.001)
    >>> job_from_item({**item, "status": "closed"}, now=0.0) is None
    True
    """
    status = item.get("status")
    reported_at = _epoch(item.get("reported_at"))
    if status not in WORKED or reported_at is None or not isinstance(item.get("id"), str):
        return None
    times = [t for t in (_epoch(item.get(k)) for k in EVENT_TIMES) if t is not None]
    reporter = item.get("reporter")
    if not isinstance(reporter, str) or reporter.startswith("device:"):
        reporter = None  # alarm-opened: nobody to confirm, the worker closes it
    return Job(
        incident=item["id"],
        category=item.get("category"),
        priority=str(item.get("priority") or "normal"),
        reported_at=reported_at,
        worker=str(item.get("assignee") or "w-duty"),
        status=str(status),
        since=max([now, *times]),
        reporter=reporter,
    )


def fetch_open(api: WorkersApi, community: str, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Every open incident of ``community`` (all pages), or :class:`DeskError`."""
    items: list[dict[str, Any]] = []
    base = f"{api.url.rstrip('/')}/v1/communities/{urllib.parse.quote(community)}/incidents"
    while True:
        query = urllib.parse.urlencode({"status": "open", "limit": PAGE, "offset": len(items)})
        request = urllib.request.Request(
            f"{base}?{query}",
            headers={"Accept": "application/json", "Authorization": f"Bearer {api.key}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise DeskError(f"GET {base}: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise DeskError(f"GET {base}: {exc}") from None
        page = body.get("data") if isinstance(body, dict) else None
        if not isinstance(page, list):
            raise DeskError(f"GET {base}: no 'data' list in the answer")
        items.extend(i for i in page if isinstance(i, dict))
        if not page or len(items) >= int(body.get("count", 0)):
            return items


class WorkerDesk:
    """Reads open incidents now and then and gives each unplanned one its plan."""

    def __init__(
        self,
        api: WorkersApi,
        w: wire.Wire,
        workers: GridWorkers,
        clock: SimClock,
        inject: Callable[[Iterable[Publish]], None],
        *,
        real_clock: Callable[[], float] = time.time,
        fetch: Callable[[WorkersApi, str], list[dict[str, Any]]] = fetch_open,
    ) -> None:
        self.api, self.wire, self.workers, self.clock = api, w, workers, clock
        self.inject, self.real_clock, self.fetch = inject, real_clock, fetch
        self.learnt = 0  # incidents planned from the API
        self.polls = 0
        self.errors = 0
        self._last_complaint = -float("inf")

    def take(self, items: Iterable[dict[str, Any]], now: float) -> list[Publish]:
        """The events of the plans of the incidents in ``items`` not yet planned."""
        out: list[Publish] = []
        for item in items:
            job = job_from_item(item, now)
            if job is None or self.workers.knows(job.incident):
                continue
            self.learnt += 1
            topic = self.wire.incident(job.incident)
            # The planning time in the ids: a later run that plans the same incident
            # again (say, after a reopening) must not reuse an id with other content.
            tag = int((job.since or now) * 1000)
            for n, step in enumerate(self.workers.plan(job), start=1):
                eid = f"{job.incident}:w{tag}-{n}-{step.type}"
                payload = wire.incident_event(eid, step.type, step.at, **step.fields)
                out.append(Publish(step.at, "app", topic, payload, False, "incident", 0))
        return out

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                items = await asyncio.to_thread(self.fetch, self.api, self.wire.community)
            except DeskError as exc:
                self.errors += 1
                self._complain(str(exc))
            else:
                self.polls += 1
                now = self.clock.sim_at(self.real_clock())
                self.inject(self.take(items, now))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.api.poll_s)

    def _complain(self, text: str) -> None:
        """The API being away is transient (it may still be starting): say so once a minute."""
        now = time.monotonic()
        if now - self._last_complaint >= 60.0:
            self._last_complaint = now
            print(f"simulate run: workers' desk: {text} (retrying)", file=sys.stderr, flush=True)

    def as_dict(self) -> dict[str, int]:
        return {"learnt": self.learnt, "polls": self.polls, "poll_errors": self.errors}
