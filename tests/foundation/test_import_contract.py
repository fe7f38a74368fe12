"""The house's layering (docs/DESIGN.md), held by import-linter's contracts in pyproject.toml.

The contracts run on the tree as it is, and on a throwaway copy with one
forbidden import added per case, so a contract that stopped catching its
violation (a renamed room, a typo in a layer) fails here too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ROOTS = ("commtwin", "api", "ingest", "simulators", "twin", "schemas")
LINT = Path(sys.executable).with_name("lint-imports")
CONTRACTS = [
    c["name"]
    for c in tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "importlinter"
    ]["contracts"]
]


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT), "--no-cache", "--no-logo", str(root / "pyproject.toml")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packages' Python files and pyproject.toml, nothing else."""
    root = tmp_path_factory.mktemp("house")
    for name in ROOTS:
        shutil.copytree(
            REPO / name, root / name, ignore=shutil.ignore_patterns("*_static", "static")
        )
    shutil.copy(REPO / "pyproject.toml", root)
    return root


def test_the_tree_keeps_every_contract() -> None:
    out = lint(REPO)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "3 kept, 0 broken" in out.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        # a lower room importing a higher one
        ("twin/model/kinds.py", "import twin.community.file", "rooms of twin"),
        # two middle rooms are independent of each other
        ("twin/rules/keys.py", "import twin.incidents.events", "rooms of twin"),
        # the twin never reaches up into a service
        ("twin/live/status.py", "import api.config", "services"),
        # nor do two services import each other
        ("ingest/backoff.py", "import api.config", "services"),
        # the pure core opens no sockets
        ("schemas/__init__.py", "import paho.mqtt.client", "twin and schemas do no network I/O"),
        ("twin/scenes/periods.py", "import socket", "twin and schemas do no network I/O"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    copy: Path, module: str, line: str, contract: str
) -> None:
    path = copy / module
    original = path.read_text(encoding="utf-8")
    path.write_text(original + f"\n{line}  # the throwaway change\n", encoding="utf-8")
    try:
        out = lint(copy)
    finally:
        path.write_text(original, encoding="utf-8")
    assert out.returncode == 1, out.stdout
    # the report names the broken contract (the first, in pyproject order), then the import
    report = [
        ln.strip()
        for ln in out.stdout.split("Broken contracts", 1)[1].splitlines()
        if ln.strip().strip("-")
    ]
    assert report[0] == next(c for c in CONTRACTS if c.startswith(contract)), out.stdout
    source = module.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
    target = line.removeprefix("import ").split(".")[0]
    offence = re.compile(rf"-\s+{re.escape(source)} -> {re.escape(target)}\b")
    assert any(offence.match(ln) for ln in report), out.stdout
