"""The demo's 30-day readings backfill (docs/demo.md, *A month of readings*).

A scratch plain-mode database gets the demo community (seed 1) imported, then
``commtwin.demo_readings.write_readings`` writes the 30 days before "now
minus 45 min" (where the demo's feed starts). Measured: wall time of the
write, the CPU it took (this process, plus the PostgreSQL backends serving
the bench's database, read from /proc while it runs: on a shared machine
their sum is what a quiet one would need, less I/O waits), the readings
written, the time a repeat takes (it writes nothing), and the load average.
Target: ≤ 30 s on a quiet 2-core machine.

    python -m bench.bench_demo_readings [--days 30]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

from bench.bench_api_history import SERVER_URL, _db_url
from commtwin import db, demo_setup
from commtwin.demo_readings import write_readings

DB_NAME = "commtwin_bench_demo_readings"


def _log(message: str) -> None:
    print(f"[bench_demo_readings] {message}", file=sys.stderr, flush=True)


class BackendCpu:
    """CPU seconds of the PostgreSQL backends connected to ``DB_NAME``, polled."""

    def __init__(self) -> None:
        self.seconds: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        with psycopg.connect(SERVER_URL, autocommit=True) as conn:
            while not self.stop.wait(0.2):
                pids = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s", (DB_NAME,)
                ).fetchall()
                for (pid,) in pids:
                    try:
                        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    self.seconds[pid] = (int(fields[11]) + int(fields[12])) / tick

    def __enter__(self) -> BackendCpu:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.3)
        self.stop.set()
        self.thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=30.0)
    args = parser.parse_args()
    url = _db_url(DB_NAME)
    with psycopg.connect(SERVER_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'.encode())
        admin.execute(f'CREATE DATABASE "{DB_NAME}"'.encode())
    try:
        db.upgrade(url, prefer="plain")
        with tempfile.TemporaryDirectory(prefix="commtwin-bench-readings-") as tmp:
            path = Path(tmp) / "demo-community.json"
            model = demo_setup.write_model(path)
            demo_setup.import_model(url, path, model)
            end = float(int(time.time()) - 45 * 60)
            start = end - args.days * 86400
            load_before = os.getloadavg()
            cpu0 = time.process_time()
            with BackendCpu() as backends:
                first = write_readings(url, path, "commtwin/v1", start, end, seed=demo_setup.SEED)
            cpu = time.process_time() - cpu0
            pg_cpu = sum(backends.seconds.values())
            load_after = os.getloadavg()
            _log(first.text())
            again = write_readings(url, path, "commtwin/v1", start, end, seed=demo_setup.SEED)
            _log(f"repeat: {again.text()}")
    finally:
        with psycopg.connect(SERVER_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'.encode())
    load = f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after"
    for metric, value, unit in (
        ("backfill_wall", round(first.seconds, 1), "s"),
        ("backfill_cpu_python", round(cpu, 1), "s"),
        ("backfill_cpu_postgres", round(pg_cpu, 1), "s"),
        ("backfill_readings", first.readings, "readings"),
        ("backfill_devices", first.devices, "devices"),
        ("repeat_written", again.readings, "readings"),
        ("repeat_wall", round(again.seconds, 1), "s"),
    ):
        ref = f"{args.days:g} days, demo community seed 1, plain PostgreSQL; {load}"
        print(json.dumps({"bench": "demo_readings", "metric": metric, "value": value,
                          "unit": unit, "ref": ref}), flush=True)  # fmt: skip
    return 0 if again.readings == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
