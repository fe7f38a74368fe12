"""Earth-centred (ECEF, EPSG:4978) coordinates → a community's local frame.

3D Tiles are placed in ECEF; the cockpit draws in the community's local
metres (x east, y north, z up; ``world = local + offset`` in its CRS). The
exact map goes through the community's CRS, which a browser cannot evaluate;
over a community (a few kilometres) it is affine to millimetres, so this
module fits that affine map from points around the community's centre and
reports the worst residual (mostly the Earth's curvature that an affine
map cannot follow: 8 cm at 1 km from the centre). Heights: the local z plus the offset's z is taken
as the height above the WGS 84 ellipsoid, plus ``height_offset`` (e.g. the
geoid undulation when the model's heights are above sea level: about 43 m
in the Netherlands; see docs/cockpit.md).

>>> f = Frame("+proj=tmerc +lat_0=30.27 +lon_0=120.15 +k=1 +x_0=0 +y_0=0 +ellps=WGS84")
>>> g = ecef_to_local(f, (0.0, 0.0))
>>> round(g.origin[0], 4), round(g.origin[1], 4), g.residual_m < 0.1
(120.15, 30.27, True)
>>> x, y, z = g.apply(geodetic_to_ecef(120.15, 30.27, 10.0))
>>> abs(round(x, 2)), abs(round(y, 2)), round(z, 1)
(0.0, 0.0, 10.1)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from twin.model.crs import Frame

_A = 6378137.0  # WGS 84 semi-major axis, metres
_F = 1 / 298.257223563
_E2 = _F * (2 - _F)
SPAN_M = 1000.0  # the fit holds this far around the centre
_STEPS = 5


def geodetic_to_ecef(lon: float, lat: float, h: float) -> tuple[float, float, float]:
    """WGS 84 longitude, latitude (degrees) and ellipsoidal height → ECEF metres.

    >>> [round(c) for c in geodetic_to_ecef(0.0, 0.0, 0.0)]
    [6378137, 0, 0]
    """
    lo, la = math.radians(lon), math.radians(lat)
    n = _A / math.sqrt(1 - _E2 * math.sin(la) ** 2)
    return (
        (n + h) * math.cos(la) * math.cos(lo),
        (n + h) * math.cos(la) * math.sin(lo),
        (n * (1 - _E2) + h) * math.sin(la),
    )


@dataclass(frozen=True, slots=True)
class Georeference:
    """``local = M · (ecef, 1)``; ``matrix`` is M's 4×4 rows."""

    matrix: tuple[tuple[float, float, float, float], ...]
    origin: tuple[float, float, float]  # lon, lat, ellipsoidal height of the centre
    residual_m: float

    def apply(self, ecef: tuple[float, float, float]) -> tuple[float, float, float]:
        v = np.array([*ecef, 1.0])
        x, y, z, _ = np.array(self.matrix) @ v
        return float(x), float(y), float(z)


def ecef_to_local(
    frame: Frame, centre: tuple[float, float], *, height_offset: float = 0.0
) -> Georeference:
    """The affine ECEF → local map fitted around ``centre`` (local x, y)."""
    cx, cy = centre
    ticks = np.linspace(-SPAN_M, SPAN_M, _STEPS)
    xs, ys, zs = (a.ravel() for a in np.meshgrid(cx + ticks, cy + ticks, [0.0, 200.0]))
    lon, lat, alt = frame.to_wgs84(xs, ys, zs)
    ecef = np.array(
        [
            geodetic_to_ecef(float(a), float(b), float(h) + height_offset)
            for a, b, h in zip(lon, lat, alt, strict=True)
        ]
    )
    local = np.column_stack([xs, ys, zs])
    c = ecef.mean(axis=0)  # centred for a well-conditioned fit
    design = np.column_stack([ecef - c, np.ones(len(ecef))])
    coef, *_ = np.linalg.lstsq(design, local, rcond=None)
    linear, shift = coef[:3].T, coef[3] - coef[:3].T @ c
    residual = float(np.abs(design @ coef - local).max())
    rows = tuple(
        (float(linear[i, 0]), float(linear[i, 1]), float(linear[i, 2]), float(shift[i]))
        for i in range(3)
    )
    o_lon, o_lat, o_alt = frame.to_wgs84([cx], [cy], [0.0])
    return Georeference(
        matrix=(*rows, (0.0, 0.0, 0.0, 1.0)),
        origin=(float(o_lon[0]), float(o_lat[0]), float(o_alt[0]) + height_offset),
        residual_m=residual,
    )
