"""The command line as a user runs it: one-line errors, db upgrade/info."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
import pytest


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("COMMTWIN_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "commtwin", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
        check=False,
    )


def test_help_lists_subcommands() -> None:
    out = run("--help")
    assert out.returncode == 0
    for name in ("db", "ingest", "community", "api", "simulate", "demo", "keys", "history"):
        assert name in out.stdout


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("COMMTWIN_DATABASE_URL", "mysql://x"),
        ("COMMTWIN_MQTT_URL", "mqtt://host:notaport"),
        ("COMMTWIN_RETENTION_DAYS", "-3"),
    ],
)
def test_bad_setting_is_one_line_naming_the_variable(var: str, value: str) -> None:
    out = run("db", "info", env={var: value})
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1, out.stderr
    assert var in out.stderr
    assert "Traceback" not in out.stderr


def test_unreachable_database_is_one_line() -> None:
    out = run("db", "upgrade", env={"COMMTWIN_DATABASE_URL": "postgresql://u@127.0.0.1:1/x"})
    assert out.returncode == 2
    assert out.stderr.startswith("commtwin: cannot connect to the database")
    assert out.stderr.count("\n") == 1


def test_upgrade_twice_then_info_shows_plain_mode(empty_database_url: str) -> None:
    env = {"COMMTWIN_DATABASE_URL": empty_database_url}
    # Plain mode asked for: the same on a server with or without TimescaleDB.
    first = run("db", "upgrade", "--storage", "plain", env=env)
    assert first.returncode == 0, first.stderr
    assert "applied 0001_core" in first.stdout
    second = run("db", "upgrade", env=env)
    assert second.returncode == 0
    assert "nothing to apply" in second.stdout
    assert "storage mode: plain" in second.stdout
    info = run("db", "info", env=env)
    assert "plain PostgreSQL" in info.stdout
    assert "partitions:          readings:" in info.stdout


def test_the_storage_mode_is_kept_and_another_is_refused_in_one_line(
    empty_database_url: str,
) -> None:
    env = {"COMMTWIN_DATABASE_URL": empty_database_url}
    assert run("db", "upgrade", "--storage", "plain", env=env).returncode == 0
    out = run("db", "upgrade", "--storage", "timescale", env=env)
    assert out.returncode == 2
    assert "already in plain mode" in out.stderr
    assert out.stderr.count("\n") == 1
    assert run("db", "upgrade", "--storage", "plain", env=env).returncode == 0


def test_storage_timescale_needs_the_extension(empty_database_url: str) -> None:
    env = {"COMMTWIN_DATABASE_URL": empty_database_url}
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        offered = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
        ).fetchone()
    out = run("db", "upgrade", "--storage", "timescale", env=env)
    if offered:  # a TimescaleDB server: the Timescale path
        assert out.returncode == 0, out.stderr
        assert "storage mode: timescale" in out.stdout
    else:
        assert out.returncode == 2
        assert "does not offer the timescaledb extension" in out.stderr
        assert out.stderr.count("\n") == 1


def test_newer_schema_is_refused_in_one_line(empty_database_url: str) -> None:
    env = {"COMMTWIN_DATABASE_URL": empty_database_url}
    assert run("db", "upgrade", env=env).returncode == 0
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (9999, 'future', 'plain')")
    out = run("db", "upgrade", env=env)
    assert out.returncode == 2
    assert "schema version 9999" in out.stderr
    assert out.stderr.count("\n") == 1
