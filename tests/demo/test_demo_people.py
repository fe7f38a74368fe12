"""The demo's people: made once in a real database, signed in through the API,
refreshed (not duplicated) by a second run, with a password of the cockpit key's."""

from __future__ import annotations

from pathlib import Path

import httpx
import psycopg

from api.app import create_app
from api.config import ApiConfig
from commtwin import demo_setup
from commtwin.demo_people import demo_password, ensure_people
from tests.api.conftest import serve
from tests.services import scratch_database


def test_demo_people_sign_in_and_a_second_run_changes_only_the_password(tmp_path: Path) -> None:
    with scratch_database("commtwin_demo_people") as url:
        demo_setup.upgrade_schema(url, retention_days=30)
        model = demo_setup.write_model(tmp_path / "demo-community.json")
        demo_setup.import_model(url, tmp_path / "demo-community.json", model)
        password, people = ensure_people(url, "ctk_first")
        assert password == demo_password("ctk_first")
        roles = [p.role for p in people]
        assert roles.count("office") == 1
        assert roles.count("worker") >= 1
        assert roles.count("resident") >= 2
        with psycopg.connect(url) as conn:
            used = conn.execute("SELECT count(*) FROM invites WHERE used_by IS NOT NULL").fetchone()
            assert used == (roles.count("resident"),)  # residents joined with invites
        again, same = ensure_people(url, "ctk_second")
        assert again != password
        assert [p.login for p in same] == [p.login for p in people]
        with psycopg.connect(url) as conn:
            count = conn.execute("SELECT count(*) FROM accounts").fetchone()
            assert count == (len(people),)
        with serve(create_app(ApiConfig(url, rate_per_s=1e6, rate_burst=1e6))) as base:
            for p in people:
                body = {"community": "demo", "login": p.login, "password": again}
                r = httpx.post(f"{base}/v1/session", json=body, timeout=30)
                assert r.status_code == 201, (p, r.text)
                assert r.json()["person"]["role"] == p.role
            old = {"community": "demo", "login": "office", "password": password}
            assert httpx.post(f"{base}/v1/session", json=old, timeout=30).status_code == 401
