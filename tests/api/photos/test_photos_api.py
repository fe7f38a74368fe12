"""Photos through a real server, a real PostgreSQL, a real directory and a real S3 endpoint.

Each bad upload is refused with its reason and leaves no row and no file;
metadata never reaches the store; only those who may see the incident read
its photos (everyone else: 404); resends are idempotent; the limits hold.
"""

from __future__ import annotations

import io
import socket
import threading
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg
from PIL import Image

from api.app import create_app
from api.object_store import S3Config
from tests.api.conftest import serve
from tests.api.photos.photo_fixtures import (
    A,
    B,
    World,
    add_incident,
    api_config,
    bucket_keys,
    files_under,
    moto_s3,
    photo_rows,
    upload,
)
from tests.photo_samples import BAD_UPLOADS, MAKER, BadUpload, heic, jpeg, png, private_jpeg
from tests.services import free_port


def test_every_bad_upload_is_refused_with_its_reason_and_nothing_is_stored(
    http: httpx.Client, world: World
) -> None:
    incident = add_incident(world.url, "bad-uploads", unit="1-101")
    before = files_under(world.photo_dir)
    assert len(BAD_UPLOADS) >= 10
    for bad in BAD_UPLOADS:
        r = upload(http, world.people["resident"], incident, bad.data,
                   filename=bad.filename, content_type=bad.content_type)  # fmt: skip
        assert r.status_code == bad.status, (bad.name, r.text)
        assert r.json()["detail"].startswith(f"{bad.reason}: "), (bad.name, r.text)
    assert photo_rows(world.url, incident) == 0
    assert files_under(world.photo_dir) == before
    ok = upload(http, world.people["resident"], incident, jpeg())
    assert ok.status_code == 201, ok.text  # the refusals did not count towards the limit


def test_a_50_mb_body_is_refused_before_it_is_read(world: World) -> None:
    """413 on the headers alone: the server answers while the body is still unsent."""
    parts = urlsplit(world.api)
    assert parts.hostname is not None
    assert parts.port is not None
    incident = add_incident(world.url, "huge", unit="1-101")
    cookie = world.people["resident"]["Cookie"]
    head = (
        f"POST /v1/me/incidents/{incident}/photos HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Cookie: {cookie}\r\nContent-Type: multipart/form-data; boundary=x\r\n"
        f"Content-Length: {50 * 1024 * 1024}\r\n\r\n"
    )
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as s:
        s.sendall(head.encode() + b"--x\r\n")
        answer = s.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 413"), answer
    assert "too_large" in answer
    # Every other route keeps its small limit.
    with httpx.Client(base_url=world.api, timeout=30) as http:
        big = http.post("/v1/session", content=b"{" + b" " * (100 * 1024) + b"}")
        assert big.status_code == 413


def _image(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_metadata_is_stripped_and_the_photo_is_served_to_those_who_may_see_it(
    http: httpx.Client, world: World
) -> None:
    incident = add_incident(world.url, "leak-101", unit="1-101")
    r = upload(http, world.people["resident"], incident, private_jpeg((640, 480)))
    assert r.status_code == 201, r.text
    photo = r.json()
    assert photo["stage"] == "report"
    assert (photo["width"], photo["height"], photo["content_type"]) == (480, 640, "image/jpeg")
    assert photo["url"] == f"/v1/me/incidents/{incident}/photos/{photo['id']}"
    for path in files_under(world.photo_dir):  # what the store holds says nothing personal
        assert MAKER.encode() not in path.read_bytes()
        assert b"Exif\0\0" not in path.read_bytes()
    for who in ("resident", "worker_g1", "office"):
        got = http.get(photo["url"], headers=world.people[who])
        assert got.status_code == 200, (who, got.text)
        assert got.headers["content-type"] == "image/jpeg"
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["cache-control"].startswith("private")
        image = _image(got.content)
        assert not image.getexif()
        assert not image.getexif().get_ifd(0x8825)
        assert image.size == (480, 640)
        assert len(got.content) == photo["bytes"]
        thumb = http.get(photo["thumb_url"], headers=world.people[who])
        assert thumb.headers["content-type"] == "image/jpeg"
        assert max(_image(thumb.content).size) == 320
        listed = http.get(f"/v1/me/incidents/{incident}/photos", headers=world.people[who])
        assert [p["id"] for p in listed.json()["data"]] == [photo["id"]]
    cockpit = f"/v1/communities/{A}/incidents/{incident}/photos"
    listed = http.get(cockpit, headers=world.keys["reader_a"])
    assert listed.status_code == 200
    assert listed.json()["data"][0]["url"] == f"{cockpit}/{photo['id']}"
    got = http.get(f"{cockpit}/{photo['id']}", headers=world.keys["reader_a"])
    assert got.content == http.get(photo["url"], headers=world.people["office"]).content
    thumb = http.get(f"{cockpit}/{photo['id']}/thumb", headers=world.keys["reader_a"])
    assert thumb.status_code == 200
    assert thumb.headers["content-type"] == "image/jpeg"


def test_nobody_else_reads_or_uploads_and_each_gets_404(http: httpx.Client, world: World) -> None:
    mine = add_incident(world.url, "door-101", unit="1-101")
    theirs = add_incident(world.url, "door-102", unit="1-102")
    grid2 = add_incident(world.url, "lobby-g2", grid="g2")
    pid = upload(http, world.people["resident"], mine, jpeg()).json()["id"]
    people = world.people
    for who, path in (
        ("neighbour", f"/v1/me/incidents/{mine}/photos/{pid}"),  # another household, by id
        ("neighbour", f"/v1/me/incidents/{theirs}/photos/{pid}"),  # through their own report
        ("neighbour", f"/v1/me/incidents/{mine}/photos"),
        ("worker_g2", f"/v1/me/incidents/{mine}/photos/{pid}"),  # another grid
        ("worker_g2", f"/v1/me/incidents/{mine}/photos/{pid}/thumb"),
        ("resident", f"/v1/me/incidents/{mine}/photos/{pid + 1000}"),  # unknown photo
        ("resident", "/v1/me/incidents/no-such/photos"),  # unknown incident
        ("office", "/v1/me/incidents/b-incident/photos"),  # another community's
    ):
        assert http.get(path, headers=people[who]).status_code == 404, (who, path)
    for who, incident in (("neighbour", mine), ("worker_g2", mine), ("worker_g1", grid2),
                          ("resident", theirs), ("office", "b-incident")):  # fmt: skip
        assert upload(http, people[who], incident, jpeg()).status_code == 404, (who, incident)
    assert upload(http, people["worker_g2"], grid2, jpeg()).json()["stage"] == "work"
    cockpit = f"/v1/communities/{A}/incidents/{mine}/photos"
    assert http.get(cockpit, headers=world.keys["reader_b"]).status_code == 404
    elsewhere = f"/v1/communities/{B}/incidents/b-incident/photos"
    assert http.get(elsewhere, headers=world.keys["reader_a"]).status_code == 404
    assert http.get(f"/v1/communities/{A}/incidents/no-such/photos",
                    headers=world.keys["reader_a"]).status_code == 404  # fmt: skip
    assert http.get(f"{cockpit}/{pid}").status_code == 401
    assert http.get(f"/v1/me/incidents/{mine}/photos/{pid}").status_code == 401
    no_csrf = {"Cookie": people["resident"]["Cookie"]}
    assert upload(http, no_csrf, mine, jpeg()).status_code == 403


def test_a_resend_with_the_same_client_id_returns_the_stored_photo(
    http: httpx.Client, world: World
) -> None:
    incident = add_incident(world.url, "resend", unit="1-101")
    files = len(files_under(world.photo_dir))
    first = upload(http, world.people["resident"], incident, jpeg(), client_id="phone-7:1")
    assert first.status_code == 201, first.text
    again = upload(http, world.people["resident"], incident, jpeg(), client_id="phone-7:1")
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert photo_rows(world.url, incident) == 1
    assert len(files_under(world.photo_dir)) == files + 2  # the photo and its thumbnail, once
    other = upload(http, world.people["worker_g1"], incident, jpeg(), client_id="phone-7:1")
    assert other.status_code == 409  # someone else's id for this incident
    bad_id = upload(http, world.people["resident"], incident, jpeg(), client_id="a b/c")
    assert bad_id.status_code == 422


def test_a_report_holds_three_resident_photos_and_workers_add_their_own(
    http: httpx.Client, world: World
) -> None:
    incident = add_incident(world.url, "three", unit="1-101")
    for _ in range(3):
        assert upload(http, world.people["resident"], incident, jpeg()).status_code == 201
    files = files_under(world.photo_dir)
    fourth = upload(http, world.people["resident"], incident, jpeg())
    assert fourth.status_code == 409
    assert fourth.json()["detail"].startswith("too_many: ")
    assert files_under(world.photo_dir) == files
    work = upload(http, world.people["worker_g1"], incident, jpeg())
    assert work.status_code == 201
    assert work.json()["stage"] == "work"
    listed = http.get(f"/v1/me/incidents/{incident}/photos", headers=world.people["resident"])
    stages = [p["stage"] for p in listed.json()["data"]]
    assert stages == ["report"] * 3 + ["work"]  # the resident sees the work done too


def test_five_uploads_at_once_still_make_three(world: World) -> None:
    """The limit holds under concurrency (a lock per incident), and the losers leave nothing."""
    incident = add_incident(world.url, "at-once", unit="1-101")
    files = len(files_under(world.photo_dir))
    barrier = threading.Barrier(5)
    codes: list[int] = []

    def send(i: int) -> None:
        with httpx.Client(base_url=world.api, timeout=60) as c:
            barrier.wait()
            photo = jpeg((800, 600), color=(i * 40, 20, 20))
            codes.append(upload(c, world.people["resident"], incident, photo).status_code)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(codes) == [201, 201, 201, 409, 409]
    assert photo_rows(world.url, incident) == 3
    assert len(files_under(world.photo_dir)) == files + 6


def test_heic_and_png_are_accepted_and_served_as_they_are_stored(
    http: httpx.Client, world: World
) -> None:
    incident = add_incident(world.url, "formats", unit="1-101")
    from_heic = upload(http, world.people["resident"], incident, heic(), filename="IMG_0001.HEIC",
                       content_type="image/heic")  # fmt: skip
    assert from_heic.status_code == 201, from_heic.text
    assert from_heic.json()["content_type"] == "image/jpeg"  # browsers show JPEG
    as_png = upload(
        http,
        world.people["resident"],
        incident,
        png(mode="RGBA"),
        filename="shot.jpg",
        content_type="image/jpeg",
    )  # the name is not believed
    assert as_png.json()["content_type"] == "image/png"
    got = http.get(as_png.json()["url"], headers=world.people["resident"])
    assert got.headers["content-type"] == "image/png"
    assert _image(got.content).format == "PNG"


def _refuse_rows_for(url: str, incident: str) -> None:
    """Make the row insert fail for ``incident`` (after the objects are written)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE OR REPLACE FUNCTION refuse_photo() RETURNS trigger AS $$ BEGIN"
            " IF NEW.incident_id LIKE 'doomed%' THEN RAISE EXCEPTION 'disk full'; END IF;"
            " RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        conn.execute(
            "CREATE OR REPLACE TRIGGER refuse_photo BEFORE INSERT ON photos"
            " FOR EACH ROW EXECUTE FUNCTION refuse_photo()"
        )
    add_incident(url, incident, unit="1-101")


def test_a_row_that_cannot_be_written_leaves_no_file(http: httpx.Client, world: World) -> None:
    _refuse_rows_for(world.url, "doomed-dir")
    files = files_under(world.photo_dir)
    r = upload(http, world.people["resident"], "doomed-dir", jpeg())
    assert r.status_code == 500
    assert files_under(world.photo_dir) == files
    assert photo_rows(world.url, "doomed-dir") == 0


def test_the_whole_path_with_an_s3_store(world: World, tmp_path: Path) -> None:
    with moto_s3() as s3, serve(create_app(api_config(world.url, tmp_path, s3))) as api:
        with httpx.Client(base_url=api, timeout=60) as http:
            incident = add_incident(world.url, "s3-report", unit="1-101")
            r = upload(http, world.people["resident"], incident, private_jpeg())
            assert r.status_code == 201, r.text
            keys = bucket_keys(s3)
            assert len(keys) == 2
            assert all(k.startswith(f"photos/{A}/") for k in keys)
            got = http.get(r.json()["url"], headers=world.people["worker_g1"])
            assert got.status_code == 200
            assert not _image(got.content).getexif()
            bad: BadUpload = next(b for b in BAD_UPLOADS if b.reason == "bomb")
            assert upload(http, world.people["resident"], incident, bad.data).status_code == 400
            _refuse_rows_for(world.url, "doomed-s3")
            assert upload(http, world.people["resident"], "doomed-s3", jpeg()).status_code == 500
            assert bucket_keys(s3) == keys  # neither left anything in the bucket
            deleted = http.delete(r.json()["url"], headers=world.people["resident"])
            assert deleted.status_code == 204
            assert bucket_keys(s3) == []
        assert files_under(tmp_path) == []  # and nothing went to the directory


def test_an_unreachable_store_answers_503_and_writes_no_row(world: World, tmp_path: Path) -> None:
    dead = S3Config("gone", endpoint_url=f"http://127.0.0.1:{free_port()}", region="us-east-1",
                    access_key_id="testing", secret_access_key="testing")  # fmt: skip
    incident = add_incident(world.url, "store-down", unit="1-101")
    with (
        serve(create_app(api_config(world.url, tmp_path, dead))) as api,
        httpx.Client(base_url=api, timeout=60) as http,
    ):
        r = upload(http, world.people["resident"], incident, jpeg())
    assert r.status_code == 503
    assert r.headers["retry-after"] == "5"
    assert photo_rows(world.url, incident) == 0
