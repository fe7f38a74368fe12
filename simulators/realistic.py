"""`commtwin simulate run`: a community's realistic feed, live or accelerated.

Entry points: :func:`run_realistic` (blocking; what the CLI and the demo call)
and :func:`run_realistic_async` (inside an event loop).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulators import wire
from simulators.broker import BrokerConfig
from simulators.clock import plan_clock
from simulators.community_gen import CommunitySpec, generate_community
from simulators.feed_runner import FeedRunner, install_stop_signals
from simulators.grid_workers import GridWorkers
from simulators.model_view import SimCommunity, load_view, view_of
from simulators.progress import Progress
from simulators.scenario import FeedOptions, feed
from simulators.worker_desk import WorkerDesk, WorkersApi


@dataclass(frozen=True, slots=True)
class RealisticRun:
    model: Path | None = None  # None: the default generated community for `seed`
    topic_root: str = "commtwin/v1"
    speed: float = 1.0
    duration: float | None = None  # real seconds; None: until stopped
    start: float | None = None  # simulated start (epoch s); default: see simulators.clock
    options: FeedOptions = field(default_factory=FeedOptions)
    max_inflight: int = 500
    progress: bool = True
    # The workers' app reads open incidents here (alarm-opened ones included);
    # None: workers only work the residents' reports of this run.
    workers_api: WorkersApi | None = None


def community_of(run: RealisticRun) -> SimCommunity:
    if run.model is not None:
        return load_view(run.model)
    return view_of(generate_community(CommunitySpec(seed=run.options.seed)))


async def run_realistic_async(
    run: RealisticRun, broker: BrokerConfig, *, stop: asyncio.Event | None = None
) -> dict[str, Any]:
    community = community_of(run)
    clock = plan_clock(time.time(), run.speed, run.duration, run.start)
    w = wire.Wire(run.topic_root, community.id)
    workers = GridWorkers(run.options.seed)
    actions = feed(community, w, clock.sim_start, clock.sim_end, run.options, workers=workers)
    progress = Progress("simulate run", enabled=run.progress)
    runner = FeedRunner(
        broker,
        w,
        gateways=[g.id for g in community.gateways()],
        progress=progress,
        max_inflight=run.max_inflight,
    )
    progress.extra = lambda: f"sim {wire.rfc3339(runner.tally.last_sim or clock.sim_start)[:19]}"
    if stop is not None:
        runner.stop = stop
    install_stop_signals(runner.stop)
    desk = None
    if run.workers_api is not None:
        desk = WorkerDesk(run.workers_api, w, workers, clock, runner.inject)
    desk_stop = asyncio.Event()
    desk_task = asyncio.create_task(desk.run(desk_stop)) if desk is not None else None
    try:
        tally = await runner.run(actions, clock)
    finally:
        desk_stop.set()
        if desk_task is not None:
            await desk_task
    progress.done()
    elapsed = progress.elapsed()
    return {
        "mode": "run",
        "community": community.id,
        "seed": run.options.seed,
        "speed": run.speed,
        "sim_start": wire.rfc3339(clock.sim_start),
        "sim_end": wire.rfc3339(clock.sim_end) if clock.sim_end is not None else None,
        "elapsed_s": round(elapsed, 3),
        "rate": round(tally.sent / elapsed, 1) if elapsed > 0 else 0.0,
        **tally.as_dict(),
        "workers": desk.as_dict() if desk is not None else None,
    }


def run_realistic(run: RealisticRun, broker: BrokerConfig) -> dict[str, Any]:
    return asyncio.run(run_realistic_async(run, broker))
