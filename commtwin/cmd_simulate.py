"""`commtwin simulate community|run|load|bad|record|replay`.

Settings give the broker (COMMTWIN_MQTT_*) and the topic root; everything
else is an option. Each mode prints one JSON summary line on stdout;
progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from commtwin.commands import CommandError, SubParsers
from commtwin.settings import Settings
from simulators.bad_feed import send_bad
from simulators.bad_input import BAD_KINDS
from simulators.broker import BrokerConfig, BrokerConfigError
from simulators.clock import ClockError
from simulators.community_gen import CommunitySpec, GenerationError, generate_community, summary
from simulators.durations import DurationError, parse_duration, parse_start
from simulators.from_model import place_into
from simulators.load import run_load
from simulators.load_worker import LoadError, LoadSpec
from simulators.model_view import ModelViewError
from simulators.mqtt_links import LinkError
from simulators.realistic import RealisticRun, run_realistic
from simulators.recording import RecordingError, record, replay
from simulators.scenario import FeedOptions
from simulators.wire import COMMUNITY_ID, Wire
from simulators.worker_desk import WorkersApi

P = ParamSpec("P")
T = TypeVar("T")
EXPECTED_ERRORS = (
    BrokerConfigError,
    ClockError,
    DurationError,
    GenerationError,
    LinkError,
    LoadError,
    ModelViewError,
    RecordingError,
)


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except DurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _community_id(text: str) -> str:
    if not COMMUNITY_ID.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} must match {COMMUNITY_ID.pattern}")
    return text


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError("must be in [0, 1)")
    return value


def register(sub: SubParsers) -> None:
    parser = sub.add_parser(
        "simulate",
        help="simulated community: model, realistic feed, load, bad input, record/replay",
        description="Simulators for demos, tests and load. Each mode prints one JSON summary "
        "line on stdout; progress goes to stderr. The broker comes from COMMTWIN_MQTT_URL "
        "(COMMTWIN_MQTT_PROTOCOL, COMMTWIN_MQTT_CA_FILE, ...), the topic root from "
        "COMMTWIN_TOPIC_ROOT.",
    )
    modes = parser.add_subparsers(dest="simulate_command", metavar="MODE", required=True)
    _register_community(modes)
    _register_run(modes)
    _register_load(modes)
    _register_bad(modes)
    _register_record(modes)


def _register_community(modes: SubParsers) -> None:
    p = modes.add_parser(
        "community",
        help="write a community model file (generated, or devices placed into a real model)",
    )
    p.add_argument("--out", type=Path, required=True, help="model file to write (JSON)")
    p.add_argument("--buildings", type=int, default=20, help="residential buildings (default 20)")
    p.add_argument("--seed", type=int, default=1, help="same seed, same community (default 1)")
    p.add_argument("--id", type=_community_id, default=None, help="community id (default lanting)")
    p.add_argument("--name", default=None, help="display name (default 兰亭社区 Lanting)")
    p.add_argument("--grids", type=int, default=None, help="governance grids (default 3-6)")
    p.add_argument(
        "--from-model",
        type=Path,
        default=None,
        metavar="FILE",
        help="place devices into the buildings of this CityJSON or model file instead",
    )
    p.set_defaults(handler=_community)


def _register_run(modes: SubParsers) -> None:
    p = modes.add_parser("run", help="realistic feed of a community (aiomqtt), live or accelerated")
    p.add_argument("--model", type=Path, default=None, help="model file (default: generated)")
    p.add_argument("--seed", type=int, default=1, help="same seed and start, same feed")
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    p.add_argument(
        "--duration",
        type=_duration,
        default=None,
        help="real time to run (90s, 5m, 2h; default: until stopped)",
    )
    p.add_argument(
        "--start",
        default=None,
        help="simulated start: -6h or an ISO time (default: now - duration*(speed-1), so the "
        "simulated clock reaches now as the run ends and never runs ahead of real time)",
    )
    p.add_argument("--event-rate", type=float, default=1.0, help="multiply rare events (default 1)")
    p.add_argument("--incidents-per-day", type=float, default=None, help="resident reports per day")
    p.add_argument(
        "--dispatcher",
        action="store_true",
        help="publish 'dispatched' events (default: rely on the ingestor's auto-dispatch)",
    )
    p.add_argument("--no-outages", action="store_true", help="gateways never drop (no last wills)")
    p.add_argument("--no-offline", action="store_true", help="devices never go offline")
    p.add_argument(
        "--bad-fraction", type=_fraction, default=0.0, help="share of malformed messages"
    )
    p.add_argument("--kinds", default=None, help="only these device kinds (comma-separated)")
    p.add_argument("--max-inflight", type=int, default=500, help="unacknowledged publishes at once")
    p.add_argument(
        "--incident-history",
        type=_duration,
        default=0.0,
        metavar="DURATION",
        help="residents' reports (and their closed loop) start this long before --start "
        "(e.g. 30d: a month of history, published at once)",
    )
    p.add_argument(
        "--workers-api",
        default=None,
        metavar="URL",
        help="API base URL where the simulated grid workers read open incidents (alarm-opened "
        "ones too) to accept, resolve and close them; key in COMMTWIN_SIMULATE_API_KEY",
    )
    p.add_argument(
        "--workers-poll", type=float, default=2.0, help="seconds between two reads (default 2)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(handler=_run)


def _register_load(modes: SubParsers) -> None:
    p = modes.add_parser("load", help="as many telemetry messages per second as asked (QoS 1)")
    p.add_argument("--rate", type=float, required=True, help="messages/s in total (0: flat out)")
    p.add_argument("--duration", type=_duration, required=True, help="sending time (e.g. 60, 5m)")
    p.add_argument("--batch", type=int, default=1, help="readings per message (gateway batch)")
    p.add_argument("--devices", type=int, default=1000, help="simulated devices (default 1000)")
    p.add_argument("--processes", type=int, default=1, help="sending processes (default 1)")
    p.add_argument("--community", type=_community_id, default="load", help="community id")
    p.add_argument(
        "--bad-fraction", type=_fraction, default=0.0, help="share of malformed messages"
    )
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(handler=_load)


def _register_bad(modes: SubParsers) -> None:
    p = modes.add_parser(
        "bad", help="malformed messages of every dead-letter kind, with the reason each must get"
    )
    p.add_argument("--community", type=_community_id, default="lanting", help="community id")
    p.add_argument("--count", type=int, default=None, help="messages (default: one per kind)")
    p.add_argument(
        "--kinds", default=None, help=f"comma-separated subset of: {', '.join(BAD_KINDS)}"
    )
    p.add_argument(
        "--expect",
        type=Path,
        default=None,
        help="write kind, reason, topic, payload_sha256 per case (JSON Lines)",
    )
    p.set_defaults(handler=_bad)


def _register_record(modes: SubParsers) -> None:
    p = modes.add_parser("record", help="subscribe and write messages to a JSON Lines file")
    p.add_argument("--out", type=Path, required=True, help="JSON Lines file to write")
    p.add_argument("--topic", default=None, help="topic filter (default: ROOT/#)")
    p.add_argument("--duration", type=_duration, default=None, help="stop after this long")
    p.add_argument("--count", type=int, default=None, help="stop after this many messages")
    p.add_argument(
        "--skip-retained",
        action="store_true",
        help="MQTT 5: leave out the retained messages the broker already holds",
    )
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(handler=_record)
    p = modes.add_parser("replay", help="publish a recording again, at the recorded pace or faster")
    p.add_argument("file", type=Path, help="JSON Lines file written by `simulate record`")
    p.add_argument("--speed", type=float, default=1.0, help="pace factor (default 1; 0: flat out)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(handler=_replay)


def _broker(settings: Settings) -> BrokerConfig:
    return BrokerConfig.from_url(
        settings.mqtt_url,
        protocol=settings.mqtt_protocol,
        ca_file=settings.mqtt_ca_file,
        cert_file=settings.mqtt_cert_file,
        key_file=settings.mqtt_key_file,
    )


def _emit(summary_: dict[str, Any]) -> int:
    print(json.dumps(summary_, ensure_ascii=False), flush=True)
    return 0


def _guard(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``fn``; an expected failure becomes the one-line CommandError."""
    try:
        return fn(*args, **kwargs)
    except EXPECTED_ERRORS as exc:
        raise CommandError(f"simulate: {exc}") from None
    except OSError as exc:
        raise CommandError(f"simulate: {exc.filename or ''}: {exc.strerror or exc}") from None


def _community(args: argparse.Namespace, settings: Settings) -> int:
    def build() -> dict[str, Any]:
        if args.from_model is not None:
            return place_into(
                args.from_model, args.out, cid=args.id, name=args.name, seed=args.seed
            )
        spec = CommunitySpec(
            buildings=args.buildings,
            seed=args.seed,
            id=args.id or "lanting",
            name=args.name or "兰亭社区 Lanting",
            grids=args.grids,
        )
        return generate_community(spec)

    model = _guard(build)
    _guard(args.out.write_text, json.dumps(model, ensure_ascii=False, indent=1), "utf-8")
    return _emit({"mode": "community", "file": str(args.out), **summary(model)})


def _run(args: argparse.Namespace, settings: Settings) -> int:
    start = _guard(parse_start, args.start, time.time()) if args.start else None
    kinds = frozenset(k.strip() for k in args.kinds.split(",")) if args.kinds else None
    options = FeedOptions(
        seed=args.seed,
        event_rate=args.event_rate,
        incidents_per_day=args.incidents_per_day,
        dispatcher=args.dispatcher,
        outages=not args.no_outages,
        offline=not args.no_offline,
        bad_fraction=args.bad_fraction,
        kinds=kinds,
        incident_history_s=args.incident_history,
    )
    workers_api = None
    if args.workers_api is not None:
        if not settings.simulate_api_key:
            raise CommandError("simulate: --workers-api needs a key in COMMTWIN_SIMULATE_API_KEY")
        if not args.workers_poll > 0:
            raise CommandError("simulate: --workers-poll must be positive")
        workers_api = WorkersApi(args.workers_api, settings.simulate_api_key, args.workers_poll)
    run = RealisticRun(
        model=args.model,
        topic_root=settings.topic_root,
        speed=args.speed,
        duration=args.duration,
        start=start,
        options=options,
        max_inflight=args.max_inflight,
        progress=not args.quiet,
        workers_api=workers_api,
    )
    return _emit(_guard(run_realistic, run, _guard(_broker, settings)))


def _load(args: argparse.Namespace, settings: Settings) -> int:
    spec = LoadSpec(
        broker=_guard(_broker, settings),
        topic_root=settings.topic_root,
        community=args.community,
        rate=args.rate,
        duration=args.duration,
        batch=args.batch,
        devices=args.devices,
        processes=args.processes,
        bad_fraction=args.bad_fraction,
    )
    return _emit(_guard(run_load, spec, show_progress=not args.quiet))


def _bad(args: argparse.Namespace, settings: Settings) -> int:
    kinds = tuple(k.strip() for k in args.kinds.split(",")) if args.kinds else BAD_KINDS
    unknown = [k for k in kinds if k not in BAD_KINDS]
    if unknown:
        raise CommandError(
            f"simulate bad: unknown kind {unknown[0]!r} (known: {', '.join(BAD_KINDS)})"
        )
    w = Wire(settings.topic_root, args.community)
    coro = send_bad(_guard(_broker, settings), w, count=args.count, kinds=kinds, expect=args.expect)
    return _emit(_guard(asyncio.run, coro))


def _record(args: argparse.Namespace, settings: Settings) -> int:
    topic = args.topic or f"{settings.topic_root}/#"
    coro = record(
        _guard(_broker, settings),
        topic,
        args.out,
        duration=args.duration,
        count=args.count,
        show_progress=not args.quiet,
        retained=not args.skip_retained,
    )
    return _emit(_guard(asyncio.run, coro))


def _replay(args: argparse.Namespace, settings: Settings) -> int:
    coro = replay(
        _guard(_broker, settings), args.file, speed=args.speed, show_progress=not args.quiet
    )
    return _emit(_guard(asyncio.run, coro))
