"""Coordinate frames: WGS 84 and source CRSs ⇄ a community's local metres.

A community's frame is a projected CRS (any string pyproj accepts) and an
offset: ``world = local + offset``. Local coordinates stay small (metres from a
point near the community), which keeps float32 rendering and shapely
predicates precise.

Heights are not converted between vertical datums: an altitude is taken as a
height in the community CRS's vertical frame (``local z = alt - offset z``).
Geoid grids are not available offline and a community's indoor positions come
from local systems, not GNSS ellipsoidal heights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError

from twin.errors import ModelError

FloatArray = npt.NDArray[np.float64]
WGS84 = "EPSG:4326"


@dataclass(frozen=True, slots=True)
class Frame:
    """A community's local frame: ``world = local + offset`` in ``crs``."""

    crs: str
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def to_local(
        self, lon: npt.ArrayLike, lat: npt.ArrayLike, alt: npt.ArrayLike | None = None
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Longitude/latitude (WGS 84 degrees) and altitude → local x, y, z.

        A missing altitude gives ``z = nan`` (unknown height).
        """
        lon_a = np.asarray(lon, dtype=np.float64)
        lat_a = np.asarray(lat, dtype=np.float64)
        x, y = _transformer(WGS84, self.crs).transform(lon_a, lat_a)
        x = np.asarray(x, dtype=np.float64) - self.offset[0]
        y = np.asarray(y, dtype=np.float64) - self.offset[1]
        if alt is None:
            z = np.full(x.shape, np.nan)
        else:
            z = np.asarray(alt, dtype=np.float64) - self.offset[2]
        return x, y, z

    def to_wgs84(
        self, x: npt.ArrayLike, y: npt.ArrayLike, z: npt.ArrayLike | None = None
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Local x, y, z → longitude, latitude (WGS 84 degrees) and altitude."""
        wx = np.asarray(x, dtype=np.float64) + self.offset[0]
        wy = np.asarray(y, dtype=np.float64) + self.offset[1]
        lon, lat = _transformer(self.crs, WGS84).transform(wx, wy)
        if z is None:
            alt = np.full(wx.shape, np.nan)
        else:
            alt = np.asarray(z, dtype=np.float64) + self.offset[2]
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64), alt


def parse_crs(text: Any, owner: str) -> CRS:
    """A CRS from any form pyproj accepts (``EPSG:7415``, OGC URLs and URNs, PROJ strings).

    >>> parse_crs("https://www.opengis.net/def/crs/EPSG/0/7415", "file").to_epsg()
    7415
    >>> parse_crs("urn:ogc:def:crs:EPSG::7415", "file").to_epsg()
    7415
    >>> parse_crs("EPSG:999999", "community x")
    Traceback (most recent call last):
    twin.errors.ModelError: community x: unknown CRS 'EPSG:999999'
    """
    if not isinstance(text, str) or not text.strip():
        raise ModelError(owner, f"CRS must be a non-empty string, got {text!r}")
    try:
        return _crs(text.strip())
    except (CRSError, ProjError):
        raise ModelError(owner, f"unknown CRS {text!r}") from None


def canonical_crs(text: str, owner: str) -> str:
    """A stable spelling of a CRS: ``EPSG:nnnn`` when it has an EPSG code, else as given.

    >>> canonical_crs("https://www.opengis.net/def/crs/EPSG/0/7415", "f")
    'EPSG:7415'
    """
    crs = parse_crs(text, owner)
    code = crs.to_epsg(min_confidence=100)
    return f"EPSG:{code}" if code is not None else text.strip()


def require_metric(text: str, owner: str) -> None:
    """A community frame must be projected with metre axes (local x, y are metres).

    >>> require_metric("EPSG:4326", "community c")
    Traceback (most recent call last):
    twin.errors.ModelError: community c: CRS 'EPSG:4326' is not projected in metres; ...
    """
    horizontal = _horizontal(parse_crs(text, owner))
    units = {axis.unit_name for axis in horizontal.axis_info[:2]}
    if not horizontal.is_projected or units != {"metre"}:
        raise ModelError(
            owner,
            f"CRS {text!r} is not projected in metres; use a projected CRS such as "
            "EPSG:7415 or a +proj=tmerc string centred on the community",
        )


def local_tmerc(lon: float, lat: float) -> str:
    """A transverse Mercator frame centred near ``(lon, lat)`` (rounded to 1e-4°, ~10 m).

    Scale error is about 1e-5 at 30 km from the centre, plenty for a community.

    >>> local_tmerc(117.19817, 31.77321)
    '+proj=tmerc +lat_0=31.7732 +lon_0=117.1982 +k=1 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs'
    """
    if not (math.isfinite(lon) and math.isfinite(lat) and abs(lat) < 85):
        raise ModelError("frame", f"no local frame can be centred at lon {lon}, lat {lat}")
    return (
        f"+proj=tmerc +lat_0={round(lat, 4):.4f} +lon_0={round(lon, 4):.4f} "
        "+k=1 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
    )


def to_frame(
    x: FloatArray, y: FloatArray, source_crs: str | None, frame: Frame, owner: str
) -> tuple[FloatArray, FloatArray]:
    """Horizontal coordinates in ``source_crs`` → the frame's local x, y.

    ``source_crs=None`` means the coordinates are already world coordinates in
    the frame's CRS (only the offset is removed).
    """
    if source_crs is not None and not same_crs(source_crs, frame.crs):
        try:
            x, y = _transformer(source_crs, frame.crs).transform(x, y)
        except (CRSError, ProjError) as exc:
            raise ModelError(owner, f"cannot reproject from {source_crs!r}: {exc}") from None
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise ModelError(owner, f"coordinates fall outside what {source_crs!r} can convert")
    return x - frame.offset[0], y - frame.offset[1]


def same_crs(a: str, b: str) -> bool:
    """Whether two CRS strings name the same horizontal CRS (no reprojection needed)."""
    if a == b:
        return True
    return bool(_horizontal(_crs(a)) == _horizontal(_crs(b)))


@lru_cache(maxsize=64)
def _crs(text: str) -> CRS:
    """A CRS; a PROJ string on the WGS 84 ellipsoid without a datum is WGS 84.

    PROJ otherwise treats ``+ellps=WGS84`` as an unknown datum and converts
    from other datums (Amersfoort, CGCS2000) without a datum shift, ~100 m off.
    """
    datum = ("+datum=", "+towgs84=", "+nadgrids=")
    if text.startswith("+") and "+ellps=WGS84" in text and not any(k in text for k in datum):
        text += " +towgs84=0,0,0,0,0,0,0"
    return CRS.from_user_input(text)


def _horizontal(crs: CRS) -> CRS:
    # A compound CRS (RD New + NAP height) reprojects horizontally through its
    # first component; heights pass through unchanged (see module docstring).
    if crs.is_compound and crs.sub_crs_list:
        first: CRS = crs.sub_crs_list[0]
        return first
    return crs


@lru_cache(maxsize=64)
def _transformer(source: str, target: str) -> Transformer:
    try:
        return Transformer.from_crs(
            _horizontal(_crs(source)), _horizontal(_crs(target)), always_xy=True
        )
    except (CRSError, ProjError) as exc:
        raise ModelError("frame", f"cannot convert {source!r} to {target!r}: {exc}") from None
