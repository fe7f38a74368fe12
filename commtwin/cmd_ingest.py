"""`commtwin ingest`: MQTT → PostgreSQL, at-least-once (see docs/ingest.md)."""

from __future__ import annotations

import argparse
import socket
from pathlib import Path

from commtwin.commands import CommandError, SubParsers
from commtwin.settings import Settings
from ingest.backoff import Backoff
from ingest.logs import use_json_logs
from ingest.mqtt_session import MqttConfig
from ingest.policy import CareOptions, PolicyError, TwinOptions, load_policy_file, load_rules
from ingest.service import IngestConfig, IngestSetupError, run_until_signalled
from ingest.topics import COMMUNITY_RE, subscriptions
from twin.rules.care import CareConfig
from twin.rules.engine import default_rules

DESCRIPTION = """\
Subscribe to the commtwin topics (QoS 1, persistent session) and write every
message into the database: telemetry, device status and incident events; bad
messages go to the dead-letter table with a reason. Messages are acknowledged
to the broker only after the transaction holding them has committed, so a
crash (even kill -9) loses nothing and a redelivery duplicates nothing.
In the same transactions it evaluates the alarm rules, locates positions and
incident events in the community model, and runs the incidents' state machine
(auto-dispatch, incidents opened by critical alarms, SLA escalation).
SIGTERM drains: commits what it holds, acknowledges it and exits 0.

Connection settings come from the environment: COMMTWIN_DATABASE_URL,
COMMTWIN_MQTT_URL (mqtt:// or mqtts://user:pass@host:port), COMMTWIN_TOPIC_ROOT,
COMMTWIN_MQTT_PROTOCOL, COMMTWIN_MQTT_CA_FILE/_CERT_FILE/_KEY_FILE (TLS),
COMMTWIN_MQTT_CLIENT_ID, COMMTWIN_INGEST_GROUP, COMMTWIN_INGEST_COMMUNITIES,
COMMTWIN_METRICS_PORT.
"""


def register(sub: SubParsers) -> None:
    parser = sub.add_parser(
        "ingest",
        help="consume MQTT and write to the database (at-least-once, batched COPY)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mq = parser.add_argument_group("MQTT")
    mq.add_argument(
        "--client-id",
        help="MQTT client id; keep it stable across restarts so the broker keeps the session "
        "(default: $COMMTWIN_MQTT_CLIENT_ID or commtwin-ingest-<hostname>; several ingestors "
        "need distinct ids)",
    )
    mq.add_argument(
        "--group",
        help="share the subscription with other ingestors of this group ($share/GROUP/...); "
        "each message goes to one of them (default: $COMMTWIN_INGEST_GROUP, else not shared)",
    )
    mq.add_argument(
        "--communities",
        metavar="ID,ID,...",
        help="subscribe to these communities' topics only (ROOT/ID/#), so ingestors can "
        "split a district by community (default: $COMMTWIN_INGEST_COMMUNITIES, else all)",
    )
    mq.add_argument(
        "--protocol",
        choices=("5", "3.1.1"),
        help="MQTT protocol version (default: $COMMTWIN_MQTT_PROTOCOL, i.e. 5)",
    )
    mq.add_argument(
        "--receive-maximum",
        type=int,
        default=20000,
        help="MQTT v5: most unacknowledged messages the broker may send us (default 20000)",
    )
    mq.add_argument(
        "--keepalive", type=int, default=30, help="MQTT keepalive in seconds (default 30)"
    )
    mq.add_argument(
        "--session-expiry",
        type=int,
        default=7 * 24 * 3600,
        help="MQTT v5: seconds the broker keeps our session while we are away (default 7 days)",
    )
    wr = parser.add_argument_group("batching and backpressure")
    wr.add_argument(
        "--batch-max", type=int, default=10000, help="messages per transaction (default 10000)"
    )
    wr.add_argument(
        "--batch-max-kb",
        type=int,
        default=2048,
        help="payload kilobytes per transaction; bounds gateway batches (default 2048)",
    )
    wr.add_argument(
        "--linger-ms",
        type=float,
        default=50.0,
        help="close a batch this long after its first message (default 50)",
    )
    wr.add_argument(
        "--queue-max",
        type=int,
        default=40000,
        help="messages held in memory before reading pauses (default 40000)",
    )
    wr.add_argument(
        "--queue-max-mb",
        type=int,
        default=32,
        help="payload megabytes held in memory before reading pauses (default 32)",
    )
    wr.add_argument(
        "--gc-freeze-every",
        type=float,
        default=10.0,
        help="seconds between moving long-lived per-device state out of Python's full "
        "garbage collections; 0: never (default 10)",
    )
    wr.add_argument(
        "--drain-timeout",
        type=float,
        default=30.0,
        help="on SIGTERM, seconds to keep trying to commit what is held (default 30)",
    )
    ops = parser.add_argument_group("operations")
    ops.add_argument(
        "--metrics-port",
        type=int,
        help="Prometheus /metrics port, 0 = off (default: $COMMTWIN_METRICS_PORT, i.e. 9108)",
    )
    ops.add_argument(
        "--metrics-host", default="0.0.0.0", help="address for /metrics (default 0.0.0.0)"
    )
    ops.add_argument(
        "--maintain-every",
        type=float,
        default=3600.0,
        help="seconds between SELECT commtwin_maintain() calls (default 3600)",
    )
    ops.add_argument(
        "--rollup-every",
        type=float,
        default=5.0,
        help="seconds between runs of the rollup job in plain mode, 0 = never (default 5)",
    )
    ops.add_argument(
        "--last-seen-interval",
        type=float,
        default=60.0,
        help="update devices.last_seen at most this often per device, in seconds (default 60)",
    )
    tw = parser.add_argument_group("alarms and incidents")
    tw.add_argument(
        "--rules",
        type=Path,
        metavar="FILE",
        help="alarm rules file (JSON, docs/twin.md); default: commtwin's default rules",
    )
    tw.add_argument(
        "--incident-policy",
        type=Path,
        metavar="FILE",
        help="SLA per category and which critical alarms open incidents (JSON, "
        "docs/incidents.md); default: 30 min/24 h, critical 5 min/2 h",
    )
    tw.add_argument(
        "--alarm-tick",
        type=float,
        default=10.0,
        help="seconds between evaluations of no-data and duration rules (default 10)",
    )
    tw.add_argument(
        "--escalation-tick",
        type=float,
        default=30.0,
        help="seconds between SLA escalation checks (default 30)",
    )
    care = parser.add_argument_group("elderly care (docs/twin.md, Elderly care)")
    care.add_argument(
        "--care-quiet-hours",
        type=float,
        default=4.0,
        help="daytime hours without water use, door or motion in the home of someone"
        " living alone before a care_check alarm (default 4)",
    )
    care.add_argument(
        "--care-day",
        default="7-21",
        metavar="START-END",
        help="local hours that count as daytime for the care check (default 7-21)",
    )
    care.add_argument(
        "--care-utc-offset",
        type=float,
        default=8.0,
        help="the communities' local time, hours from UTC (default 8: China)",
    )
    care.add_argument(
        "--care-baseline-every",
        type=float,
        default=300.0,
        help="seconds between scorings of the hour just ended against each care"
        " home's 14-day profile (default 300)",
    )
    care.add_argument("--no-care", action="store_true", help="no care check and no baseline job")
    ops.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="text (key=value) or json (one object per line) logs (default text)",
    )
    parser.set_defaults(handler=_run)


def build_config(args: argparse.Namespace, settings: Settings) -> IngestConfig:
    """Settings + options → the ingest package's own plain config."""
    for name in (
        "batch_max",
        "batch_max_kb",
        "queue_max",
        "receive_maximum",
        "keepalive",
        "queue_max_mb",
    ):
        if getattr(args, name) < 1:
            raise CommandError(f"--{name.replace('_', '-')} must be at least 1")
    if args.gc_freeze_every < 0:
        raise CommandError("--gc-freeze-every must be 0 (never) or positive")
    for name in ("alarm_tick", "escalation_tick"):
        if not getattr(args, name) > 0:
            raise CommandError(f"--{name.replace('_', '-')} must be positive")
    if args.receive_maximum > 65535:
        raise CommandError("--receive-maximum must be at most 65535")
    protocol = args.protocol or settings.mqtt_protocol
    group = args.group or settings.ingest_group
    if group is not None and not group.replace("-", "").replace("_", "").isalnum():
        raise CommandError("--group may hold letters, digits, - and _ only")
    client_id = (
        args.client_id or settings.mqtt_client_id or f"commtwin-ingest-{socket.gethostname()}"
    )
    communities = _communities(args, settings)
    mqtt = MqttConfig(
        url=settings.mqtt_url,
        client_id=client_id,
        topics=subscriptions(settings.topic_root, group, communities),
        protocol=protocol,
        ca_file=settings.mqtt_ca_file,
        cert_file=settings.mqtt_cert_file,
        key_file=settings.mqtt_key_file,
        keepalive=args.keepalive,
        session_expiry_s=args.session_expiry,
        receive_maximum=args.receive_maximum,
    )
    return IngestConfig(
        database_url=settings.database_url,
        mqtt=mqtt,
        root=settings.topic_root,
        batch_max=args.batch_max,
        batch_max_bytes=args.batch_max_kb * 1024,
        linger_s=args.linger_ms / 1000.0,
        queue_max=args.queue_max,
        queue_max_bytes=args.queue_max_mb * 1024 * 1024,
        metrics_port=settings.metrics_port if args.metrics_port is None else args.metrics_port,
        metrics_host=args.metrics_host,
        maintain_every_s=args.maintain_every,
        rollup_every_s=args.rollup_every,
        drain_timeout_s=args.drain_timeout,
        gc_freeze_every_s=args.gc_freeze_every,
        last_seen_interval_s=args.last_seen_interval,
        db_backoff=Backoff(0.2, 10.0),
        mqtt_backoff=Backoff(0.2, 30.0),
        twin=_twin_options(args, communities or None),
    )


def _communities(args: argparse.Namespace, settings: Settings) -> tuple[str, ...]:
    raw = args.communities if args.communities is not None else settings.ingest_communities
    ids = tuple(c.strip() for c in raw.split(",") if c.strip())
    for cid in ids:
        if COMMUNITY_RE.fullmatch(cid) is None:
            raise CommandError(
                f"--communities: {cid[:80]!r} is not a community id (a-z, 0-9 and -)"
            )
    if len(set(ids)) != len(ids):
        raise CommandError("--communities: an id is given twice")
    return ids


def _twin_options(args: argparse.Namespace, communities: tuple[str, ...] | None) -> TwinOptions:
    try:
        rules = load_rules(args.rules) if args.rules is not None else default_rules()
        policy = (
            load_policy_file(args.incident_policy, rules)
            if args.incident_policy is not None
            else None
        )
    except PolicyError as exc:
        raise CommandError(str(exc)) from None
    return TwinOptions(
        rules=rules,
        policy=policy,
        alarm_tick_s=args.alarm_tick,
        escalate_tick_s=args.escalation_tick,
        care=_care_options(args),
        communities=communities,
    )


def _care_options(args: argparse.Namespace) -> CareOptions:
    start, _, end = str(args.care_day).partition("-")
    try:
        check = CareConfig(
            quiet_hours=args.care_quiet_hours,
            day_start_h=float(start),
            day_end_h=float(end),
            utc_offset_h=args.care_utc_offset,
        )
    except ValueError as exc:
        raise CommandError(f"--care-*: {exc} (--care-day is START-END, e.g. 7-21)") from None
    if not args.care_baseline_every > 0:
        raise CommandError("--care-baseline-every must be positive")
    return CareOptions(
        check=check, baseline_every_s=args.care_baseline_every, enabled=not args.no_care
    )


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.log_format == "json":
        use_json_logs()
    config = build_config(args, settings)
    try:
        return run_until_signalled(config)
    except IngestSetupError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:  # e.g. the database refused the first connection
        raise CommandError(f"ingest: {exc}") from None
