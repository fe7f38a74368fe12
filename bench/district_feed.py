#!/usr/bin/env python
"""A district's mixed MQTT feed at a fixed rate, for bench/bench_district.py.

Run as its own process (``python -m bench.district_feed --help``): it reads
the district's devices from a JSON file (``{"devices": [[community, device,
kind], ...], "buildings": {community: [building, ...]}, "probes":
[[community, device], ...]}``) and publishes, over one raw-socket QoS 1
connection (tests/ingest/publisher.py), a feed shaped like a real one:

* telemetry of every kind with its own metrics, in normal ranges (counters
  that only grow, booleans mostly false), stamped with the send time and
  distinct per device, so every reading lands as exactly one row; wearables
  carry a local position, which ingest locates;
* device status: a device now and then goes offline and comes back 5-30 s
  later (change_log rows, /live changes);
* smoke alarms: a detector reports smoke and clears it 2-10 s later;
* incident reports from residents;
* probe readings: the ``probes`` devices' ``temperature`` every 100 ms (the
  send time is the reading's ts), which the bench watches to time publish ->
  commit.

At the end it prints one JSON object: messages sent by type, readings sent,
seconds, and the rate achieved.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.ingest.publisher import FastPublisher  # noqa: E402

TOPIC = "commtwin/v1/{}/devices/{}/{}"
# Shares of the non-telemetry messages (per message sent).
STATUS_SHARE = 0.004  # offline now, online again later
SMOKE_SHARE = 0.0002  # smoke detected, cleared later
INCIDENT_SHARE = 0.0001
PROBE_EVERY_S = 0.1


def values(
    kind: str, rng: random.Random, counter: float, temperature: float
) -> dict[str, float | bool]:
    """One reading of ``kind`` in its normal range (``counter`` only grows;
    ``temperature``: the device's own, which drifts slowly)."""
    r = rng.random
    table: dict[str, dict[str, float | bool]] = {
        "smoke": {"smoke": False, "temperature": round(temperature, 1)},
        "water_leak": {"leak": False},
        "gas": {"gas_lel": round(2 * r(), 2)},
        "elevator": {"fault": False, "door_open": r() < 0.1, "trips": counter,
                     "load_kg": round(600 * r())},
        "door": {"open": r() < 0.05},
        "env": {"temperature": round(temperature, 1), "humidity": round(40 + 20 * r())},
        "air_quality": {"pm25": round(10 + 25 * r()), "co2": round(420 + 400 * r())},
        "power_meter": {"power_kw": round(0.5 + 3 * r(), 2), "energy_kwh": counter},
        "wearable": {"heart_rate": round(62 + 25 * r()), "fall": False, "sos": False,
                     "battery": round(40 + 60 * r()),
                     "body_temperature": round(36.3 + r() / 2, 1)},
        "water_meter": {"water_m3": counter / 100, "flow_lpm": round(5 * r(), 1)},
        "home_meter": {"energy_kwh": counter, "power_kw": round(0.2 + 2 * r(), 2)},
        "motion": {"motion": r() < 0.2},
        "parking": {"occupancy": round(r(), 2), "occupied_spaces": round(80 * r())},
        "pv_inverter": {"power_kw": round(5 * r(), 2), "energy_kwh": counter,
                        "export_kwh": counter / 2},
        "ev_charger": {"charging": r() < 0.3, "power_kw": round(7 * r(), 1),
                       "energy_kwh": counter, "sessions": counter // 10},
        "gate": {"entries": counter, "exits": counter},
    }  # fmt: skip
    return table.get(kind, {"value": round(r(), 3)})


class Feed:
    def __init__(self, spec: dict[str, object], seed: int) -> None:
        self.devices: list[list[str]] = spec["devices"]  # type: ignore[assignment]
        self.buildings: dict[str, list[str]] = spec["buildings"]  # type: ignore[assignment]
        self.probes: list[list[str]] = spec["probes"]  # type: ignore[assignment]
        self.smoke = [d for d in self.devices if d[2] == "smoke"]
        self.rng = random.Random(seed)
        self.last_ms: dict[tuple[str, str], int] = {}
        self.counters: dict[tuple[str, str], float] = {}
        # A room's temperature drifts, it does not jump: a fresh 20-26 °C draw per
        # reading, seconds apart, tripped temperature_rise (> 8 °C/min) ~100 times
        # a second over the district, an alarm storm no real feed has.
        self.temperatures: dict[tuple[str, str], float] = {}
        self.later: list[tuple[float, int, str, str, str]] = []  # (due, n, what, cid, dev)
        self.sent: Counter[str] = Counter()
        self.readings = 0
        self.n = 0

    def _ts(self, cid: str, dev: str) -> int:
        # Distinct per device: a redelivery is a duplicate, never a second row.
        ts = max(int(time.time() * 1000), self.last_ms.get((cid, dev), 0) + 1)
        self.last_ms[(cid, dev)] = ts
        return ts

    def _telemetry(self, cid: str, dev: str, kind: str) -> tuple[str, bytes]:
        key = (cid, dev)
        counter = self.counters.get(key, self.rng.randrange(1000)) + 1
        self.counters[key] = counter
        rng = self.rng
        was = self.temperatures.get(key)
        temperature = 20 + 5 * rng.random() if was is None else was + rng.gauss(0, 0.1)
        self.temperatures[key] = temperature = min(30.0, max(16.0, temperature))
        reading = values(kind, rng, counter, temperature)
        body: dict[str, object] = {"ts": self._ts(cid, dev), "values": reading}
        if kind == "wearable":  # ingest locates it (building, storey, unit, grid)
            body["pos"] = {"x": round(self.rng.uniform(0, 200), 1),
                           "y": round(self.rng.uniform(0, 200), 1)}  # fmt: skip
        self.readings += len(reading)
        self.sent["telemetry"] += 1
        return TOPIC.format(cid, dev, "telemetry"), json.dumps(body).encode()

    def _later(self, delay_s: float, what: str, cid: str, dev: str) -> None:
        self.n += 1
        heapq.heappush(self.later, (time.monotonic() + delay_s, self.n, what, cid, dev))

    def _due(self, what: str, cid: str, dev: str) -> tuple[str, bytes]:
        """A deferred message, stamped when it is sent."""
        if what == "online":
            body: dict[str, object] = {"online": True, "ts": self._ts(cid, dev), "battery": 80}
            return TOPIC.format(cid, dev, "status"), json.dumps(body).encode()
        self.readings += 2
        body = {"ts": self._ts(cid, dev), "values": {"smoke": False, "temperature": 24.0}}
        return TOPIC.format(cid, dev, "telemetry"), json.dumps(body).encode()

    def _event(self, draw: float) -> tuple[str, bytes] | None:
        """A status change, a smoke alarm or an incident report, or None (telemetry)."""
        rng = self.rng
        if draw < STATUS_SHARE:
            cid, dev, _ = rng.choice(self.devices)
            self.sent["status"] += 2
            off = {"online": False, "ts": self._ts(cid, dev), "battery": 80}
            self._later(rng.uniform(5, 30), "online", cid, dev)
            return TOPIC.format(cid, dev, "status"), json.dumps(off).encode()
        draw -= STATUS_SHARE
        if draw < SMOKE_SHARE and self.smoke:
            cid, dev, _ = rng.choice(self.smoke)
            self.sent["smoke"] += 2
            self.readings += 2
            alarm = {"ts": self._ts(cid, dev), "values": {"smoke": True, "temperature": 31.0}}
            self._later(rng.uniform(2, 10), "clear", cid, dev)
            return TOPIC.format(cid, dev, "telemetry"), json.dumps(alarm).encode()
        draw -= SMOKE_SHARE
        if draw < INCIDENT_SHARE:
            cid = rng.choice(self.devices)[0]
            self.n += 1
            self.sent["incident"] += 1
            event = {"event_id": "e1", "type": "reported", "category": "noise",
                     "title": "bench report", "reporter": f"r-{self.n}",
                     "location": {"building": rng.choice(self.buildings[cid])}}  # fmt: skip
            return f"commtwin/v1/{cid}/incidents/bench-{self.n}/events", json.dumps(event).encode()
        return None

    def messages(
        self, seconds: float, count: int = 0, *, sweep: bool = False
    ) -> Iterator[tuple[str, bytes]]:
        """For ``seconds``, or until ``count`` messages (0: no limit) if that comes first.

        ``sweep``: first one reading of every device, in random order (a warm-up
        after which the ingestor has seen the whole district, as it has in
        steady state), then the mixed feed."""
        first = self._sweep() if sweep else iter(())
        end = time.monotonic() + seconds
        for n, message in enumerate(itertools.chain(first, self._messages(end)), 1):
            yield message
            if n == count:
                return

    def _sweep(self) -> Iterator[tuple[str, bytes]]:
        order = list(self.devices)
        self.rng.shuffle(order)
        for cid, dev, kind in order:
            yield self._telemetry(cid, dev, kind)

    def _messages(self, end: float) -> Iterator[tuple[str, bytes]]:
        next_probe = time.monotonic()
        probe = 0
        while (now := time.monotonic()) < end:
            if self.later and self.later[0][0] <= now:
                _, _, what, cid, dev = heapq.heappop(self.later)
                yield self._due(what, cid, dev)
            elif now >= next_probe and self.probes:
                next_probe += PROBE_EVERY_S / len(self.probes)
                cid, dev = self.probes[probe % len(self.probes)]
                probe += 1
                self.readings += 1
                self.sent["probe"] += 1
                body = {"ts": self._ts(cid, dev), "values": {"temperature": 21.0}}
                yield TOPIC.format(cid, dev, "telemetry"), json.dumps(body).encode()
            else:
                event = self._event(self.rng.random())
                yield (
                    event if event is not None else self._telemetry(*self.rng.choice(self.devices))
                )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="a district's mixed feed (bench_district)")
    parser.add_argument("--url", required=True, help="mqtt://host:port")
    parser.add_argument("--devices", type=Path, required=True, help="JSON file (see above)")
    parser.add_argument("--rate", type=float, required=True, help="messages/s")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--count", type=int, default=0, help="stop after this many (0: no limit)")
    parser.add_argument("--sweep", action="store_true", help="every device once first")
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args(argv)
    feed = Feed(json.loads(args.devices.read_text()), args.seed)
    pub = FastPublisher(args.url, client_id="bench-district-feed", window=20000)
    try:
        stats = pub.publish(
            feed.messages(args.seconds, args.count, sweep=args.sweep), rate=args.rate, chunk=100
        )
    finally:
        pub.close()
    out = {"sent": stats.sent, "seconds": stats.seconds, "rate": stats.rate,
           "readings": feed.readings, "by_type": dict(feed.sent)}  # fmt: skip
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
