"""Keys, scopes, cross-community isolation (404, not 403), CORS and rate limits."""

from __future__ import annotations

import httpx
import pytest

from api.app import create_app
from api.config import ApiConfig
from tests.api.conftest import auth, serve
from tests.api.seed import A, B, Seed

# Every community-scoped GET of phase 1, with the scope it needs.
COMMUNITY_GETS = [
    ("/v1/communities/{cid}", "cockpit:read"),
    ("/v1/communities/{cid}/buildings", "cockpit:read"),
    ("/v1/communities/{cid}/buildings/b1", "cockpit:read"),
    ("/v1/communities/{cid}/grids", "cockpit:read"),
    ("/v1/communities/{cid}/devices", "cockpit:read"),
    ("/v1/communities/{cid}/alarms", "cockpit:read"),
    ("/v1/communities/{cid}/deadletters", "maintainer"),
    ("/v1/communities/{cid}/history?metric=temperature&bucket=1h", "maintainer"),
]


def test_no_key_or_a_bad_key_is_401(client: httpx.Client) -> None:
    r = client.get("/v1/communities")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert "API key" in r.json()["detail"]
    for bad in ("nonsense", "ctk_0123456789ab_wrong", "Bearer"):
        assert client.get("/v1/communities", headers={"X-API-Key": bad}).status_code == 401
    assert client.get("/v1/communities", headers={"Authorization": "Basic abc"}).status_code == 401


def test_x_api_key_header_works_like_bearer(client: httpx.Client, seeded: Seed) -> None:
    r = client.get("/v1/communities", headers={"X-API-Key": seeded.keys["reader_a"]})
    assert r.status_code == 200
    assert [c["id"] for c in r.json()["data"]] == [A]


def test_a_restricted_key_lists_only_its_communities(
    client: httpx.Client, keys: dict[str, dict[str, str]]
) -> None:
    ids = [
        c["id"] for c in client.get("/v1/communities", headers=keys["reader_all"]).json()["data"]
    ]
    assert {A, B} <= set(ids)
    only_b = client.get("/v1/communities", headers=keys["maintainer_b"]).json()
    assert only_b["count"] == 1
    assert only_b["data"][0]["id"] == B


@pytest.mark.parametrize(("path", "scope"), COMMUNITY_GETS)
def test_other_community_is_404_like_a_missing_one(
    client: httpx.Client, keys: dict[str, dict[str, str]], path: str, scope: str
) -> None:
    for role in ("reader_a", "maintainer_a", "admin_a"):
        other = client.get(path.format(cid=B), headers=keys[role])
        missing = client.get(path.format(cid="no-such"), headers=keys[role])
        assert other.status_code == missing.status_code == 404, (role, other.text)
        assert other.json()["detail"] == f"community {B!r} not found"
    # ... and the right key does see it.
    role = "reader_all" if scope == "cockpit:read" else "maintainer_b"
    assert client.get(path.format(cid=B), headers=keys[role]).status_code == 200


@pytest.mark.parametrize(("path", "scope"), COMMUNITY_GETS)
def test_scopes(
    client: httpx.Client, keys: dict[str, dict[str, str]], path: str, scope: str
) -> None:
    url = path.format(cid=A)
    for role in ("maintainer_a", "admin", "admin_a"):
        assert client.get(url, headers=keys[role]).status_code == 200, role
    expected = 200 if scope == "cockpit:read" else 403
    for role in ("reader_a", "incidents_a"):
        r = client.get(url, headers=keys[role])
        assert r.status_code == expected, (role, r.text)
        if expected == 403:
            assert "maintainer" in r.json()["detail"]


def test_ack_needs_incidents_write_or_maintainer(
    client: httpx.Client, keys: dict[str, dict[str, str]], seeded: Seed
) -> None:
    url = f"/v1/communities/{A}/alarms/{seeded.alarm_acked}/ack"
    assert client.post(url, headers=keys["reader_a"]).status_code == 403
    assert client.post(url, headers=keys["incidents_a"]).status_code == 200
    assert client.post(url, headers=keys["maintainer_a"]).status_code == 200
    assert client.post(url, headers=keys["maintainer_b"]).status_code == 404


def test_key_admin_needs_a_global_admin(
    client: httpx.Client, keys: dict[str, dict[str, str]]
) -> None:
    assert client.get("/v1/keys", headers=keys["maintainer_a"]).status_code == 403
    r = client.get("/v1/keys", headers=keys["admin_a"])
    assert r.status_code == 403
    assert "all communities" in r.json()["detail"]
    listing = client.get("/v1/keys", headers=keys["admin"]).json()
    assert {k["name"] for k in listing["data"]} >= {"admin", "reader_a"}
    assert all("key" not in k and "secret" not in str(k) for k in listing["data"])


def test_create_use_and_revoke_a_key_over_http(
    client: httpx.Client, keys: dict[str, dict[str, str]]
) -> None:
    r = client.post(
        "/v1/keys",
        headers=keys["admin"],
        json={"scopes": ["cockpit:read"], "communities": [B], "name": "screen-b"},
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["key"].startswith("ctk_" + created["prefix"] + "_")
    new = auth(created["key"])
    assert client.get(f"/v1/communities/{B}/devices", headers=new).status_code == 200
    assert client.get(f"/v1/communities/{A}/devices", headers=new).status_code == 404
    gone = client.delete(f"/v1/keys/{created['prefix']}", headers=keys["admin"])
    assert gone.status_code == 200
    assert gone.json()["revoked_at"] is not None
    assert client.get(f"/v1/communities/{B}/devices", headers=new).status_code == 401
    assert client.delete("/v1/keys/999999999", headers=keys["admin"]).status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"scopes": ["root"]}, 422, "scopes"),
        ({"scopes": []}, 422, "scopes"),
        ({"scopes": ["admin"], "communities": ["nope-nope"]}, 400, "communities"),
        ({"scopes": ["admin"], "communities": ["UPPER"]}, 422, "communities"),
        ({"scopes": ["admin"], "extra": 1}, 422, "extra"),
    ],
)
def test_bad_key_requests_name_the_field(
    client: httpx.Client, keys: dict[str, dict[str, str]], body: object, status: int, needle: str
) -> None:
    r = client.post("/v1/keys", headers=keys["admin"], json=body)
    assert r.status_code == status
    assert needle in r.text


def test_cors_allows_the_configured_origin_only(client: httpx.Client) -> None:
    pre = client.options(
        "/v1/communities",
        headers={
            "Origin": "https://screen.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert pre.status_code == 200
    assert pre.headers["access-control-allow-origin"] == "https://screen.example"
    other = client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_rate_limit_per_key(database_url: str, seeded: Seed) -> None:
    config = ApiConfig(database_url, rate_per_s=0.01, rate_burst=3, key_cache_s=60)
    with serve(create_app(config)) as url, httpx.Client(base_url=url) as c:
        a, b = auth(seeded.keys["reader_a"]), auth(seeded.keys["reader_all"])
        codes = [c.get("/v1/communities", headers=a).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        limited = c.get("/v1/communities", headers=a)
        assert int(limited.headers["retry-after"]) >= 1
        assert "rate limit" in limited.json()["detail"]
        assert c.get("/v1/communities", headers=b).status_code == 200  # another key's bucket
        assert c.get("/healthz").status_code == 200  # open endpoints are not limited
