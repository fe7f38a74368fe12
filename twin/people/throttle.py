"""Login throttling: after a few failures each further attempt waits twice as long.

Kept per key (an account, an address), bounded in memory (the least recently
failed keys are forgotten first), the clock passed in.

>>> t = LoginThrottle(free_failures=2, base_delay_s=1.0, max_delay_s=8.0)
>>> for now in (0.0, 0.1, 0.2):
...     t.failed("account:lanting/wang", now)
>>> t.wait_s("account:lanting/wang", 0.2), t.wait_s("account:lanting/wang", 1.2)
(1.0, 0.0)
>>> t.failed("account:lanting/wang", 1.5); t.wait_s("account:lanting/wang", 1.5)
2.0
>>> t.succeeded("account:lanting/wang"); t.wait_s("account:lanting/wang", 1.3)
0.0
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass(slots=True)
class _Failures:
    count: int
    last: float


class LoginThrottle:
    def __init__(
        self,
        *,
        free_failures: int = 5,
        base_delay_s: float = 1.0,
        max_delay_s: float = 900.0,
        capacity: int = 100_000,
    ) -> None:
        self._free = free_failures
        self._base = base_delay_s
        self._max = max_delay_s
        self._capacity = capacity
        self._keys: OrderedDict[str, _Failures] = OrderedDict()

    def delay_s(self, failures: int) -> float:
        """How long after its last failure a key with ``failures`` waits."""
        over = failures - self._free
        return 0.0 if over <= 0 else min(self._max, self._base * 2 ** (over - 1))

    def wait_s(self, key: str, now: float) -> float:
        """Seconds until ``key`` may try again (0: now)."""
        entry = self._keys.get(key)
        if entry is None:
            return 0.0
        return max(0.0, entry.last + self.delay_s(entry.count) - now)

    def failed(self, key: str, now: float) -> None:
        entry = self._keys.pop(key, None)
        self._keys[key] = _Failures((entry.count if entry else 0) + 1, now)
        while len(self._keys) > self._capacity:
            self._keys.popitem(last=False)

    def succeeded(self, key: str) -> None:
        self._keys.pop(key, None)

    def __len__(self) -> int:
        return len(self._keys)
