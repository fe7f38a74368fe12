"""The API as a child process on a fixed port, for stop/start in browser tests."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from tests.services import ROOT, free_port, wait_for_port


class ApiServer:
    """``python -m tests.web.serve`` on one port for the whole test run."""

    def __init__(
        self,
        database_url: str,
        port: int | None = None,
        *,
        # (broker URL, topic root, photo directory) for people's reports and photos
        people: tuple[str, str, str] | None = None,
    ) -> None:
        self.database_url = database_url
        self.people = people
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = Path(tempfile.mkstemp(prefix="commtwin-api-", suffix=".log")[1])
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ApiServer:
        with self.log.open("ab") as log:
            self._proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.web.serve",
                    self.database_url,
                    str(self.port),
                    *(self.people or ()),
                ],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for_port(self.port, timeout=30)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"API did not start: {self.log.read_text()[-2000:]}") from None
        return self

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
