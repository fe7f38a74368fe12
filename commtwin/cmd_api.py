"""`commtwin api`: serve the cockpit API with uvicorn (one worker)."""

from __future__ import annotations

import argparse
import socket
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from api.config import ApiConfig, parse_origins
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
    )


def _run(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here: FastAPI and uvicorn cost half a second that other commands should not pay.
    import uvicorn  # noqa: PLC0415

    from api.app import create_app  # noqa: PLC0415

    port = settings.api_port if args.port is None else args.port
    if not 0 <= port <= 65535:
        raise CommandError(f"--port: {port} is not a TCP port")
    if args.rate <= 0 or args.burst < 1:
        raise CommandError("--rate must be positive and --burst at least 1")
    try:
        ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CommandError(f"--timezone: unknown time zone {args.timezone!r}") from None
    host = args.host or settings.api_host
    _check_bindable(host, port)
    app = create_app(config_from(settings, args.rate, args.burst, args.timezone))
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            workers=1,
            log_level=settings.log_level.lower(),
            proxy_headers=True,
        )
    except OSError as exc:  # e.g. address in use
        raise CommandError(f"cannot serve on {host}:{port}: {exc}") from None
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
