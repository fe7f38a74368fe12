"""Keeps the ingestor's long-lived maps out of the garbage collector's full passes.

At district size the ingestor holds per-device state for 400,000 devices: the
registry's keys, the last-seen throttle, the alarm engine's windows, the care
meters. CPython's full collection walks every tracked object with the GIL
held, so each pass stops the network thread and the committer alike; the
more devices, the longer the pause and the more often it comes (a pass is
due whenever the survivors grew by a quarter). That is a cost per message
that grows with the district (issue 25), the opposite of what the write path
promises.

These maps hold no reference cycles (they are dicts of strings, numbers and
tuples), so they need no collector: :class:`Freezer` moves what survived to
the permanent generation (:func:`gc.freeze`) every ``every_s``, after a full
pass over what is not frozen yet. Frozen objects are still freed by
reference counting when dropped. :class:`GcPauses` times every collection so
the pauses are visible (``commtwin_ingest_gc_pause_seconds``).
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from typing import Any, Final

FREEZE_EVERY_S: Final = 10.0


class GcPauses:
    """Seconds spent in collections, per generation, from ``gc.callbacks``.

    >>> clock = iter([1.0, 1.25]).__next__
    >>> p = GcPauses(clock=clock)
    >>> p.on_gc("start", {"generation": 2}); p.on_gc("stop", {"generation": 2})
    >>> p.seconds[2], p.longest
    (0.25, 0.25)
    """

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._started = 0.0
        self.seconds = [0.0, 0.0, 0.0]
        self.passes = [0, 0, 0]
        self.longest = 0.0

    def on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = self._clock()
            return
        took = self._clock() - self._started
        generation = int(info["generation"])
        self.seconds[generation] += took
        self.passes[generation] += 1
        self.longest = max(self.longest, took)

    def install(self) -> None:
        gc.callbacks.append(self.on_gc)

    def remove(self) -> None:
        if self.on_gc in gc.callbacks:
            gc.callbacks.remove(self.on_gc)


class Freezer:
    """Every ``every_s``: a full pass over what is not frozen yet, then freeze the rest."""

    def __init__(self, every_s: float = FREEZE_EVERY_S) -> None:
        self.every_s = every_s
        self.runs = 0

    def freeze_survivors(self) -> None:
        gc.collect()
        gc.freeze()
        self.runs += 1

    def run(self, stop: threading.Event) -> None:
        """Until ``stop`` is set (a thread of its own)."""
        while not stop.wait(self.every_s):
            self.freeze_survivors()
