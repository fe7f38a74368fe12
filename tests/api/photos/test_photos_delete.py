"""Deleting photos through a real server, PostgreSQL, directory and S3 endpoint.

Only whoever uploaded a photo deletes it (others who see it: 403; those who
do not: 404); its objects go before its row, so a 204 means the bytes are
gone, and a store that cannot be reached changes nothing (503). The S3
store's delete is in tests/api/photos/test_photos_api.py's whole-path test.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import psycopg

from api.app import create_app
from api.object_store import S3Config
from tests.api.conftest import serve
from tests.api.photos.photo_fixtures import (
    World,
    add_incident,
    api_config,
    photo_rows,
    upload,
)
from tests.photo_samples import jpeg
from tests.services import free_port


def test_a_delete_while_the_store_is_away_answers_503_and_keeps_the_photo(
    http: httpx.Client, world: World, tmp_path: Path
) -> None:
    dead = S3Config("gone", endpoint_url=f"http://127.0.0.1:{free_port()}", region="us-east-1",
                    access_key_id="testing", secret_access_key="testing")  # fmt: skip
    incident = add_incident(world.url, "delete-store-down", unit="1-101")
    photo = upload(http, world.people["resident"], incident, jpeg()).json()
    with (
        serve(create_app(api_config(world.url, tmp_path, dead))) as api,
        httpx.Client(base_url=api, timeout=60) as away,
    ):
        r = away.delete(photo["url"], headers=world.people["resident"])
    assert r.status_code == 503
    assert photo_rows(world.url, incident) == 1
    served = http.get(photo["url"], headers=world.people["resident"])
    assert served.status_code == 200  # its store still has it


def test_whoever_uploaded_a_photo_deletes_it_and_its_files_go_with_it(
    http: httpx.Client, world: World
) -> None:
    incident = add_incident(world.url, "tap-101", unit="1-101")
    people = world.people
    mine = upload(http, people["resident"], incident, jpeg()).json()["id"]
    work = upload(http, people["worker_g1"], incident, jpeg()).json()["id"]
    with psycopg.connect(world.url) as conn:
        keys = conn.execute(
            "SELECT object_key, thumb_key FROM photos WHERE id = %s", (mine,)
        ).fetchone()
    assert keys is not None
    files = [world.photo_dir / k for k in keys]
    assert all(f.is_file() for f in files)
    path = f"/v1/me/incidents/{incident}/photos/{mine}"
    for who, expect in (("neighbour", 404), ("worker_g2", 404), ("worker_g1", 403)):
        assert http.delete(path, headers=people[who]).status_code == expect, who
    no_csrf = {"Cookie": people["resident"]["Cookie"]}
    assert http.delete(path, headers=no_csrf).status_code == 403
    assert http.delete(f"/v1/me/incidents/{incident}/photos/{work}",
                       headers=people["resident"]).status_code == 403  # fmt: skip
    assert all(f.is_file() for f in files)  # nothing refused took anything

    assert http.delete(path, headers=people["resident"]).status_code == 204
    assert not any(f.exists() for f in files)
    assert http.get(path, headers=people["resident"]).status_code == 404
    listed = http.get(f"/v1/me/incidents/{incident}/photos", headers=people["resident"]).json()
    assert [p["id"] for p in listed["data"]] == [work]
    assert http.delete(path, headers=people["resident"]).status_code == 404
    # The worker's own photo is the worker's to delete.
    work_path = f"/v1/me/incidents/{incident}/photos/{work}"
    assert http.delete(work_path, headers=people["worker_g1"]).status_code == 204
