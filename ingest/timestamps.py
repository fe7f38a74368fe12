"""Message timestamps: RFC 3339 text or epoch milliseconds, checked against the receive time.

All results are microseconds since the Unix epoch. The clock is an argument.

>>> now = 1_800_000_000_000_000
>>> ts_of({}, now) == now, ts_of({"ts": None}, now).reason
(True, 'bad_ts')
>>> parse_ts(1_700_000_000_123, now)
1700000000123000
>>> parse_ts("2023-11-14T22:13:20.5+08:00", now)
1699971200500000
>>> parse_ts("1999-12-31T23:59:59Z", now).reason
'ts_too_old'
>>> parse_ts(now // 1000 + 301_000, now).reason
'ts_future'
>>> parse_ts("yesterday", now).reason
'bad_ts'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Final

from ingest.messages import Reason, Rejected, datetime_to_us

MIN_TS_US: Final = 946_684_800_000_000  # 2000-01-01T00:00:00Z
MAX_AHEAD_US: Final = 300_000_000  # 5 minutes of clock skew allowed
_RFC3339: Final = re.compile(
    r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:[Zz]|[+-]\d\d:\d\d)"
)


def ts_of(doc: Mapping[str, object], received_us: int) -> int | Rejected:
    """A payload's ``ts``, or the receive time when it has none.

    ``"ts": null`` is not "none": the schemas refuse it, and so does this.
    """
    return parse_ts(doc["ts"], received_us) if "ts" in doc else received_us


def parse_ts(value: object, received_us: int) -> int | Rejected:
    """Turn a payload's ``ts`` value into epoch microseconds."""
    kind = type(value)
    if kind is int:
        ts = value * 1000  # type: ignore[operator]
    elif kind is float:
        ts = round(value * 1000)  # type: ignore[operator]
    elif kind is str:
        text: str = value  # type: ignore[assignment]
        if _RFC3339.fullmatch(text) is None:
            return Rejected(Reason.BAD_TS, f"ts {text[:40]!r} is not RFC 3339 with an offset")
        try:
            ts = datetime_to_us(datetime.fromisoformat(text.upper()))
        except ValueError as exc:  # e.g. month 13
            return Rejected(Reason.BAD_TS, f"ts {text[:40]!r}: {exc}")
    else:
        return Rejected(Reason.BAD_TS, "ts must be RFC 3339 text or epoch milliseconds")
    if ts < MIN_TS_US:
        return Rejected(Reason.TS_TOO_OLD, "ts is before 2000-01-01")
    if ts > received_us + MAX_AHEAD_US:
        return Rejected(Reason.TS_FUTURE, "ts is more than 5 minutes after the receive time")
    return int(ts)
