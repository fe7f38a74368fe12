#!/usr/bin/env python3
"""Time to ready of ``commtwin demo`` with nothing configured (docs/demo.md).

Three runs, each in the background as a user starts it, stopped with SIGINT:
a first run on a fresh data directory (initdb of the embedded PostgreSQL,
schema, community import, key), a second run on the same directory (data
reused), and a first run with the amqtt fallback broker. Reported per run:
seconds from launch to the cockpit URL being printed (the API answers) and to
``/live`` showing online devices (target: within 60 s), and seconds from
SIGINT to the demo's exit with everything it started.

Then the closed loop (issue 13, part 5): a fresh demo left running for 10
minutes (``BENCH_DEMO_LOOP_S``) at its default speed, then the cockpit's
figures from ``/live``: the 30-day closed-loop rate (target >= 95 %) and the
overdue incidents (target: small but not zero), plus the 30-day KPIs of
``/kpis`` (incidents with a missed deadline, reported, closed) and the load
average. ``python bench/bench_demo.py loop`` runs only that part.
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

from commtwin.demo_ready import ApiProbe, get_json

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


def _launch(data_dir: Path, *extra: str) -> tuple[subprocess.Popen[bytes], list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMTWIN_")}
    argv = [sys.executable, "-m", "commtwin", "demo", "--data-dir", str(data_dir)]
    proc = subprocess.Popen(
        [*argv, "--port", str(free_port()), *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    lines: list[str] = []
    threading.Thread(
        target=lambda: lines.extend(raw.decode(errors="replace") for raw in proc.stdout or []),
        daemon=True,
    ).start()
    return proc, lines


def loop_run(data_dir: Path, wait_s: float) -> dict[str, float]:
    """The cockpit's closed-loop figures ``wait_s`` after a fresh demo was launched."""
    t0 = time.monotonic()
    proc, lines = _launch(data_dir)
    try:
        found = None
        while found is None:
            if proc.poll() is not None or time.monotonic() - t0 > TIMEOUT_S:
                raise SystemExit(f"demo did not print its URL:\n{''.join(lines)}")
            found = COCKPIT.search("".join(lines))
            time.sleep(0.1)
        base, cid, key = found.group(1), found.group(2), found.group(3)
        live: dict[str, object] = {}
        while (left := wait_s - (time.monotonic() - t0)) > 0:
            time.sleep(min(60.0, left))
            answer = get_json(f"{base}/v1/communities/{cid}/live", key, timeout=30.0)
            if answer.status == 200:
                live = answer.body["kpis"]
                print(f"  {time.monotonic() - t0:.0f} s: {live}", file=sys.stderr, flush=True)
        kpis = get_json(f"{base}/v1/communities/{cid}/kpis", key, timeout=30.0).body["total"]
        load = float(Path("/proc/loadavg").read_text().split()[1])  # 5-minute average
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    print("".join(line for line in lines if "incident history" in line), file=sys.stderr)
    return {
        "closed_loop_rate_30d": float(str(live["closed_loop_rate_30d"])),
        "incidents_overdue": float(str(live["incidents_overdue"])),
        "incidents_open": float(str(live["incidents_open"])),
        "kpi_reported_30d": float(kpis["reported"]),
        "kpi_closed_30d": float(kpis["closed"]),
        "kpi_overdue_30d": float(kpis["overdue"]),
        "load_avg_5min": load,
    }


def emit_loop(figures: dict[str, float], wait_s: float) -> None:
    load = f"load avg {figures['load_avg_5min']:.1f} on 2 cores"
    refs = {
        "closed_loop_rate_30d": f">= 0.95 after {wait_s / 60:g} min ({load})",
        "incidents_overdue": "> 0, small (open and past a deadline, as the cockpit shows)",
        "incidents_open": "report",
        "kpi_reported_30d": "report (/kpis, 30 days)",
        "kpi_closed_30d": "report",
        "kpi_overdue_30d": "report (missed a deadline at some point)",
    }
    for metric, ref in refs.items():
        value = figures[metric]
        row = {
            "bench": "demo",
            "metric": f"loop_{metric}",
            "value": round(value, 4) if metric == "closed_loop_rate_30d" else int(value),
            "unit": "" if metric == "closed_loop_rate_30d" else "incidents",
            "ref": ref,
        }
        print(json.dumps(row), flush=True)


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
    wait_s = float(os.environ.get("BENCH_DEMO_LOOP_S", "600"))
    with tempfile.TemporaryDirectory(prefix="commtwin-bench-demo-") as tmp:
        if sys.argv[1:] != ["loop"]:
            data = Path(tmp) / "mosquitto"
            emit("first_run", one_run(data))
            emit("second_run", one_run(data))
            emit("amqtt_first_run", one_run(Path(tmp) / "amqtt", "--broker", "amqtt"))
        emit_loop(loop_run(Path(tmp) / "loop", wait_s), wait_s)


if __name__ == "__main__":
    main()
