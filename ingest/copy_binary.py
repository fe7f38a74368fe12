"""PostgreSQL binary COPY images built with numpy, a whole batch at a time.

Fixed-width rows (timestamps, keys, doubles) become one structured array whose
bytes are exactly the COPY BINARY row format, so encoding 10,000 rows costs a
few numpy calls instead of 10,000 Python-level ``write_row`` calls.

>>> data = readings_copy([946684800000000], [7], [3], [1.5])
>>> data[:11] == COPY_HEADER[:11], len(data) == len(COPY_HEADER) + 46 + 2
(True, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np

COPY_HEADER: Final = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
COPY_TRAILER: Final = b"\xff\xff"
PG_EPOCH_US: Final = 946_684_800_000_000  # 2000-01-01 in Unix microseconds

# (ts timestamptz, device_key bigint, metric_key integer, value double precision)
READING_ROW: Final = np.dtype(
    [
        ("fields", ">i2"),
        ("ts_len", ">i4"),
        ("ts", ">i8"),
        ("device_len", ">i4"),
        ("device", ">i8"),
        ("metric_len", ">i4"),
        ("metric", ">i4"),
        ("value_len", ">i4"),
        ("value", ">f8"),
    ]
)
# (ts timestamptz, device_key bigint, x, y, z double precision)
POSITION_ROW: Final = np.dtype(
    [
        ("fields", ">i2"),
        ("ts_len", ">i4"),
        ("ts", ">i8"),
        ("device_len", ">i4"),
        ("device", ">i8"),
        ("x_len", ">i4"),
        ("x", ">f8"),
        ("y_len", ">i4"),
        ("y", ">f8"),
        ("z_len", ">i4"),
        ("z", ">f8"),
    ]
)


def readings_copy(
    ts_us: Sequence[int] | np.ndarray,
    device_keys: Sequence[int] | np.ndarray,
    metric_keys: Sequence[int] | np.ndarray,
    values: Sequence[float] | np.ndarray,
) -> bytes:
    """A complete COPY BINARY stream for readings rows (Unix µs timestamps)."""
    rows = np.empty(len(ts_us), dtype=READING_ROW)
    rows["fields"] = 4
    rows["ts_len"] = 8
    rows["ts"] = np.asarray(ts_us, dtype=np.int64) - PG_EPOCH_US
    rows["device_len"] = 8
    rows["device"] = device_keys
    rows["metric_len"] = 4
    rows["metric"] = metric_keys
    rows["value_len"] = 8
    rows["value"] = values
    return COPY_HEADER + rows.tobytes() + COPY_TRAILER


def positions_copy(
    ts_us: Sequence[int],
    device_keys: Sequence[int],
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    z: Sequence[float] | np.ndarray,
) -> bytes:
    """A complete COPY BINARY stream for (ts, device_key, x, y, z) rows."""
    rows = np.empty(len(ts_us), dtype=POSITION_ROW)
    rows["fields"] = 5
    rows["ts_len"] = 8
    rows["ts"] = np.asarray(ts_us, dtype=np.int64) - PG_EPOCH_US
    rows["device_len"] = 8
    rows["device"] = device_keys
    for name in ("x", "y", "z"):
        rows[f"{name}_len"] = 8
    rows["x"] = x
    rows["y"] = y
    rows["z"] = z
    return COPY_HEADER + rows.tobytes() + COPY_TRAILER
