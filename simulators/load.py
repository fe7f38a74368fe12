"""`commtwin simulate load`: as many telemetry messages per second as asked.

One worker per process (``processes``), each a raw pipelined MQTT
connection (:mod:`simulators.load_worker`); with one process the worker is
a thread of this one. The parent shows progress and returns what was
actually sent and acknowledged — the asked rate is a target, the summary
is the truth.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import threading
import time
from collections.abc import MutableSequence
from typing import Any

from simulators.load_worker import (
    ACKED,
    BAD,
    FAILED,
    FIELDS,
    MAX_READINGS_PER_DEVICE_S,
    READINGS,
    SEND_MS,
    SENT,
    LoadError,
    LoadSpec,
    run_worker,
)
from simulators.progress import Progress


def _check(spec: LoadSpec) -> None:
    if spec.rate < 0:
        raise LoadError("--rate must be >= 0 (0: as fast as possible)")
    if not spec.duration > 0:
        raise LoadError("--duration must be positive")
    if not 1 <= spec.batch <= 1000:
        raise LoadError("--batch must be 1..1000 readings (the wire contract's gateway batch)")
    if not 1 <= spec.processes <= 64:
        raise LoadError("--processes must be 1..64")
    if spec.devices < spec.processes:
        raise LoadError("--devices must be at least --processes")
    if not 0 <= spec.bad_fraction < 1:
        raise LoadError("--bad-fraction must be in [0, 1)")
    per_device = spec.rate * spec.batch / spec.devices
    if per_device > MAX_READINGS_PER_DEVICE_S:
        need = int(spec.rate * spec.batch / MAX_READINGS_PER_DEVICE_S) + 1
        raise LoadError(
            f"{per_device:.0f} readings/s per device is too fast for distinct millisecond"
            f" timestamps: use --devices {need} or more"
        )


def _process_main(spec: LoadSpec, index: int, counters: Any, errors: Any) -> None:
    error = run_worker(spec, index, counters)
    if error is not None:
        errors.put(f"worker {index}: {error}")


def _totals(counters: MutableSequence[int], processes: int) -> list[int]:
    return [sum(counters[i * FIELDS + f] for i in range(processes)) for f in range(FIELDS)]


def run_load(spec: LoadSpec, *, show_progress: bool = True) -> dict[str, Any]:
    """Run the load; the summary dict is what the CLI prints as one JSON line."""
    _check(spec)
    errors: list[str] = []
    counters: MutableSequence[int]
    started = time.monotonic()
    if spec.processes == 1:
        counters = [0] * FIELDS
        result: list[str | None] = [None]

        def target() -> None:
            result[0] = run_worker(spec, 0, counters)

        workers: list[Any] = [threading.Thread(target=target, daemon=True)]
        err_queue = None
    else:
        ctx = mp.get_context("spawn")
        counters = ctx.Array("q", FIELDS * spec.processes, lock=False)
        err_queue = ctx.Queue()
        workers = [
            ctx.Process(target=_process_main, args=(spec, i, counters, err_queue), daemon=True)
            for i in range(spec.processes)
        ]
    for w in workers:
        w.start()
    progress = Progress("simulate load", enabled=show_progress)
    while any(w.is_alive() for w in workers):
        time.sleep(0.1)
        totals = _totals(counters, spec.processes)
        progress.update(sent=totals[SENT], errors=totals[FAILED])
    for i, w in enumerate(workers):
        w.join()
        code = getattr(w, "exitcode", 0)
        if code:
            errors.append(f"worker {i} exited with status {code}")
    progress.done()
    if spec.processes == 1 and result[0] is not None:
        errors.append(result[0])
    while err_queue is not None:
        try:
            errors.append(err_queue.get(timeout=0.2))
        except queue.Empty:
            break
    totals = _totals(counters, spec.processes)
    if errors and totals[SENT] == 0:
        raise LoadError(errors[0])
    # Workers time their own sending (process start-up is not sending time).
    send_s = max(counters[i * FIELDS + SEND_MS] for i in range(spec.processes)) / 1000
    total_s = time.monotonic() - started
    return {
        "mode": "load",
        "asked_rate": spec.rate,
        "duration_s": spec.duration,
        "processes": spec.processes,
        "batch": spec.batch,
        "devices": spec.devices,
        "sent": totals[SENT],
        "acked": totals[ACKED],
        "errors": totals[FAILED] + (totals[SENT] - totals[ACKED] - totals[FAILED]),
        "readings": totals[READINGS],
        "bad": totals[BAD],
        "rate": round(totals[SENT] / send_s, 1) if send_s > 0 else 0.0,
        "send_s": round(send_s, 3),
        "readings_rate": round(totals[READINGS] / send_s, 1) if send_s > 0 else 0.0,
        "elapsed_s": round(total_s, 3),
        "worker_errors": errors,
    }
