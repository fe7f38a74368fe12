"""Per-key rate limiting: a token bucket, pure, with the clock passed in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Bucket:
    tokens: float
    at: float  # clock reading when ``tokens`` was computed


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    bucket: Bucket
    retry_after: float  # seconds until one token is available (0 when allowed)


def take(bucket: Bucket | None, now: float, rate: float, burst: float) -> Decision:
    """Spend one token if there is one; refill at ``rate`` per second up to ``burst``.

    >>> d = take(None, 0.0, rate=1.0, burst=2.0)
    >>> d.allowed, d.bucket.tokens
    (True, 1.0)
    >>> d = take(d.bucket, 0.0, 1.0, 2.0); d.allowed
    True
    >>> d = take(d.bucket, 0.25, 1.0, 2.0); d.allowed, d.retry_after
    (False, 0.75)
    >>> take(d.bucket, 1.0, 1.0, 2.0).allowed
    True
    """
    if bucket is None:
        tokens = burst
    else:
        # A clock going backwards (it should not) must not mint tokens.
        elapsed = max(0.0, now - bucket.at)
        tokens = min(burst, bucket.tokens + elapsed * rate)
    if tokens >= 1.0:
        return Decision(True, Bucket(tokens - 1.0, now), 0.0)
    return Decision(False, Bucket(tokens, now), (1.0 - tokens) / rate)


class RateLimiter:
    """Buckets of every key seen by this process (keys are few)."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[int, Bucket] = {}

    def check(self, key_id: int, now: float) -> float | None:
        """``None`` when the request may go on, else seconds to wait.

        >>> limiter = RateLimiter(rate=10.0, burst=1.0)
        >>> limiter.check(7, 100.0) is None, limiter.check(7, 100.0)
        (True, 0.1)
        >>> limiter.check(8, 100.0) is None
        True
        """
        decision = take(self._buckets.get(key_id), now, self.rate, self.burst)
        self._buckets[key_id] = decision.bucket
        return None if decision.allowed else decision.retry_after
