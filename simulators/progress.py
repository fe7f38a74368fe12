"""Progress of long runs on stderr (throttled) and the summary line at the end.

On a terminal one line is rewritten in place every second; otherwise (logs,
CI) a full line is written every ``log_every`` seconds. The clock is
injected so the throttle can be tested.

>>> lines = []
>>> now = iter([0.0, 0.5, 1.2, 1.3]).__next__
>>> p = Progress("load", write=lines.append, clock=now, tty=False, log_every=1.0)
>>> p.update(sent=10); p.update(sent=30); p.update(sent=50, errors=1)
>>> lines
['load: sent 30 (25.0/s) errors 0 elapsed 1.2s\\n']
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Progress:
    label: str
    write: Callable[[str], object] = field(default=sys.stderr.write)
    clock: Callable[[], float] = field(default=time.monotonic)
    tty: bool = field(default_factory=sys.stderr.isatty)
    log_every: float = 10.0
    enabled: bool = True
    extra: Callable[[], str] | None = None

    def __post_init__(self) -> None:
        self.started = self.clock()
        self._last = self.started
        self._shown = False

    def update(self, *, sent: int, errors: int = 0) -> None:
        if not self.enabled:
            return
        now = self.clock()
        every = 1.0 if self.tty else self.log_every
        if now - self._last < every:
            return
        self._last = now
        elapsed = max(now - self.started, 1e-9)
        text = f"{self.label}: sent {sent} ({sent / elapsed:.1f}/s) errors {errors}"
        text += f" elapsed {elapsed:.1f}s"
        if self.extra is not None:
            text += " " + self.extra()
        if self.tty:
            self.write("\r" + text + "\x1b[K")
            self._shown = True
        else:
            self.write(text + "\n")

    def done(self) -> None:
        """End the in-place line so the summary starts on its own line."""
        if self._shown:
            self.write("\n")
            self._shown = False

    def elapsed(self) -> float:
        return self.clock() - self.started
