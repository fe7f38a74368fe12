"""The API's own configuration: plain values handed over by the entry point.

``commtwin api`` reads settings once and builds an :class:`ApiConfig`; nothing
in ``api/`` reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from api.object_store import S3Config
from api.push_config import PushConfig
from twin.scenes.energy import DEFAULT_EMISSION_FACTOR


@dataclass(frozen=True, slots=True)
class ApiConfig:
    """Everything :func:`api.app.create_app` needs to know.

    >>> ApiConfig("postgresql://db/x").max_points
    10000
    >>> parse_origins(" https://a.example, ,http://b:8080 ")
    ('https://a.example', 'http://b:8080')
    """

    database_url: str
    cors_origins: tuple[str, ...] = ()
    pool_min_size: int = 1
    pool_max_size: int = 10
    # How long a request waits for a pooled connection before a 503.
    pool_timeout_s: float = 5.0
    # Per API key: sustained requests per second and the burst allowed above it.
    # Generous by default: one screen polls about once a second, and a key is
    # often shared by the screens of a community centre.
    rate_per_s: float = 50.0
    rate_burst: float = 200.0
    # Key lookups are cached so that polling screens do not cost a query each;
    # a key revoked elsewhere stops working within this many seconds.
    key_cache_s: float = 5.0
    max_body_bytes: int = 64 * 1024
    max_points: int = 10000
    # Latest device values look back at most this far (bounds the query).
    latest_lookback_days: int = 7
    # The pages' code (cockpit/, district/) and their npm packages
    # (node_modules/); None: the repository's web/ next to the api package
    # (api.cockpit.DEFAULT_WEB_DIR).
    web_dir: Path | None = None
    # --- live state, stream and incident commands (phase 2) ---
    # Incident reports and transitions are published here, exactly as apps do
    # over MQTT, and applied by the ingestor; None: those POSTs answer 503.
    mqtt_url: str | None = None
    topic_root: str = "commtwin/v1"
    mqtt_protocol: str = "5"  # or "3.1.1"
    mqtt_ca_file: str | None = None
    mqtt_cert_file: str | None = None
    mqtt_key_file: str | None = None
    # How long a POST waits for the ingestor's commit before answering 202.
    commit_timeout_s: float = 5.0
    # "Today" of the closed-loop rate in /live starts at midnight in this zone.
    timezone: str = "UTC"
    # Grid emission factor of the low-carbon scene (kg CO2e per kWh from the
    # grid); default: China's national average (twin.scenes.energy, docs/twin.md).
    emission_factor: float = DEFAULT_EMISSION_FACTOR
    # /stream: keep-alive comment interval; most changes replayed on resume.
    sse_ping_s: float = 15.0
    sse_replay_max: int = 1000
    # Events queued per /stream client before it is told to refetch /live.
    sse_queue: int = 1000
    # Freeze the live states out of the garbage collector's full passes
    # (api/live/heap.py): process-wide, so `commtwin api` turns it on, not tests.
    freeze_live_heap: bool = False
    # --- photos of reports (docs/people.md "Photos") ---
    # Files under this directory; None: <the user's data directory>/commtwin/photos.
    photo_dir: Path | None = None
    # An S3-compatible bucket instead of the directory.
    photo_s3: S3Config | None = None
    # The upload route's body limit (every other route keeps max_body_bytes): a
    # photo at its limit (twin.people.photos.MAX_BYTES, 10 MiB) plus the
    # multipart envelope and form fields. Not imported: Pillow takes 0.2 s to
    # load, which the CLI's other commands should not pay.
    max_upload_bytes: int = 10 * 1024 * 1024 + 64 * 1024
    # Uploads checked at once per process (decoding a 50 MP photo takes ~150 MB).
    photo_checks: int = 2
    # --- Web Push to the phone page (docs/people.md "Web Push") ---
    # The VAPID key pair and contact; None: Web Push is off (/v1/me/push answers 404).
    push: PushConfig | None = None


def parse_origins(value: str) -> tuple[str, ...]:
    """Split the comma-separated ``cors_origins`` setting."""
    return tuple(part.strip() for part in value.split(",") if part.strip())
