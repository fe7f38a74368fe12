"""The page's pure modules (frame fit, polling states, SLA, model) under ``node --test``.

Node is already needed for ``npm ci``; these run in well under a second and
pin the logic that the browser tests only see through pixels and texts.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.services import ROOT

JS_TESTS = ROOT / "tests" / "web" / "js"


def test_cockpit_modules_pass_their_node_tests() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node not found: it is required to install and test the cockpit")
    files = sorted(str(p) for p in JS_TESTS.glob("*.test.mjs"))
    assert len(files) >= 4
    out = subprocess.run(
        [node, "--test", *files], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "# fail 0" in out.stdout
