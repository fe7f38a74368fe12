-- The live rollups for a window of time (issue 25, part 1), plain mode.
--
-- The views of 0090 read raw readings above a mark kept in a table, so the
-- planner cannot drop a raw partition by a constant: every query through
-- them planned every raw partition, twice. A scene's 7 days of 50 devices
-- took 567 ms over 30 days of hourly partitions (0092) and 93 ms over day
-- ones; through these functions 62 and 42 ms (bench_partition_reads), and
-- a year of day partitions no longer adds up. These functions return the same rows for
-- the buckets in [ts_from, ts_to): they are plain SQL, so the planner inlines
-- them and the caller's bounds become constants on every arm, and only the
-- partitions of the window are planned. ts_from and ts_to must lie on the
-- level's bucket boundaries (schemas/rollup_window.py aligns them): a raw
-- arm cut inside a bucket would aggregate part of it.

CREATE FUNCTION readings_1m_window(ts_from timestamptz, ts_to timestamptz)
RETURNS SETOF readings_1m LANGUAGE sql STABLE AS $$
WITH mark AS (SELECT minutes_to AS m FROM rollup_state),
pend AS (
    SELECT DISTINCT p.bucket, p.lo_key, p.hi_key FROM rollup_pending p, mark
    WHERE p.level = 'm' AND p.bucket < mark.m AND p.bucket >= ts_from AND p.bucket < ts_to
)
SELECT r.bucket, r.device_key, r.metric_key, r.n, r.v_sum, r.v_min, r.v_max,
       r.last_ts, r.last_value
FROM readings_1m r
WHERE r.bucket >= ts_from AND r.bucket < ts_to
  AND r.bucket < (SELECT m FROM mark)
  AND NOT EXISTS (SELECT 1 FROM pend p WHERE p.bucket = r.bucket
                  AND r.device_key BETWEEN p.lo_key AND p.hi_key)
UNION ALL
SELECT date_trunc('minute', ts, 'UTC'), device_key, metric_key,
       count(*), sum(value), min(value), max(value),
       max(ts), (array_agg(value ORDER BY ts DESC))[1]
FROM readings
WHERE ts >= ts_from AND ts < ts_to AND ts >= (SELECT m FROM mark)
GROUP BY 1, 2, 3
UNION ALL
SELECT date_trunc('minute', x.ts, 'UTC'), x.device_key, x.metric_key,
       count(*), sum(x.value), min(x.value), max(x.value),
       max(x.ts), (array_agg(x.value ORDER BY x.ts DESC))[1]
FROM readings x
WHERE x.ts >= ts_from AND x.ts < ts_to
  AND x.ts >= (SELECT min(bucket) FROM pend) AND x.ts < (SELECT m FROM mark)
  AND EXISTS (SELECT 1 FROM pend p WHERE p.bucket = date_trunc('minute', x.ts, 'UTC')
              AND x.device_key BETWEEN p.lo_key AND p.hi_key)
GROUP BY 1, 2, 3
$$;

CREATE FUNCTION readings_1h_window(ts_from timestamptz, ts_to timestamptz)
RETURNS SETOF readings_1h LANGUAGE sql STABLE AS $$
WITH mark AS (SELECT hours_to AS h FROM rollup_state),
pend AS (
    SELECT DISTINCT date_trunc('hour', p.bucket, 'UTC') AS bucket, p.lo_key, p.hi_key
    FROM rollup_pending p, mark
    WHERE date_trunc('hour', p.bucket, 'UTC') < mark.h
      AND p.bucket >= ts_from AND p.bucket < ts_to
)
SELECT r.bucket, r.device_key, r.metric_key, r.n, r.v_sum, r.v_min, r.v_max,
       r.last_ts, r.last_value
FROM readings_1h r
WHERE r.bucket >= ts_from AND r.bucket < ts_to
  AND r.bucket < (SELECT h FROM mark)
  AND NOT EXISTS (SELECT 1 FROM pend p WHERE p.bucket = r.bucket
                  AND r.device_key BETWEEN p.lo_key AND p.hi_key)
UNION ALL
SELECT date_trunc('hour', ts, 'UTC'), device_key, metric_key,
       count(*), sum(value), min(value), max(value),
       max(ts), (array_agg(value ORDER BY ts DESC))[1]
FROM readings
WHERE ts >= ts_from AND ts < ts_to AND ts >= (SELECT h FROM mark)
GROUP BY 1, 2, 3
UNION ALL
SELECT date_trunc('hour', x.ts, 'UTC'), x.device_key, x.metric_key,
       count(*), sum(x.value), min(x.value), max(x.value),
       max(x.ts), (array_agg(x.value ORDER BY x.ts DESC))[1]
FROM readings x
WHERE x.ts >= ts_from AND x.ts < ts_to
  AND x.ts >= (SELECT min(bucket) FROM pend) AND x.ts < (SELECT h FROM mark)
  AND EXISTS (SELECT 1 FROM pend p WHERE p.bucket = date_trunc('hour', x.ts, 'UTC')
              AND x.device_key BETWEEN p.lo_key AND p.hi_key)
GROUP BY 1, 2, 3
$$;
