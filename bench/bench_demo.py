#!/usr/bin/env python3
"""Time to ready of ``commtwin demo`` with nothing configured (docs/demo.md).

Three runs, each in the background as a user starts it, stopped with SIGINT:
a first run on a fresh data directory (initdb of the embedded PostgreSQL,
schema, community import, key), a second run on the same directory (data
reused), and a first run with the amqtt fallback broker. Reported per run:
seconds from launch to the cockpit URL being printed (the API answers) and to
``/live`` showing online devices (target: within 60 s), and seconds from
SIGINT to the demo's exit with everything it started.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from commtwin.demo_ready import ApiProbe

ROOT = Path(__file__).resolve().parent.parent
COCKPIT = re.compile(r"Cockpit:\s+(http://\S+)/cockpit/(\S+)\?key=(\S+)")
TIMEOUT_S = 120.0


def free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one_run(data_dir: Path, *extra: str) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMTWIN_")}
    argv = [sys.executable, "-m", "commtwin", "demo", "--data-dir", str(data_dir)]
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [*argv, "--port", str(free_port()), *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.extend(raw.decode(errors="replace") for raw in proc.stdout or []),
        daemon=True,
    )
    reader.start()
    try:
        found = None
        while found is None:
            if proc.poll() is not None or time.monotonic() - t0 > TIMEOUT_S:
                raise SystemExit(f"demo did not print its URL:\n{''.join(lines)}")
            found = COCKPIT.search("".join(lines))
            time.sleep(0.05)
        url_s = time.monotonic() - t0
        probe = ApiProbe(found.group(1), found.group(2), found.group(3))
        while not (probe.devices_online() or 0) > 0:
            if time.monotonic() - t0 > TIMEOUT_S:
                raise SystemExit("no device online")
            time.sleep(0.1)
        online_s = time.monotonic() - t0
        t1 = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(60)
        stop_s = time.monotonic() - t1
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return {"url": url_s, "online": online_s, "stop": stop_s}


def emit(scenario: str, figures: dict[str, float]) -> None:
    refs = {"url": "", "online": "<= 60 s", "stop": ""}
    names = {"url": "to_cockpit_url", "online": "to_devices_online", "stop": "sigint_to_exit"}
    for key, value in figures.items():
        row = {
            "bench": "demo",
            "metric": f"{scenario}_{names[key]}",
            "value": round(value, 2),
            "unit": "s",
            "ref": refs[key],
        }
        print(json.dumps(row), flush=True)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="commtwin-bench-demo-") as tmp:
        data = Path(tmp) / "mosquitto"
        emit("first_run", one_run(data))
        emit("second_run", one_run(data))
        emit("amqtt_first_run", one_run(Path(tmp) / "amqtt", "--broker", "amqtt"))


if __name__ == "__main__":
    main()
