"""Record what the broker carries to JSON Lines, and replay such a file.

One line per message::

    {"t": 1764324000.123, "topic": "commtwin/v1/...", "payload": "{...}", "qos": 1, "retain": false}

``t`` is the receive time (epoch s). A payload that is not valid UTF-8 is
written as ``"payload_b64"`` instead of ``"payload"``, so every byte comes
back exactly. Replaying publishes the same bytes on the same topics with the
recorded gaps divided by ``speed`` (``0``: as fast as possible).

>>> line = encode_line(12.5, "a/b", b"\\xff", qos=1, retain=False)
>>> line
'{"t":12.5,"topic":"a/b","payload_b64":"/w==","qos":1,"retain":false}'
>>> decode_line(line, 1)
Recorded(t=12.5, topic='a/b', payload=b'\\xff', qos=1, retain=False)
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.subscribeoptions import SubscribeOptions

from simulators.actions import Category, Publish
from simulators.broker import BrokerConfig
from simulators.clock import SimClock
from simulators.feed_runner import FeedRunner, install_stop_signals
from simulators.mqtt_links import LinkError
from simulators.progress import Progress
from simulators.wire import Wire

MAX_SPEED = 1e12  # "as fast as possible"


class RecordingError(ValueError):
    """A recording file that cannot be read back (names the line)."""


@dataclass(frozen=True, slots=True)
class Recorded:
    t: float
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False


def encode_line(t: float, topic: str, payload: bytes, *, qos: int, retain: bool) -> str:
    obj: dict[str, Any] = {"t": round(t, 6), "topic": topic}
    try:
        obj["payload"] = payload.decode("utf-8")
    except UnicodeDecodeError:
        obj["payload_b64"] = base64.b64encode(payload).decode("ascii")
    obj["qos"] = qos
    obj["retain"] = retain
    return orjson.dumps(obj).decode("utf-8")


def decode_line(line: str, number: int) -> Recorded:
    try:
        obj = orjson.loads(line)
        if "payload" in obj:
            payload = str(obj["payload"]).encode("utf-8")
        else:
            payload = base64.b64decode(obj["payload_b64"], validate=True)
        return Recorded(
            float(obj["t"]),
            str(obj["topic"]),
            payload,
            int(obj.get("qos", 1)),
            bool(obj.get("retain", False)),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise RecordingError(f"line {number}: not a recorded message ({exc})") from None


def read_recording(path: Path) -> Iterator[Recorded]:
    try:
        with path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                if line.strip():
                    yield decode_line(line, number)
    except OSError as exc:
        raise RecordingError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise RecordingError(f"{path}: not UTF-8 text ({exc.reason})") from None


async def record(
    broker: BrokerConfig,
    topic_filter: str,
    out: Path,
    *,
    duration: float | None = None,
    count: int | None = None,
    stop: asyncio.Event | None = None,
    ready: asyncio.Event | None = None,
    show_progress: bool = True,
    retained: bool = True,
    drain_s: float = 0.0,
) -> dict[str, Any]:
    """Subscribe to ``topic_filter`` and write each message as a line until done.

    ``stop`` ends the recording once no message has arrived for ``drain_s``
    (messages already published may still be on their way from the broker).

    The subscriber is paho's own network thread writing each message as it
    arrives (the receive time is the line's ``t``); this coroutine only
    watches the stop conditions. With MQTT 5 the subscription keeps each
    message's retain flag as published (so a replay retains what was
    retained); ``retained=False`` skips the retained messages the broker
    holds from before. MQTT 3.1.1 cannot tell: every live message then
    arrives, and replays, unretained.
    """
    stop = stop or asyncio.Event()
    install_stop_signals(stop)
    progress = Progress("simulate record", enabled=show_progress)
    client = broker.paho_client(f"sim-record-{time.time_ns() % 10**9}")
    subscribed = threading.Event()
    written = [0]
    last_arrival = [time.monotonic()]
    fh = out.open("w", encoding="utf-8")

    def on_message(_c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        if count is not None and written[0] >= count:
            return
        line = encode_line(
            time.time(), msg.topic, bytes(msg.payload), qos=msg.qos, retain=msg.retain
        )
        fh.write(line + "\n")
        written[0] += 1
        last_arrival[0] = time.monotonic()

    client.on_message = on_message
    client.on_subscribe = lambda *_: subscribed.set()
    try:
        try:
            client.connect(broker.host, broker.port, keepalive=30)
        except (OSError, ValueError) as exc:
            raise LinkError(f"cannot connect to the MQTT broker: {exc}") from None
        client.loop_start()
        if broker.v5:
            client.subscribe(topic_filter, options=_options(retained))
        else:
            client.subscribe(topic_filter, qos=1)
        for _ in range(200):
            if subscribed.is_set():
                break
            await asyncio.sleep(0.05)
        else:
            raise LinkError("the broker did not acknowledge the subscription")
        if ready is not None:
            ready.set()
        deadline = time.monotonic() + duration if duration is not None else None
        while count is None or written[0] < count:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            if stop.is_set() and now - last_arrival[0] >= drain_s:
                break
            await asyncio.sleep(0.05)
            progress.update(sent=written[0])
    finally:
        client.disconnect()
        client.loop_stop()
        fh.close()
    progress.done()
    return {"mode": "record", "file": str(out), "messages": written[0], "topic": topic_filter}


def _options(retained: bool) -> SubscribeOptions:
    handling = (
        SubscribeOptions.RETAIN_SEND_ON_SUBSCRIBE
        if retained
        else SubscribeOptions.RETAIN_DO_NOT_SEND
    )
    return SubscribeOptions(qos=1, retainAsPublished=True, retainHandling=handling)


def _category(topic: str) -> Category:
    tail = topic.rsplit("/", 1)[-1]
    if tail == "events":
        return "incident"
    return tail if tail in ("telemetry", "status") else "other"  # type: ignore[return-value]


async def replay(
    broker: BrokerConfig, path: Path, *, speed: float = 1.0, show_progress: bool = True
) -> dict[str, Any]:
    """Publish a recording again; ``speed`` 1 keeps the recorded pace, 0 means flat out."""
    if speed < 0:
        raise RecordingError("--speed must be >= 0 (0: as fast as possible)")
    lines = list(read_recording(path))  # read fully first: a bad line fails before sending
    if not lines:
        return {"mode": "replay", "file": str(path), "sent": 0, "errors": 0}
    t0 = lines[0].t
    clock = SimClock(time.time(), t0, speed if speed > 0 else MAX_SPEED, None)
    progress = Progress("simulate replay", enabled=show_progress)
    runner = FeedRunner(broker, Wire("replay", "replay"), progress=progress)
    install_stop_signals(runner.stop)
    actions = (
        Publish(t, "replay", r.topic, r.payload, r.retain, _category(r.topic), 0)
        for r, t in zip(lines, itertools.accumulate((r.t for r in lines), max), strict=True)
    )
    started = time.monotonic()
    tally = await runner.run(actions, clock, first_link="replay")
    progress.done()
    elapsed = time.monotonic() - started
    return {
        "mode": "replay",
        "file": str(path),
        "speed": speed,
        "sent": tally.sent,
        "published": dict(sorted(tally.published.items())),
        "errors": tally.errors,
        "elapsed_s": round(elapsed, 3),
        "recorded_span_s": round(lines[-1].t - t0, 3),
    }
