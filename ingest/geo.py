"""WGS 84 → community-local metres, vectorised with pyproj.

``local = world - offset`` where ``world`` is in the community's CRS (see
docs/DESIGN.md). Transformers are costly to build, so one is kept per CRS.

>>> from ingest.registry import CommunityFrame
>>> crs = "+proj=tmerc +lat_0=30 +lon_0=120 +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
>>> frame = CommunityFrame("c", crs, (0.0, 0.0, 10.0))
>>> x, y, z = to_local(frame, [120.0], [30.0], [12.5])
>>> round(float(x[0]), 6), round(float(y[0]), 6), float(z[0])
(0.0, 0.0, 2.5)
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from pyproj import Transformer

from ingest.registry import CommunityFrame


@lru_cache(maxsize=64)
def _transformer(crs: str) -> Transformer:
    return Transformer.from_crs("EPSG:4326", crs, always_xy=True)


def to_local(
    frame: CommunityFrame,
    lon: Sequence[float],
    lat: Sequence[float],
    alt: Sequence[float | None],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arrays of local x, y, z; a missing altitude means ground level (z = 0)."""
    ex, ey = _transformer(frame.crs).transform(np.asarray(lon, float), np.asarray(lat, float))
    ox, oy, oz = frame.offset
    z = np.array([0.0 if a is None else a - oz for a in alt], dtype=float)
    return np.asarray(ex, float) - ox, np.asarray(ey, float) - oy, z
