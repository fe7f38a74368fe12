"""Liveness, readiness (database and schema version) and Prometheus metrics."""

from __future__ import annotations

import httpx
import psycopg

from api.app import create_app
from api.config import ApiConfig
from schemas.migrations import latest_version
from tests.api.conftest import serve


def test_healthz_and_readyz_are_open(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["schema_version"] == latest_version()
    assert ready.json()["status"] == "ready"


def test_readyz_reports_an_unmigrated_database(empty_database_url: str) -> None:
    with serve(create_app(ApiConfig(empty_database_url))) as url:
        r = httpx.get(url + "/readyz", timeout=10)
        assert r.status_code == 503
        assert r.json()["status"] == "not_ready"
        assert r.json()["schema_version"] is None
        assert "run `commtwin db upgrade`" in r.json()["detail"]
        assert httpx.get(url + "/healthz").status_code == 200


def test_readyz_reports_a_stale_schema(empty_database_url: str) -> None:
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE schema_migrations (version integer, name text, mode text)")
        conn.execute("INSERT INTO schema_migrations VALUES (1, 'core', 'plain')")
    with serve(create_app(ApiConfig(empty_database_url))) as url:
        r = httpx.get(url + "/readyz", timeout=10)
        assert r.status_code == 503
        assert r.json()["schema_version"] == 1
        assert "db upgrade" in r.json()["detail"]


def test_unreachable_database_gives_503_not_500() -> None:
    config = ApiConfig("postgresql://nobody@127.0.0.1:1/none", pool_timeout_s=0.5)
    with serve(create_app(config)) as url:
        assert httpx.get(url + "/healthz").status_code == 200
        r = httpx.get(url + "/readyz", timeout=10)
        assert r.status_code == 503
        assert r.json()["status"] == "not_ready"
        r = httpx.get(url + "/v1/communities", headers={"X-API-Key": "ctk_0123456789ab_x"})
        assert r.status_code == 503
        assert r.headers["retry-after"] == "5"


def test_metrics_count_requests_by_route_template(
    client: httpx.Client, keys: dict[str, dict[str, str]]
) -> None:
    client.get("/v1/communities/apitest-a/devices", headers=keys["reader_a"])
    client.get("/v1/communities/apitest-b/devices", headers=keys["reader_a"])  # 404
    client.get("/no/such/path")
    text = client.get("/metrics").text
    assert (
        'commtwin_http_requests_total{method="GET",route="/v1/communities/{cid}/devices",'
        'status="200"}' in text
    )
    assert 'route="/v1/communities/{cid}/devices",status="404"' in text
    assert 'route="unmatched",status="404"' in text
    assert "commtwin_http_request_duration_seconds_bucket{" in text
    assert "apitest-a" not in text  # raw paths never become labels
    assert "commtwin_db_pool_connections" in text
