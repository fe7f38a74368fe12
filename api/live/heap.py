"""Keeps the live states out of the garbage collector's full passes.

A worker holding a district's 200 live states tracks ~1.5 million objects
(devices, tallies, rendered entries). Python's full collection walks all of
them with the event loop stopped: 0.8-1.0 s in one process at load 12, and
1.9-7.6 s of wall time in a worker under the district's change feed at load
6-14 (bench/RESULTS.md, issue 25). Every request waiting then carries it: the
/live and overview p99 under the feed.

The states hold no reference cycles (dropping one frees it by reference
counting, tests/api/test_live_heap.py), so they need no collector: once
built they are moved to the permanent generation (:func:`gc.freeze`), which
full passes skip, and what was allocated since is moved there again every
``every_s`` after a full pass over it alone. 10 s: right after a build the
first renders and polls allocate a few hundred thousand objects, whose full
passes still took 0.05-0.5 s (load 11) until the first of these ran, so
the applier now renders a state as it builds it (api/live/applier.py);
after that, 5-84 ms every 10 s under the district's change feed. Frozen
objects are still freed when no longer referenced; only a frozen object
that later becomes part of a garbage cycle is never collected, which the
states never are.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Final

FREEZE_EVERY_S: Final = 10.0


def freeze_built() -> None:
    """After building states: the young objects' garbage out, the rest frozen.

    Only the young generations are collected (cheap); a full pass over a
    district's fresh states would itself stop the loop for the time this avoids.
    """
    gc.collect(1)
    gc.freeze()


def freeze_survivors() -> None:
    """Collect what is not frozen yet (what survived since the last call), freeze the rest."""
    gc.collect()
    gc.freeze()


async def keep_frozen(every_s: float = FREEZE_EVERY_S) -> None:
    """Run until cancelled: :func:`freeze_survivors` every ``every_s`` seconds."""
    while True:
        await asyncio.sleep(every_s)
        freeze_survivors()
