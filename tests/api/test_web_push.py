"""Web Push (docs/people.md "Web Push"): a real server, PostgreSQL, Mosquitto and a
real ``commtwin ingest``; a local HTTP server on 127.0.0.1 plays the push service.

The browsers' key pairs are made here (cryptography), so the test decrypts what
the push service received exactly as a browser would (http_ece), and checks the
VAPID signature with the server's public key as a push service would.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import http_ece
import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from api.app import create_app
from api.config import ApiConfig
from api.push_config import PushConfig
from commtwin.cmd_api import push_config
from commtwin.commands import CommandError
from commtwin.settings import Settings
from tests.api.conftest import serve
from tests.api.live_fixtures import LiveSite, ingest_site, wait_until
from tests.api.seed import A
from tests.api.test_people_actions import Who, act, call, people, report
from tests.services import Broker

__all__ = ["people"]  # the accounts fixture of test_people_actions, on this module's site


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def private_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class PushService:
    """A push service on 127.0.0.1: records each POST, answers 201 (or a status per path)."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    answers: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def endpoint(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture(scope="module")
def push_service() -> Iterator[PushService]:
    service = PushService()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with service.lock:
                service.received.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
            self.send_response(service.answers.get(self.path, 201))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="push-service")
    thread.start()
    yield service
    server.shutdown()
    server.server_close()
    thread.join(5)


VAPID_KEY = ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def site(broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    push = PushConfig(private_pem(VAPID_KEY), "mailto:ops@example.org", allow_loopback=True)
    logs = tmp_path_factory.mktemp("logs")
    with ingest_site("commtwin_web_push", broker.url, logs, push=push) as s:
        far = {"type": "Polygon", "coordinates": [[[500, 500], [510, 500], [510, 510], [500, 500]]]}
        s.sql(
            "INSERT INTO grids (community_id, id, name, polygon) VALUES (%s, 'g2', 'g2', %s)",
            (A, json.dumps(far)),
        )
        yield s


@dataclass
class Browser:
    """A browser's push subscription: its own P-256 key pair and auth secret."""

    endpoint: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: b"0123456789abcdef")

    def subscription(self) -> dict[str, object]:
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        keys = {"p256dh": b64url(point), "auth": b64url(self.auth)}
        return {"endpoint": self.endpoint, "keys": keys, "expirationTime": None}

    def decrypt(self, body: bytes) -> dict[str, object]:
        plain = http_ece.decrypt(
            body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"
        )
        found: dict[str, object] = json.loads(plain)
        return found


def subscribe(site: LiveSite, who: Who, browser: Browser) -> None:
    r = call(site, who, "PUT", "/v1/me/push", browser.subscription())
    assert r.status_code == 204, r.text


def check_vapid(header: str, audience: str, server_key: str) -> None:
    """``vapid t=<JWT>, k=<key>``: the JWT signed (ES256) by the server's VAPID key."""
    scheme, _, params = header.partition(" ")
    assert scheme == "vapid"
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    assert fields["k"] == server_key
    head, claims, signature = fields["t"].split(".")
    assert json.loads(unb64url(head))["alg"] == "ES256"
    raw = unb64url(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(server_key))
    public.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))  # raises if bad
    body = json.loads(unb64url(claims))
    assert body["aud"] == audience
    assert body["sub"] == "mailto:ops@example.org"
    assert time.time() < body["exp"] <= time.time() + 24 * 3600


def test_the_routes_check_who_and_what(
    site: LiveSite, people: dict[str, Who], push_service: PushService
) -> None:
    wang, liu = people["wang"], people["liu"]
    assert httpx.get(f"{site.base}/v1/me/push").status_code == 401
    key = call(site, wang, "GET", "/v1/me/push").json()["application_server_key"]
    public = VAPID_KEY.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert unb64url(key) == public
    browser = Browser(push_service.endpoint("/push/routes-wang"))
    sent = browser.subscription()
    assert call(site, wang, "PUT", "/v1/me/push", sent, csrf=False).status_code == 403
    for bad, reason in (
        ({**sent, "endpoint": "http://push.example/x"}, "https://"),
        ({**sent, "endpoint": "http://127.0.0.2:9/x"}, "https://"),
        ({**sent, "keys": {"p256dh": "AAAA", "auth": b64url(browser.auth)}}, "p256dh"),
        ({**sent, "keys": {"p256dh": sent["keys"]["p256dh"], "auth": "AAAA"}}, "auth"),  # type: ignore[index]
    ):
        r = call(site, wang, "PUT", "/v1/me/push", bad)
        assert r.status_code == 400, r.text
        assert reason in r.json()["detail"]
    subscribe(site, wang, browser)
    subscribe(site, wang, browser)  # again: the same row, keys renewed
    rows = site.sql(
        "SELECT count(*) FROM push_subscriptions WHERE endpoint = %s", (browser.endpoint,)
    )
    assert rows == [(1,)]
    # Another account can neither take nor delete wang's subscription.
    assert call(site, liu, "PUT", "/v1/me/push", sent).status_code == 409
    gone = call(site, liu, "DELETE", f"/v1/me/push?endpoint={browser.endpoint}")
    assert gone.status_code == 404
    owner = site.sql(
        "SELECT a.login FROM push_subscriptions p JOIN accounts a ON a.id = p.account_id"
        " WHERE p.endpoint = %s",
        (browser.endpoint,),
    )
    assert owner == [("wang",)]
    assert call(site, wang, "DELETE", f"/v1/me/push?endpoint={browser.endpoint}").status_code == 204
    assert site.sql(
        "SELECT count(*) FROM push_subscriptions WHERE endpoint = %s", (browser.endpoint,)
    ) == [(0,)]
    # Without a VAPID key the server has no Web Push at all.
    with serve(create_app(ApiConfig(site.url))) as plain:
        off = httpx.get(f"{plain}/v1/me/push", headers=wang.headers())
        assert off.status_code == 200
        assert off.json() == {"enabled": False, "application_server_key": None}
        put = httpx.put(f"{plain}/v1/me/push", json=sent, headers=wang.headers())
        assert put.status_code == 404


def test_a_change_is_pushed_encrypted_to_who_may_see_it_and_410_forgets(
    site: LiveSite, people: dict[str, Who], push_service: PushService
) -> None:
    wang, zhang, zhao = people["wang"], people["zhang"], people["zhao"]
    key = call(site, wang, "GET", "/v1/me/push").json()["application_server_key"]
    browsers = {who: Browser(push_service.endpoint(f"/push/{who}")) for who in ("wang", "zhao")}
    subscribe(site, wang, browsers["wang"])
    subscribe(site, zhao, browsers["zhao"])  # a worker of g2: b1's incidents are not his
    time.sleep(0.5)  # the sender follows the community once a subscription is there
    iid = report(site, wang)["id"]
    assert wait_until(lambda: len(push_service.to("/push/wang")) >= 1, timeout=10)
    time.sleep(1.0)  # anything more would arrive by now
    [got] = push_service.to("/push/wang")
    assert push_service.to("/push/zhao") == []
    assert got.headers["content-encoding"] == "aes128gcm"
    assert got.headers["ttl"] == str(6 * 3600)
    check_vapid(got.headers["authorization"], f"http://127.0.0.1:{push_service.port}", key)
    assert b"garbage" not in got.body
    assert iid.encode() not in got.body
    assert browsers["wang"].decrypt(got.body) == {
        "community": A,
        "incident": iid,
        "status": "dispatched",  # reported and dispatched at once: one notification
    }
    # The push service says wang's subscription is gone: it is deleted.
    push_service.answers["/push/wang"] = 410
    assert act(site, zhang, iid, "accept").status_code == 201
    assert wait_until(lambda: len(push_service.to("/push/wang")) == 2, timeout=10)
    [second] = push_service.to("/push/wang")[1:]
    assert browsers["wang"].decrypt(second.body)["status"] == "accepted"
    endpoint = browsers["wang"].endpoint
    count = "SELECT count(*) FROM push_subscriptions WHERE endpoint = %s"
    assert wait_until(lambda: site.sql(count, (endpoint,)) == [(0,)], timeout=5)
    assert site.sql(count, (browsers["zhao"].endpoint,)) == [(1,)]
    assert push_service.to("/push/zhao") == []


def test_the_service_worker_is_served_for_the_page_scope(site: LiveSite) -> None:
    r = httpx.get(f"{site.base}/app/{A}/sw.js", timeout=30)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["service-worker-allowed"] == f"/app/{A}"
    assert "showNotification" in r.text
    assert "notificationclick" in r.text
    assert httpx.get(f"{site.base}/app/Bad_Id!/sw.js", timeout=30).status_code == 404
    page = httpx.get(f"{site.base}/app/{A}", timeout=30)
    assert 'id="push"' in page.text


def test_the_vapid_key_is_read_once_from_a_file_or_the_pem(tmp_path: Path) -> None:
    pem = private_pem(VAPID_KEY)
    path = tmp_path / "vapid.pem"
    path.write_text(pem)
    assert push_config(Settings()) is None  # unset: Web Push off
    for value in (pem, str(path)):
        found = push_config(Settings(vapid_private_key=value, vapid_subject="mailto:a@b.org"))
        assert found is not None
        assert found.private_key_pem == pem.strip()
        assert found.subject == "mailto:a@b.org"
        assert not found.allow_loopback
    rsa_like = ec.generate_private_key(ec.SECP384R1())
    for bad in (str(tmp_path / "missing.pem"), private_pem(rsa_like)):
        with pytest.raises(CommandError, match="COMMTWIN_VAPID_PRIVATE_KEY"):
            push_config(Settings(vapid_private_key=bad))
