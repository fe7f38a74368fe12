"""What the demo asks of the operating system: ports, its data directory's lock, signals.

Kept apart from :mod:`commtwin.demo` so that the run's steps read on their own.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType


class DemoError(Exception):
    """The demo cannot run; the message says why (printed as one line)."""


class StopRequestedError(Exception):
    """SIGTERM: stop as for Ctrl-C."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def check_port_free(host: str, port: int, what: str, option: str) -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise DemoError(
                f"{what} port {host}:{port} is not available ({exc.strerror}); "
                f"choose another with {option}"
            ) from None


@contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[None]:
    """One demo per data directory: two would share one database and broker."""
    lock_path = data_dir / "demo.lock"
    with open(lock_path, "a+", encoding="utf-8") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            other = f.read().strip() or "?"
            raise DemoError(
                f"another demo (pid {other}) is using {data_dir}; stop it or pass --data-dir"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        yield


@contextmanager
def stop_signals() -> Iterator[None]:
    """SIGINT (Ctrl-C) and SIGTERM stop the demo cleanly. SIGINT explicitly:
    a shell starts background jobs with SIGINT ignored, and Python keeps it
    so, yet ``kill -INT`` must stop the demo as Ctrl-C does."""

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise StopRequestedError

    previous = {
        signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler),
        signal.SIGTERM: signal.signal(signal.SIGTERM, on_term),
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def no_interrupts() -> Iterator[None]:
    """Shutting down: a second Ctrl-C must not leave children behind."""
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False
