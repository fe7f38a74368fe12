"""Where the read-only shared test data lives: ``shared/data`` beside the checkout.

CI clones the repository next to a copy of ``shared/``; sessions have it at
``/work/shared``. The sibling copy wins so a clone tests against its own.
"""

from __future__ import annotations

from pathlib import Path

_SIBLING = Path(__file__).resolve().parents[2] / "shared" / "data"
SHARED_DATA = _SIBLING if _SIBLING.exists() else Path("/work/shared/data")
DELFT = SHARED_DATA / "3dbag-delft.city.json"
HEFEI = SHARED_DATA / "osm-hfut-hefei.geojson"
