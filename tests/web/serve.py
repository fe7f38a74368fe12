"""Run the real API for browser tests: ``python -m tests.web.serve DATABASE_URL PORT``
(then ``MQTT_URL TOPIC_ROOT PHOTO_DIR`` to publish incident commands for an
ingestor and keep people's photos in a directory of the test's).

A separate process so that a test can stop it (the page must show "stale")
and start it again on the same port (the page must recover by itself).
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn

from api.app import create_app
from api.config import ApiConfig
from tests.services import ROOT


def main(argv: list[str]) -> None:
    database_url, port = argv[0], int(argv[1])
    # A screen and a test poll often: no rate limit surprises in between.
    # With a broker: incident reports and actions are published there for an ingestor.
    people = len(argv) >= 5
    config = ApiConfig(
        database_url,
        web_dir=ROOT / "web",
        rate_per_s=1000,
        rate_burst=1000,
        mqtt_url=argv[2] if people else None,
        topic_root=argv[3] if people else "commtwin/v1",
        photo_dir=Path(argv[4]) if people else None,
    )
    uvicorn.run(create_app(config), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main(sys.argv[1:])
