"""The people's bench's samples and the figures it prints from them (JSON lines).

Apart from bench/bench_people.py, which drives the run, so each reads on its own.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
from dataclasses import dataclass, field

import psycopg

PEAK_PER_HOUR = 300


def emit(metric: str, value: float, unit: str, ref: str) -> None:
    row = {"bench": "people", "metric": metric, "value": round(value, 2), "unit": unit}
    print(json.dumps({**row, "ref": ref}), flush=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


@dataclass
class Samples:
    report_ms: list[float] = field(default_factory=list)
    upload_ms: list[float] = field(default_factory=list)
    after_sent_ms: list[float] = field(default_factory=list)
    late_ms: list[float] = field(default_factory=list)  # sent after its scheduled time
    statuses: dict[str, int] = field(default_factory=dict)
    loads: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, what: str) -> None:
        with self.lock:
            self.statuses[what] = self.statuses.get(what, 0) + 1


def report(out: Samples, polled: dict[str, float], *, a: argparse.Namespace, reports: int,
           seconds: float, listed: list[int], mean_kb: float, url: str) -> None:  # fmt: skip
    loads = out.loads or [os.getloadavg()[0]]
    busy = (f"load avg {min(loads):.1f}-{max(loads):.1f} (mean {statistics.mean(loads):.1f})"
            f" on {os.cpu_count()} cores")  # fmt: skip
    factor = a.rate / PEAK_PER_HOUR
    shape = (f"{reports} reports at {a.rate:,.0f}/h = {factor:g}x the peak of"
             f" {PEAK_PER_HOUR}/h, over {seconds / 60:.1f} min")  # fmt: skip
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(out.statuses.items()))
    emit("reports_sent", len(out.report_ms), "reports", f"{shape} ({statuses})")
    emit("report_p50_ms", statistics.median(out.report_ms), "ms", "report")
    emit("report_p99_ms", percentile(out.report_ms, 0.99), "ms",
         f"<= 300, POST until 201, photo aside ({busy})")  # fmt: skip
    emit("report_max_ms", max(out.report_ms), "ms", "report")
    emit("send_late_p99_ms", percentile(out.late_ms, 0.99), "ms", "report (this process's lag)")
    photo = f"{a.megapixels:g} MP JPEG of {mean_kb:,.0f} KiB, transfer included"
    emit("photo_upload_p50_ms", _median(out.upload_ms), "ms", f"report ({photo})")
    emit("photo_upload_p99_ms", percentile(out.upload_ms, 0.99), "ms", "report")
    server = "last byte sent -> 201: checks, re-encoding, thumbnail, storing"
    emit("photo_after_sent_p50_ms", _median(out.after_sent_ms), "ms", f"report ({server})")
    emit("photo_after_sent_p99_ms", percentile(out.after_sent_ms, 0.99), "ms", "report")
    if polled:
        polling = f"{a.pollers} workers polling every {a.poll_s:g} s ({polled['bad']:.0f} non-2xx)"
        emit("task_list_req_per_s", polled["rps"], "req/s", polling)
        tasks = ", ".join(map(str, listed))
        emit(
            "task_list_p50_ms", polled["p50"], "ms", f"report (tasks per grid at the end: {tasks})"
        )
        emit("task_list_p99_ms", polled["p99"], "ms", f"<= 100 ({busy})")
    with psycopg.connect(url, autocommit=True) as conn:
        counts = [
            (conn.execute(sql).fetchone() or (0,))[0]
            for sql in ("SELECT count(*) FROM photos", "SELECT count(*) FROM dead_letters",
                        "SELECT count(*) FROM readings")
        ]  # fmt: skip
    emit(
        "photos_stored",
        float(counts[0]),
        "photos",
        f"= uploads answered 201 ({len(out.upload_ms)})",
    )
    emit("dead_letters", float(counts[1]), "", "0")
    feed = f"the realistic feed at {factor:g}x, after 7 days of incident history"
    emit("feed_readings_stored", float(counts[2]), "readings", feed)


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
