"""`commtwin simulate ...` as a user runs it: JSON summaries, one-line errors."""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path

from simulators.bad_input import BAD_KINDS
from tests.services import Broker
from tests.simulators.helpers import run_cli

UNREACHABLE = {"COMMTWIN_MQTT_URL": "mqtt://127.0.0.1:9"}


def _one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_community_writes_the_same_file_for_the_same_seed(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    out = run_cli("simulate", "community", "--buildings", "4", "--seed", "7", "--out", str(a))
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["buildings"] == 5
    assert summary["devices"] > 100
    assert (
        run_cli(
            "simulate", "community", "--buildings", "4", "--seed", "7", "--out", str(b)
        ).returncode
        == 0
    )
    assert a.read_bytes() == b.read_bytes()


def test_bad_arguments_and_files_are_one_line(tmp_path: Path) -> None:
    missing, out = str(tmp_path / "nope.json"), str(tmp_path / "o.json")
    line = _one_line_error(run_cli("simulate", "community", "--from-model", missing, "--out", out))
    assert line.startswith("commtwin: simulate:")
    assert "nope.json" in line
    assert _one_line_error(run_cli("simulate", "community", "--buildings", "0", "--out", "x.json"))
    bad_duration = run_cli("simulate", "run", "--duration", "soon")
    assert bad_duration.returncode == 2
    assert "not a duration" in bad_duration.stderr
    model = tmp_path / "m.json"
    model.write_text("{}")
    assert "no devices" in _one_line_error(
        run_cli("simulate", "run", "--model", str(model), "--duration", "1")
    )


def test_unreachable_broker_is_one_line(tmp_path: Path) -> None:
    for args in (
        ("simulate", "run", "--duration", "1", "--quiet"),
        ("simulate", "load", "--rate", "10", "--duration", "1", "--quiet"),
        ("simulate", "bad"),
        ("simulate", "record", "--out", str(tmp_path / "r.jsonl"), "--duration", "1"),
    ):
        line = _one_line_error(run_cli(*args, env=UNREACHABLE, timeout=60))
        assert "cannot connect to the MQTT broker" in line, args


def test_load_bad_record_and_replay_through_the_cli(broker: Broker, tmp_path: Path) -> None:
    root = f"cli{secrets.token_hex(3)}/v1"
    env = {"COMMTWIN_MQTT_URL": broker.url, "COMMTWIN_TOPIC_ROOT": root}
    load = run_cli("simulate", "load", "--rate", "1000", "--duration", "1", "--quiet", env=env)
    assert load.returncode == 0, load.stderr
    summary = json.loads(load.stdout)
    assert summary["acked"] == summary["sent"] >= 900

    expect = tmp_path / "expect.jsonl"
    bad = run_cli("simulate", "bad", "--expect", str(expect), env=env)
    assert bad.returncode == 0, bad.stderr
    lines = [json.loads(x) for x in expect.read_text().splitlines()]
    assert [x["reason"] for x in lines] == list(BAD_KINDS)
    assert json.loads(bad.stdout)["sent"] == len(BAD_KINDS)

    # Retained status messages survive in the broker: a recording sees them, a replay repeats them.
    rec = tmp_path / "rec.jsonl"
    run_cli(
        "simulate", "run", "--duration", "2", "--speed", "600", "--quiet", "--seed", "3", env=env
    )
    out = run_cli("simulate", "record", "--out", str(rec), "--duration", "2", "--quiet", env=env)
    assert out.returncode == 0, out.stderr
    recorded = json.loads(out.stdout)["messages"]
    assert recorded > 100  # the retained statuses of the default community's devices
    replayed = run_cli("simulate", "replay", str(rec), "--speed", "0", "--quiet", env=env)
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout)["sent"] == recorded
