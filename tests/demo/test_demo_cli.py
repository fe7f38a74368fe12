"""`commtwin demo` refusing to start: one line, exit status 2, nothing left running."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from tests.demo.helpers import demo_env, processes_using
from tests.services import ROOT


def demo(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "commtwin", "demo", *args],
        cwd=ROOT,
        env=demo_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_help_names_every_option_and_the_embedded_defaults() -> None:
    out = demo("--help")
    assert out.returncode == 0
    for option in ("--port", "--data-dir", "--speed", "--no-simulator", "--broker", "--host"):
        assert option in out.stdout
    assert "COMMTWIN_DATABASE_URL" in out.stdout
    assert "embedded PostgreSQL" in out.stdout


def test_bad_option_values_are_refused_by_the_parser(tmp_path: Path) -> None:
    for args in (["--speed", "0"], ["--port", "70000"], ["--broker", "rabbit"]):
        out = demo("--data-dir", str(tmp_path), *args)
        assert out.returncode == 2, args
        assert "usage:" in out.stderr
    assert not (tmp_path / "pg").exists()


def test_a_busy_api_port_stops_it_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = demo("--data-dir", str(tmp_path / "d"), "--port", str(port))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert lines == [
        f"commtwin: demo: API port 127.0.0.1:{port} is not available"
        " (Address already in use); choose another with --port"
    ], out.stderr
    assert not (tmp_path / "d" / "pg").exists()
    assert processes_using(tmp_path) == set()


def test_a_damaged_state_file_is_named_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("{not json")
    out = demo("--data-dir", str(tmp_path), "--port", "0", "--no-simulator")
    assert out.returncode == 2
    assert "state.json" in out.stderr
    assert "delete it" in out.stderr
    assert out.stderr.count("\n") == 1, out.stderr
    assert not (tmp_path / "pg").exists()
