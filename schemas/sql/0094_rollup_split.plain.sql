-- The live rollups' split read first (issue 25, part 1), plain mode.
--
-- 0093's functions take the caller's window as constants, but the split
-- between the rollup table and raw readings (rollup_state's mark, and the
-- oldest bucket still pending below it) they read inside: the planner cannot
-- prune by it, so both raw arms still planned every raw partition of the
-- window. Over hourly partitions a scene's 7 days (168 partitions, twice)
-- took 85 ms against 42 over day partitions (bench_partition_reads), and a
-- month of history planned 1,440. The caller now reads the split first
-- (commtwin_rollup_split) and passes it in: the raw arms plan the partitions
-- above the mark and those of the pending buckets, usually one or two.
--
-- A split read earlier than the query is safe: the mark only moves forward,
-- raw readings above an old mark are still there, and a bucket that became
-- pending since is answered from its rollup row as it was when the split was
-- read. Without the two arguments the functions read the split themselves,
-- as 0093's did.

DROP FUNCTION readings_1m_window(timestamptz, timestamptz);
DROP FUNCTION readings_1h_window(timestamptz, timestamptz);

-- rolled_to: below it the rollup table answers (the mark); pending_from: the
-- oldest bucket below the mark still pending (the mark when none is).
CREATE FUNCTION commtwin_rollup_split(source text)
RETURNS TABLE (rolled_to timestamptz, pending_from timestamptz)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF source = 'readings_1m' THEN
        RETURN QUERY
        SELECT s.minutes_to, coalesce(
            (SELECT min(p.bucket) FROM rollup_pending p
             WHERE p.level = 'm' AND p.bucket < s.minutes_to), s.minutes_to)
        FROM rollup_state s;
    ELSIF source = 'readings_1h' THEN
        RETURN QUERY
        SELECT s.hours_to, coalesce(
            (SELECT min(date_trunc('hour', p.bucket, 'UTC')) FROM rollup_pending p
             WHERE date_trunc('hour', p.bucket, 'UTC') < s.hours_to), s.hours_to)
        FROM rollup_state s;
    ELSE
        RAISE EXCEPTION 'commtwin_rollup_split: % is not readings_1m or readings_1h', source
            USING ERRCODE = '22023';
    END IF;
END $$;

-- Plain SQL (inlined): a non-null argument turns each coalesce below into a
-- constant, by which the planner drops partitions; and when nothing is
-- pending below the mark (pending_from = rolled_to, the usual case) the
-- rollup rows are read without the anti-join against the pending buckets
-- (720,000 hourly rows of a month: 429 -> 359 ms). The rollup table's
-- arm is therefore written twice, each for one case; the other one's
-- condition is a constant false and the planner drops it. One body for
-- both levels.
DO $do$
DECLARE
    lvl record;
BEGIN
    FOR lvl IN SELECT * FROM (VALUES
        -- the suffix, the bucket's unit, the mark's column, and the pending rows
        -- that count: a minute is pending by the writers' rows, an hour by those
        -- and by the job's (its minutes recomputed, the hour not yet).
        ('1m', 'minute', 'minutes_to', $$p.level = 'm'$$),
        ('1h', 'hour', 'hours_to', 'true')
    ) AS v(suffix, unit, mark, counts)
    LOOP
        EXECUTE format($tmpl$
CREATE FUNCTION readings_%1$s_window(ts_from timestamptz, ts_to timestamptz,
                                     rolled_to timestamptz DEFAULT NULL,
                                     pending_from timestamptz DEFAULT NULL)
RETURNS SETOF readings_%1$s LANGUAGE sql STABLE AS $fn$
WITH mark AS (SELECT coalesce(rolled_to, s.%3$I) AS m FROM rollup_state s),
pend AS (
    SELECT DISTINCT date_trunc(%2$L, p.bucket, 'UTC') AS bucket, p.lo_key, p.hi_key
    FROM rollup_pending p, mark
    WHERE %4$s AND date_trunc(%2$L, p.bucket, 'UTC') < mark.m
      AND date_trunc(%2$L, p.bucket, 'UTC') >= coalesce(pending_from, '-infinity')
      AND p.bucket >= ts_from AND p.bucket < ts_to
)
SELECT r.bucket, r.device_key, r.metric_key, r.n, r.v_sum, r.v_min, r.v_max,
       r.last_ts, r.last_value
FROM readings_%1$s r
WHERE r.bucket >= ts_from AND r.bucket < ts_to
  AND r.bucket < coalesce(rolled_to, (SELECT m FROM mark))
  AND NOT coalesce(pending_from < rolled_to, true)
UNION ALL
SELECT r.bucket, r.device_key, r.metric_key, r.n, r.v_sum, r.v_min, r.v_max,
       r.last_ts, r.last_value
FROM readings_%1$s r
WHERE r.bucket >= ts_from AND r.bucket < ts_to
  AND r.bucket < coalesce(rolled_to, (SELECT m FROM mark))
  AND coalesce(pending_from < rolled_to, true)
  AND NOT EXISTS (SELECT 1 FROM pend p WHERE p.bucket = r.bucket
                  AND r.device_key BETWEEN p.lo_key AND p.hi_key)
UNION ALL
SELECT date_trunc(%2$L, ts, 'UTC'), device_key, metric_key,
       count(*), sum(value), min(value), max(value),
       max(ts), (array_agg(value ORDER BY ts DESC))[1]
FROM readings
WHERE ts >= ts_from AND ts < ts_to AND ts >= coalesce(rolled_to, (SELECT m FROM mark))
GROUP BY 1, 2, 3
UNION ALL
SELECT date_trunc(%2$L, x.ts, 'UTC'), x.device_key, x.metric_key,
       count(*), sum(x.value), min(x.value), max(x.value),
       max(x.ts), (array_agg(x.value ORDER BY x.ts DESC))[1]
FROM readings x
WHERE x.ts >= ts_from AND x.ts < ts_to
  AND x.ts >= coalesce(pending_from, (SELECT min(bucket) FROM pend))
  AND x.ts < coalesce(rolled_to, (SELECT m FROM mark))
  AND EXISTS (SELECT 1 FROM pend p WHERE p.bucket = date_trunc(%2$L, x.ts, 'UTC')
              AND x.device_key BETWEEN p.lo_key AND p.hi_key)
GROUP BY 1, 2, 3
$fn$
$tmpl$, lvl.suffix, lvl.unit, lvl.mark, lvl.counts);
    END LOOP;
END $do$;
