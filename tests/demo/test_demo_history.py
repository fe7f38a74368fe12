"""The demo's month of incident history, written through the ingestor's incident
path into a real database: every report dispatched to its grid's worker, the loop
closed but for the last day's reports, a few deadlines missed, and a second write
a no-op."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from commtwin import db, demo_setup
from commtwin.demo_history import HistoryError, write_history
from simulators.community_gen import CommunitySpec, generate_community
from tests.services import scratch_database

DAYS = 4
PER_DAY = 100
ROOT = "commtwin/v1"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, dict[str, object]]]:
    with scratch_database("commtwin_history") as url:
        db.upgrade(url, prefer="plain")
        model = generate_community(CommunitySpec(buildings=3, seed=2, id="hist"))
        path = tmp_path_factory.mktemp("history") / "model.json"
        path.write_text(json.dumps(model, ensure_ascii=False))
        demo_setup.import_model(url, path, model)
        yield url, path, model


def _one(url: str, query: str) -> tuple[object, ...]:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(query.encode()).fetchone()
    assert row is not None
    return tuple(row)


def test_history_closes_the_loop_through_the_ingestors_path_once(
    site: tuple[str, Path, dict[str, object]],
) -> None:
    url, path, model = site
    end = time.time() - 2700.0
    first = write_history(url, path, ROOT, end - DAYS * 86400, end, seed=2, per_day=PER_DAY)
    # Reports follow residents' activity (0.2 + 1.6 x activity, ~0.79 of per_day on
    # average over a day), so 4 days hold ~315 plus bursts: well above 60 %.
    assert first.incidents > 0.6 * DAYS * PER_DAY
    assert first.events > 3 * first.incidents
    reported, closed, cancelled, undispatched, overdue = _one(
        url,
        "SELECT count(*), count(*) FILTER (WHERE status = 'closed'),"
        " count(*) FILTER (WHERE status = 'cancelled'),"
        " count(*) FILTER (WHERE assignee IS NULL),"
        " count(*) FILTER (WHERE respond_due_at < coalesce(accepted_at, cancelled_at, now())"
        "   OR resolve_due_at < coalesce(resolved_at, cancelled_at, now()))"
        " FROM incidents WHERE community_id = 'hist'",
    )
    assert reported == first.incidents
    assert isinstance(closed, int)
    assert isinstance(cancelled, int)
    assert isinstance(overdue, int)
    # About half a day's reports are still open at the end: in 4 days ~12 %, in the
    # demo's 30 days ~1.5 % (test_grid_workers checks the rate over a fortnight).
    assert closed / (first.incidents - cancelled) >= 0.8
    assert undispatched == (0,)[0]
    assert 0 < overdue < 0.1 * first.incidents
    workers = {g["worker"] for g in model["grids"]}  # type: ignore[attr-defined]
    (assignees,) = _one(url, "SELECT array_agg(DISTINCT assignee) FROM incidents")
    assert set(assignees) <= workers | {"w-duty"}  # type: ignore[arg-type]
    (dead,) = _one(url, "SELECT count(*) FROM dead_letters")
    assert dead == 0
    # The same window again: the same events, all duplicates.
    (events,) = _one(url, "SELECT count(*) FROM incident_events")
    again = write_history(url, path, ROOT, end - DAYS * 86400, end, seed=2, per_day=PER_DAY)
    assert again.events == first.events
    assert _one(url, "SELECT count(*) FROM incident_events") == (events,)


def test_an_unreachable_database_is_one_clear_error(
    site: tuple[str, Path, dict[str, object]],
) -> None:
    _, path, _ = site
    with pytest.raises(HistoryError, match="writing the incident history"):
        write_history(
            "postgresql://postgres@127.0.0.1:9/none", path, "commtwin/v1",
            time.time() - 86400, time.time() - 3600, seed=1, per_day=10,
        )  # fmt: skip
