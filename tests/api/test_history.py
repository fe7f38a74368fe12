"""History: raw and bucketed, rollup choice, raw == rollup answers, CSV, bad input."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import datetime, timedelta
from statistics import mean

import httpx
import pytest

from api.db import run_once
from api.queries import history
from api.queries.history import HistoryRequest, Selection
from tests.api.seed import DAYS, ENV_STEP_S, A, B, Seed, env_value

H = dict[str, dict[str, str]]
DEVICE = f"/v1/communities/{A}/devices/env-a2/history"
AREA = f"/v1/communities/{A}/history"
PER_HOUR = 3600 // ENV_STEP_S


def iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def get(client: httpx.Client, keys: H, url: str, **params: str) -> httpx.Response:
    return client.get(url, params=params, headers=keys["maintainer_a"])


def test_raw_points(client: httpx.Client, keys: H, seeded: Seed) -> None:
    start = seeded.start + timedelta(minutes=10)
    r = get(
        client,
        keys,
        DEVICE,
        metric="temperature",
        **{"from": iso(start)},
        to=iso(start + timedelta(minutes=2)),
    )
    assert r.status_code == 200
    body = r.json()
    assert (body["source"], body["bucket"], body["agg"], body["devices"]) == (
        "readings",
        None,
        None,
        1,
    )
    first = 10 * 60 // ENV_STEP_S
    assert [p["v"] for p in body["points"]] == [env_value(first + i) for i in range(6)]
    assert datetime.fromisoformat(body["points"][0]["t"]) == start


def test_hourly_buckets_match_the_data(client: httpx.Client, keys: H, seeded: Seed) -> None:
    r = get(
        client,
        keys,
        DEVICE,
        metric="temperature",
        bucket="1h",
        agg="avg",
        **{"from": iso(seeded.start)},
        to=iso(seeded.end),
    )
    body = r.json()
    assert body["source"] == "readings_1h"
    assert len(body["points"]) == DAYS * 24
    for h, point in enumerate(body["points"]):
        assert datetime.fromisoformat(point["t"]) == seeded.start + timedelta(hours=h)
        values = [env_value(i) for i in range(h * PER_HOUR, (h + 1) * PER_HOUR)]
        assert point["v"] == pytest.approx(mean(values), rel=1e-12)


@pytest.mark.parametrize(
    ("bucket", "source"),
    [
        ("1d", "readings_1h"),
        ("2h", "readings_1h"),
        ("3600s", "readings_1h"),
        ("5m", "readings_1m"),
        ("90m", "readings_1m"),
        ("30s", "readings"),
        ("90s", "readings"),
    ],
)
def test_bucket_picks_the_coarsest_table_that_fits(
    client: httpx.Client, keys: H, seeded: Seed, bucket: str, source: str
) -> None:
    r = get(
        client,
        keys,
        DEVICE,
        metric="temperature",
        bucket=bucket,
        **{"from": iso(seeded.start)},
        to=iso(seeded.start + timedelta(hours=6)),
    )
    assert r.status_code == 200, r.text
    assert r.json()["source"] == source


AGGS = ["avg", "min", "max", "sum", "count", "last"]


@pytest.mark.parametrize("agg", AGGS)
@pytest.mark.parametrize(
    ("bucket", "sources"),
    [
        ("1h", ["readings", "readings_1m", "readings_1h"]),
        ("2h", ["readings", "readings_1h"]),
        ("5m", ["readings", "readings_1m"]),
    ],
)
@pytest.mark.parametrize(
    "selection",
    [Selection(A, device="env-a2"), Selection(A, building="b1", storey=2), Selection(A)],
    ids=["device", "storey", "community"],
)
def test_raw_and_rollups_give_the_same_answer(
    *,
    database_url: str,
    seeded: Seed,
    agg: str,
    bucket: str,
    sources: list[str],
    selection: Selection,
) -> None:
    """Force each table that can answer and compare: the same points, exactly."""
    req = HistoryRequest(
        selection,
        "temperature",
        seeded.start + timedelta(minutes=7),
        seeded.end - timedelta(minutes=53),
        bucket,
        agg,
    )
    answers = {}
    for source in sources:

        async def run(conn, source=source):  # type: ignore[no-untyped-def]
            plan = replace(history.plan(req, seeded.end, 100_000), source=source)
            keys = await history._device_keys(conn, selection)
            metric = await history._metric_key(conn, "temperature")
            rows = await history.fetch_all(
                conn, history.statement(plan), history.parameters(plan, keys, metric)
            )
            return [(r["t"], r["v"]) for r in rows]

        answers[source] = run_once(database_url, run)
    first = answers[sources[0]]
    assert len(first) > 10
    for source in sources[1:]:
        assert answers[source] == first, source


def test_storey_aggregates_across_devices(client: httpx.Client, keys: H, seeded: Seed) -> None:
    r = get(
        client,
        keys,
        AREA,
        metric="temperature",
        building="b1",
        storey="2",
        bucket="1h",
        agg="avg",
        **{"from": iso(seeded.start)},
        to=iso(seeded.start + timedelta(hours=1)),
    )
    body = r.json()
    assert (body["devices"], body["building"], body["storey"]) == (2, "b1", 2)
    env_a2 = [env_value(i) for i in range(PER_HOUR)]
    env_a2b = [float(i % 3) for i in range(60)]
    assert len(body["points"]) == 1
    assert body["points"][0]["v"] == pytest.approx(mean(env_a2 + env_a2b), rel=1e-12)
    counts = get(
        client,
        keys,
        AREA,
        metric="temperature",
        kind="env",
        bucket="1d",
        agg="count",
        **{"from": iso(seeded.start)},
        to=iso(seeded.end),
    ).json()
    assert counts["devices"] == 3  # env-a2, env-a2b, env-b2 (no readings)
    assert sum(p["v"] for p in counts["points"]) == DAYS * (86400 // ENV_STEP_S + 1440)


def test_buckets_cover_whole_buckets_overlapping_the_range(
    client: httpx.Client, keys: H, seeded: Seed
) -> None:
    start = seeded.start + timedelta(minutes=7)
    r = get(
        client,
        keys,
        DEVICE,
        metric="temperature",
        bucket="1h",
        agg="count",
        **{"from": iso(start)},
        to=iso(start + timedelta(hours=1)),
    )
    body = r.json()
    assert datetime.fromisoformat(body["from"]) == seeded.start
    assert datetime.fromisoformat(body["to"]) == seeded.start + timedelta(hours=2)
    assert [p["v"] for p in body["points"]] == [PER_HOUR, PER_HOUR]


def test_csv(client: httpx.Client, keys: H, seeded: Seed) -> None:
    params = {
        "metric": "temperature",
        "bucket": "1h",
        "agg": "max",
        "from": iso(seeded.start),
        "to": iso(seeded.start + timedelta(hours=3)),
    }
    json_body = client.get(DEVICE, params=params, headers=keys["maintainer_a"]).json()
    r = client.get(DEVICE, params=params, headers={**keys["maintainer_a"], "Accept": "text/csv"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(row["t"], float(row["v"])) for row in rows] == [
        (p["t"], p["v"]) for p in json_body["points"]
    ]
    assert rows[0]["t"] == iso(seeded.start)


def test_empty_history_for_a_metric_the_device_lacks(
    client: httpx.Client, keys: H, seeded: Seed
) -> None:
    r = get(client, keys, DEVICE, metric="power_kw", bucket="1h")
    assert r.status_code == 200
    assert r.json()["points"] == []


@pytest.mark.parametrize(
    ("url", "params", "status", "param"),
    [
        (
            DEVICE,
            {"metric": "temperature", "from": "2026-01-02T00:00Z", "to": "2026-01-01T00:00Z"},
            400,
            "to",
        ),
        (DEVICE, {"metric": "temperature", "bucket": "0s"}, 400, "bucket"),
        (DEVICE, {"metric": "temperature", "bucket": "1w"}, 422, "bucket"),
        (DEVICE, {"metric": "temperature", "bucket": "9999999d"}, 400, "bucket"),
        (DEVICE, {"metric": "temperature", "agg": "median", "bucket": "1h"}, 422, "agg"),
        (DEVICE, {"metric": "temperature", "agg": "max"}, 400, "agg"),
        (DEVICE, {"metric": "no_such_metric"}, 400, "metric"),
        (DEVICE, {"metric": "Bad Metric"}, 422, "metric"),
        (DEVICE, {}, 422, "metric"),
        (DEVICE, {"metric": "temperature", "from": "yesterday"}, 422, "from"),
        (DEVICE, {"metric": "temperature", "from": "1969-12-31T00:00Z"}, 400, "from"),
        (DEVICE, {"metric": "temperature", "to": "9999-12-31T23:59:59Z"}, 400, "to"),
        (
            DEVICE,
            {
                "metric": "temperature",
                "bucket": "1s",
                "from": "2026-01-01T00:00Z",
                "to": "2026-01-02T00:00Z",
            },
            400,
            "bucket",
        ),
        (AREA, {"metric": "temperature"}, 422, "bucket"),
        (AREA, {"metric": "temperature", "bucket": "1h", "storey": "1"}, 400, "storey"),
    ],
)
def test_bad_parameters_are_named(
    *, client: httpx.Client, keys: H, url: str, params: dict[str, str], status: int, param: str
) -> None:
    r = client.get(url, params=params, headers=keys["maintainer_a"])
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    if status == 422:
        assert detail[0]["loc"][-1] == param
    else:
        assert detail.startswith(f"{param}: ")


def test_too_many_raw_points_is_a_clear_400(client: httpx.Client, keys: H, seeded: Seed) -> None:
    # The test server allows 5000 points; a day of 20-second data holds 4320, two days more.
    ok = get(
        client,
        keys,
        DEVICE,
        metric="temperature",
        **{"from": iso(seeded.start)},
        to=iso(seeded.start + timedelta(days=1)),
    )
    assert ok.status_code == 200
    assert len(ok.json()["points"]) == 4320
    r = get(
        client,
        keys,
        DEVICE,
        metric="temperature",
        **{"from": iso(seeded.start)},
        to=iso(seeded.start + timedelta(days=2)),
    )
    assert r.status_code == 400
    assert "more than 5000 raw points" in r.json()["detail"]


def test_unknown_objects_are_404(client: httpx.Client, keys: H) -> None:
    r = get(client, keys, f"/v1/communities/{A}/devices/nope/history", metric="temperature")
    assert (r.status_code, r.json()["detail"]) == (404, "device 'nope' not found")
    r = get(client, keys, AREA, metric="temperature", bucket="1h", building="b9")
    assert (r.status_code, r.json()["detail"]) == (404, "building 'b9' not found")
    r = get(client, keys, f"/v1/communities/{A}/devices/env-b1/history", metric="temperature")
    assert r.status_code == 404  # B's device, asked through A
    r = client.get(
        f"/v1/communities/{B}/devices/env-b1/history",
        params={"metric": "temperature"},
        headers=keys["maintainer_a"],
    )
    assert r.status_code == 404
