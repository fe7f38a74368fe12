"""bench/cpu_split.py: CPU seconds land on the component that used them."""

from __future__ import annotations

import doctest

import psycopg

import bench.cpu_split
from bench.cpu_split import CpuSplit
from tests.services import server_url

BUSY = "SELECT count(*) FROM generate_series(1, 3000000) AS g WHERE g % 7 = 3"


def test_doctests() -> None:
    assert doctest.testmod(bench.cpu_split).failed == 0


def test_busy_backends_are_counted_by_their_application_name() -> None:
    url = server_url()
    with (
        psycopg.connect(url, autocommit=True, application_name="commtwin-ingest-rollups") as job,
        psycopg.connect(url, autocommit=True, application_name="a-dashboard") as other,
    ):
        for conn in (job, other):
            conn.execute("SELECT 1")  # listed in pg_stat_activity before the split begins
        split = CpuSplit(url, every_s=0.2).begin()
        for _ in range(3):
            job.execute(BUSY)
        split_job = split.finish()
        split = CpuSplit(url, every_s=0.2).begin()
        for _ in range(3):
            other.execute(BUSY)
        split_other = split.finish()
    # (Tests running beside this one only add to other components.)
    assert split_job.get("db: ingestor rollup job", 0.0) >= 0.2, split_job
    assert split_other.get("db: api and others", 0.0) >= 0.2, split_other
    assert split_other.get("db: ingestor rollup job", 0.0) < 0.2, split_other
