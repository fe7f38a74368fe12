"""Child processes of ``commtwin demo``: started in their own process groups,
stopped with SIGTERM → wait → SIGKILL, output kept in log files.

Each child gets its own session (so a Ctrl-C at the terminal reaches only the
demo, which then stops the children in order) and, on Linux, asks the kernel
to send it SIGTERM if the demo dies without cleaning up (SIGKILL, crash).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True, slots=True)
class ChildSpec:
    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str]
    log: Path


class Child:
    """A running child process and its log file."""

    def __init__(self, spec: ChildSpec, proc: subprocess.Popen[bytes], log: IO[bytes]) -> None:
        self.spec = spec
        self.proc = proc
        self._log = log

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pid(self) -> int:
        return self.proc.pid

    def exited(self) -> int | None:
        """The exit status once the process has ended, else None."""
        return self.proc.poll()

    def signal_group(self, sig: int) -> None:
        """Signal the child's whole process group (its own children too)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)

    def close_log(self) -> None:
        self._log.close()


def _die_with_parent() -> None:  # pragma: no cover - runs in the forked child
    """Linux: SIGTERM this child when the demo process goes away."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def start_child(spec: ChildSpec) -> Child:
    spec.log.parent.mkdir(parents=True, exist_ok=True)
    log = open(spec.log, "ab")  # noqa: SIM115 - lives as long as the child; Child.close_log
    log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(spec.argv)}\n".encode())
    log.flush()
    try:
        proc = subprocess.Popen(
            spec.argv,
            env=dict(spec.env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
        )
    except OSError:
        log.close()
        raise
    return Child(spec, proc, log)


def stop_children(children: Iterable[Child], timeout: float) -> dict[str, int]:
    """SIGTERM every child's group at once, wait up to ``timeout`` seconds, then
    SIGKILL the groups still there. Returns each child's exit status."""
    running = list(children)
    for child in running:
        if child.exited() is None:
            child.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    codes: dict[str, int] = {}
    for child in running:
        try:
            codes[child.name] = child.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.signal_group(signal.SIGKILL)
            codes[child.name] = child.proc.wait()
        # Whatever the child left in its group (a worker it spawned) goes too.
        child.signal_group(signal.SIGKILL)
        child.close_log()
    return codes


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log file (for the one message when a child dies)."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 8192))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
