"""Reading a big model without the cyclic garbage collector in the way.

Decoded JSON is trees of lists and dicts, freed by reference counting; but
every ~700 new containers the collector walks the young ones, and the older
generations over and over as the buildings accumulate: about half of a
10,000-building read. :func:`cycle_collector_paused` holds it off for the
duration (a ``with`` block or a decorator) and switches it back on if it was on.

>>> import gc
>>> with cycle_collector_paused():
...     gc.isenabled()
False
>>> gc.isenabled()
True
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector while a big model is read."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
