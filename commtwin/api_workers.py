"""Several API worker processes on one port, each with its own live state.

One Python process serves ``/live`` on one core; with hundreds of pollers a
single event loop also makes every request wait behind whatever it is doing
at that moment (a re-render after a change, a garbage collection), which is
what the p99 tail is made of. ``commtwin api --workers N`` runs N processes:
the parent binds N listening sockets to the same address with
``SO_REUSEPORT`` (the kernel spreads new connections over them evenly,
by connection hash, so 200 keep-alive pollers land about 100 per worker on
two), forks one worker per socket, and supervises them: a worker that dies is
started again, SIGTERM/SIGINT stop them all.

Each worker builds its own live state from the database and follows the
change log with its own LISTEN link, exactly as separate API replicas do:
versions are change-log sequences, so ETags agree across workers
(tests/api/test_api_workers.py).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from types import FrameType

log = logging.getLogger("commtwin.api")

# A worker that keeps dying is restarted at most this often.
RESTART_EVERY_S = 1.0
# Exit status of a worker that could not start (as uvicorn's own): not restarted.
STARTUP_FAILURE = 3


def default_workers(cpus: int | None = None) -> int:
    """One worker per core, at most two: each holds every community's live state.

    >>> default_workers(1), default_workers(2), default_workers(16)
    (1, 2, 2)
    """
    return max(1, min(2, cpus if cpus is not None else (os.cpu_count() or 1)))


def shared_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` listening sockets on one address (port 0: one free port for all)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    family, kind, proto, _, address = infos[0]
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(address)
            # Port 0 picks a port once; the other workers join that one.
            address = sock.getsockname()
            sock.listen(2048)
            sock.set_inheritable(True)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _worker(
    sockets: list[socket.socket], index: int, serve: Callable[[socket.socket], None]
) -> None:
    # The others' sockets belong to the others (and to the parent, for restarts).
    for i, sock in enumerate(sockets):
        if i != index:
            sock.close()
    serve(sockets[index])


def supervise(
    sockets: list[socket.socket],
    serve: Callable[[socket.socket], None],
) -> int:
    """Run ``serve(sock)`` in one forked process per socket until told to stop.

    0 once stopped by a signal; 1 when a worker exits with :data:`STARTUP_FAILURE`.
    """
    # Forked, not spawned: the children start with the parent's imports and
    # inherit their listening socket as is. No thread has started yet here.
    ctx = multiprocessing.get_context("fork")
    stopping = False

    def start(index: int) -> BaseProcess:
        proc = ctx.Process(
            target=_worker, args=(sockets, index, serve), name=f"commtwin-api-{index}"
        )
        proc.start()
        return proc

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    workers = [start(i) for i in range(len(sockets))]
    started = [time.monotonic()] * len(workers)
    try:
        while not stopping:
            time.sleep(0.2)
            for i, proc in enumerate(workers):
                if proc.is_alive() or stopping:
                    continue
                if proc.exitcode == STARTUP_FAILURE:
                    log.error("api worker %d could not start; stopping", i)
                    return 1
                log.warning("api worker %d (pid %s) exited %s; restarting", i, proc.pid,
                            proc.exitcode)  # fmt: skip
                wait = RESTART_EVERY_S - (time.monotonic() - started[i])
                if wait > 0:
                    time.sleep(wait)
                workers[i] = start(i)
                started[i] = time.monotonic()
    finally:
        for proc in workers:
            if proc.is_alive() and proc.pid is not None:
                os.kill(proc.pid, signal.SIGTERM)
        for proc in workers:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
                proc.join()
        for sock in sockets:
            sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
