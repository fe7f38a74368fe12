"""`commtwin api`: serve the cockpit API with uvicorn (``--workers`` processes on one port)."""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from api.config import ApiConfig, parse_origins
from api.object_store import S3Config
from api.push_config import PushConfig
from commtwin.api_workers import STARTUP_FAILURE, default_workers, shared_sockets, supervise
from commtwin.commands import CommandError, SubParsers
from commtwin.settings import Settings


def register(sub: SubParsers) -> None:
    parser = sub.add_parser(
        "api", help="serve the cockpit API (OpenAPI at /openapi.json, docs at /docs)"
    )
    parser.add_argument("--host", help="address to bind (default: COMMTWIN_API_HOST)")
    parser.add_argument("--port", type=int, help="port (default: COMMTWIN_API_PORT)")
    parser.add_argument(
        "--rate", type=float, default=50.0, help="requests per second allowed per API key"
    )
    parser.add_argument(
        "--burst", type=float, default=200.0, help="requests a key may send at once above --rate"
    )
    parser.add_argument(
        "--timezone",
        default="UTC",
        help="IANA time zone whose midnight starts 'today' for /live's closed-loop rate "
        "(default UTC), e.g. Asia/Shanghai",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=default_workers(),
        help="worker processes on the port, each with its own live state "
        f"(default {default_workers()}: one per core, at most 2); --rate and --burst "
        "are shared out evenly between them",
    )
    parser.set_defaults(handler=_run)


def config_from(
    settings: Settings, rate: float = 50.0, burst: float = 200.0, timezone: str = "UTC"
) -> ApiConfig:
    """The API's configuration from the process settings (read once by the CLI)."""
    return ApiConfig(
        database_url=settings.database_url,
        cors_origins=parse_origins(settings.cors_origins),
        rate_per_s=rate,
        rate_burst=burst,
        # Incident reports and transitions go to the broker the ingestor reads.
        mqtt_url=settings.mqtt_url,
        topic_root=settings.topic_root,
        mqtt_protocol=settings.mqtt_protocol,
        mqtt_ca_file=settings.mqtt_ca_file,
        mqtt_cert_file=settings.mqtt_cert_file,
        mqtt_key_file=settings.mqtt_key_file,
        timezone=timezone,
        emission_factor=settings.emission_factor,
        photo_dir=Path(settings.photo_dir) if settings.photo_dir else None,
        photo_s3=photo_s3(settings),
        push=push_config(settings),
        # The server process is all the API's: its live states skip full GC passes.
        freeze_live_heap=True,
    )


def push_config(settings: Settings) -> PushConfig | None:
    """Web Push's VAPID key from ``COMMTWIN_VAPID_PRIVATE_KEY`` (a PEM, or a PEM file's
    path), read once here; None (Web Push off) when unset."""
    if settings.vapid_private_key is None:
        return None
    value = settings.vapid_private_key.get_secret_value().strip()
    if not value.startswith("-----BEGIN"):
        try:
            value = Path(value).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(
                f"COMMTWIN_VAPID_PRIVATE_KEY: cannot read {value!r}: {exc}"
            ) from None
    # cryptography only when a key is set: the CLI's other commands do not pay for it
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.hazmat.primitives.serialization import load_pem_private_key  # noqa: PLC0415

    try:
        key = load_pem_private_key(value.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise CommandError(f"COMMTWIN_VAPID_PRIVATE_KEY: not a PEM private key ({exc})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise CommandError("COMMTWIN_VAPID_PRIVATE_KEY: must be a P-256 (prime256v1) EC key")
    return PushConfig(private_key_pem=value, subject=settings.vapid_subject)


def photo_s3(settings: Settings) -> S3Config | None:
    """The photos' S3 bucket when ``COMMTWIN_PHOTO_S3_BUCKET`` names one."""
    if settings.photo_s3_bucket is None:
        return None
    secret = settings.photo_s3_secret_access_key
    return S3Config(
        bucket=settings.photo_s3_bucket,
        endpoint_url=settings.photo_s3_endpoint_url,
        region=settings.photo_s3_region,
        access_key_id=settings.photo_s3_access_key_id,
        secret_access_key=secret.get_secret_value() if secret else None,
    )


def _run(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here: FastAPI and uvicorn cost half a second that other commands should not pay.
    import uvicorn  # noqa: PLC0415

    from api.app import create_app  # noqa: PLC0415
    from api.live.fastpath import live_front  # noqa: PLC0415

    port = settings.api_port if args.port is None else args.port
    if not 0 <= port <= 65535:
        raise CommandError(f"--port: {port} is not a TCP port")
    if args.rate <= 0 or args.burst < 1:
        raise CommandError("--rate must be positive and --burst at least 1")
    try:
        ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CommandError(f"--timezone: unknown time zone {args.timezone!r}") from None
    if not 1 <= args.workers <= 64:
        raise CommandError(f"--workers: {args.workers} is not between 1 and 64")
    host = args.host or settings.api_host
    _check_bindable(host, port)
    # SO_REUSEPORT spreads connections, not keys: each worker limits its share.
    rate, burst = args.rate / args.workers, max(1.0, args.burst / args.workers)
    config = config_from(settings, rate, burst, args.timezone)
    log_level = settings.log_level.lower()
    if args.workers == 1:
        try:
            uvicorn.run(
                # /live polls answered in front of the app's middleware (api/live/fastpath.py).
                live_front(create_app(config)),
                host=host,
                port=port,
                workers=1,
                log_level=log_level,
                proxy_headers=True,
            )
        except OSError as exc:  # e.g. address in use
            raise CommandError(f"cannot serve on {host}:{port}: {exc}") from None
        return 0
    try:
        sockets = shared_sockets(host, port, args.workers)
    except OSError as exc:
        raise CommandError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None

    def serve(sock: socket.socket) -> None:
        server = uvicorn.Server(
            uvicorn.Config(live_front(create_app(config)), log_level=log_level, proxy_headers=True)
        )
        server.run(sockets=[sock])
        if not server.started:
            sys.exit(STARTUP_FAILURE)

    if supervise(sockets, serve) != 0:
        raise CommandError("an API worker could not start (see its log above)")
    return 0


def _check_bindable(host: str, port: int) -> None:
    """Fail with one line, before uvicorn logs and exits, when the port is taken."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        raise CommandError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None
