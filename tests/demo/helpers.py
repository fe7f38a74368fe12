"""Running ``commtwin demo`` in the background as a user would, and watching it."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from tests.services import ROOT, free_port

COCKPIT_LINE = re.compile(r"Cockpit:\s+(http://\S+)/cockpit/(\S+)\?key=(\S+)")
READY_S = 60.0


@dataclass(frozen=True)
class Cockpit:
    base: str  # http://host:port
    community: str
    key: str


def demo_env(**overrides: str) -> dict[str, str]:
    """The environment of a fresh shell: no COMMTWIN_* configuration unless given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMTWIN_")}
    env.update(overrides)
    return env


COMMTWIN_DEMO = (sys.executable, "-m", "commtwin", "demo")
SCRIPTS_DEMO = (str(ROOT / "scripts" / "demo"),)  # the README's first command


class DemoRun:
    """``commtwin demo ARGS`` in its own process group; output collected."""

    def __init__(
        self, args: list[str], env: Mapping[str, str], command: tuple[str, ...] = COMMTWIN_DEMO
    ) -> None:
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [*command, *args],
            cwd=ROOT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # as a shell job: Ctrl-C goes to this group
        )
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            with self._lock:
                self._lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    @property
    def output(self) -> str:
        with self._lock:
            return "\n".join(self._lines)

    def wait_for_cockpit(self, timeout: float = READY_S) -> Cockpit:
        """The URL printed in the banner (fails with the output if the demo dies)."""
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            found = COCKPIT_LINE.search(self.output)
            if found:
                return Cockpit(found.group(1), found.group(2), found.group(3))
            if self.proc.poll() is not None:
                self._reader.join(5)
                raise AssertionError(f"demo exited {self.proc.returncode}:\n{self.output}")
            time.sleep(0.2)
        raise AssertionError(f"no cockpit URL after {timeout:.0f} s:\n{self.output}")

    def process_tree(self) -> set[int]:
        """The demo, its children and grandchildren (by parent pid)."""
        try:
            me = psutil.Process(self.proc.pid)
            return {self.proc.pid, *(p.pid for p in me.children(recursive=True))}
        except psutil.NoSuchProcess:
            return set()

    def interrupt(self, sig: int = signal.SIGINT, timeout: float = 60.0) -> int:
        """Ctrl-C: SIGINT to the demo's process group (or ``sig``, e.g. SIGTERM
        as a service manager sends); returns the exit status."""
        os.killpg(self.proc.pid, sig)
        code = self.proc.wait(timeout=timeout)
        self._reader.join(5)
        return code

    def kill(self) -> None:
        """Cleanup after a failed test: whatever is left of the tree goes."""
        pids = self.process_tree()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (zombies count as gone)."""
    left = set()
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                left.add(pid)
        except psutil.NoSuchProcess:
            pass
    return left


def processes_using(path: Path) -> set[int]:
    """Processes whose command line mentions ``path`` (the demo's data dir)."""
    text = str(path)
    found = set()
    for p in psutil.process_iter(["cmdline"]):
        cmdline = p.info.get("cmdline") or []
        if any(text in part for part in cmdline):
            found.add(p.pid)
    return found


def postmaster_pid(pgdata: Path) -> int | None:
    try:
        return int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def devices_online(client: httpx.Client, cockpit: Cockpit) -> int | None:
    """``kpis.devices_online`` of the community's ``/live`` snapshot."""
    r = client.get(
        f"{cockpit.base}/v1/communities/{cockpit.community}/live",
        headers={"Authorization": f"Bearer {cockpit.key}"},
    )
    return int(r.json()["kpis"]["devices_online"]) if r.status_code == 200 else None


def wait_online(cockpit: Cockpit, started: float, timeout: float = READY_S) -> int:
    """Poll /live until devices are online; at most ``timeout`` after ``started``."""
    last: int | None = None
    with httpx.Client(timeout=5.0) as client:
        while time.monotonic() < started + timeout:
            try:
                last = devices_online(client, cockpit)
            except httpx.HTTPError:
                last = None
            if last:
                return last
            time.sleep(0.5)
    raise AssertionError(f"/live shows no device online {timeout:.0f} s after start ({last})")


def start(
    runs: list[DemoRun],
    data_dir: Path,
    env: dict[str, str],
    *extra: str,
    command: tuple[str, ...] = COMMTWIN_DEMO,
) -> DemoRun:
    run = DemoRun(["--data-dir", str(data_dir), "--port", str(free_port()), *extra], env, command)
    runs.append(run)
    return run


def check_live(run: DemoRun) -> Cockpit:
    """Devices online within 60 s (the printed key opens them) and the page served."""
    cockpit = run.wait_for_cockpit()
    assert cockpit.community == "demo"
    assert wait_online(cockpit, run.started) > 0
    live = httpx.get(
        f"{cockpit.base}/v1/communities/demo/live",
        headers={"Authorization": f"Bearer {cockpit.key}"},
        timeout=10,
    )
    snapshot = live.json()
    assert snapshot["community"] == "demo"
    assert snapshot["kpis"]["devices_total"] >= snapshot["kpis"]["devices_online"] > 0
    assert len(snapshot["buildings"]) == 21  # the generated community's
    page = httpx.get(f"{cockpit.base}/cockpit/demo", timeout=10)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<html" in page.text.lower()
    # The key is limited to the demo community: another id is hidden (404).
    other = httpx.get(
        f"{cockpit.base}/v1/communities/lanting",
        headers={"Authorization": f"Bearer {cockpit.key}"},
        timeout=10,
    )
    assert other.status_code == 404
    return cockpit


def stop_and_check_gone(
    run: DemoRun, data_dir: Path, extra: Iterable[int] = (), sig: int = signal.SIGINT
) -> None:
    """Ctrl-C; then the demo, everything it started and ``extra`` pids are gone."""
    tree = run.process_tree() | set(extra)
    assert len(tree) >= 4, f"expected the demo and its services, found {tree}"
    code = run.interrupt(sig)
    assert code == 0, run.output
    assert "demo stopped" in run.output
    assert alive(tree) == set(), f"left behind: {alive(tree)}\n{run.output}"
    assert processes_using(data_dir) == set()
