"""Record a feed, replay it: the broker carries the same messages again."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from simulators.broker import BrokerConfig
from simulators.community_gen import CommunitySpec, generate_community
from simulators.realistic import RealisticRun, run_realistic_async
from simulators.recording import RecordingError, encode_line, read_recording, record, replay
from simulators.scenario import FeedOptions
from tests.services import Broker
from tests.simulators.helpers import Collector, yesterday_morning


async def _recording_while(
    cfg: BrokerConfig, topic: str, out: Path, work: Any, *, retained: bool = True
) -> tuple[dict[str, Any], Any]:
    """Record ``topic`` to ``out`` while awaiting ``work``; stop when it is all in."""
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(
        record(
            cfg,
            topic,
            out,
            stop=stop,
            ready=ready,
            show_progress=False,
            retained=retained,
            drain_s=2.0,  # the last acknowledged messages still reaching the recorder
        )
    )
    await asyncio.wait_for(ready.wait(), 10)
    result = await work()
    stop.set()
    return await asyncio.wait_for(task, 60), result


def _lines(path: Path) -> Counter[tuple[str, bytes, bool]]:
    return Counter((r.topic, r.payload, r.retain) for r in read_recording(path))


def test_replay_reproduces_the_recorded_messages(broker: Broker, tmp_path: Path) -> None:
    root = f"rec{secrets.token_hex(3)}/v1"
    model = tmp_path / "m.json"
    model.write_text(json.dumps(generate_community(CommunitySpec(buildings=1, seed=6, id="rr"))))
    cfg = BrokerConfig.from_url(broker.url)
    run = RealisticRun(
        model=model,
        topic_root=root,
        speed=3600.0,
        duration=2.0,
        start=yesterday_morning(),
        options=FeedOptions(seed=6, event_rate=50.0, incidents_per_day=500.0, bad_fraction=0.02),
        progress=False,
    )
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        _rec_a, fed = await _recording_while(
            cfg, f"{root}/#", first, lambda: run_realistic_async(run, cfg)
        )
        rec_b, replayed = await _recording_while(
            cfg, f"{root}/#", second, lambda: replay(cfg, first, speed=0, show_progress=False),
            retained=False,
        )  # fmt: skip
        return fed, replayed, rec_b

    fed, replayed, _rec_b = asyncio.run(scenario())
    a, b = _lines(first), _lines(second)
    assert sum(a.values()) == fed["sent"] + sum(fed["bad"].values()) + fed["links_dropped"]
    assert replayed["errors"] == 0
    assert replayed["sent"] == sum(a.values())
    assert a == b
    assert any(retain for (_, _, retain) in a)  # retained statuses stay retained
    assert any(
        not payload.isascii() or b"\xff" in payload for (_, payload, _) in a
    )  # bad UTF-8 kept


def test_replay_keeps_the_pace(broker: Broker, tmp_path: Path) -> None:
    root = f"rec{secrets.token_hex(3)}/v1"
    path = tmp_path / "paced.jsonl"
    t0 = 1_700_000_000.0
    path.write_text(
        "".join(
            encode_line(
                t0 + 0.5 * i, f"{root}/x/devices/d{i}/telemetry", b"{}", qos=1, retain=False
            )
            + "\n"
            for i in range(5)
        )
    )
    cfg = BrokerConfig.from_url(broker.url)
    heard = Collector(broker.url, f"{root}/#")
    try:
        for speed, span in ((1.0, 2.0), (4.0, 0.5)):
            started = time.monotonic()
            out = asyncio.run(replay(cfg, path, speed=speed, show_progress=False))
            assert out["sent"] == 5
            assert time.monotonic() - started >= 0.9 * span
        assert heard.wait(lambda m: len(m) == 10)
    finally:
        heard.close()


def test_a_broken_recording_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(encode_line(1.0, "a/b", b"x", qos=1, retain=False) + "\n{not json\n")
    with pytest.raises(RecordingError, match="line 2"):
        list(read_recording(path))
