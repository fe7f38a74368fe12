-- Rollups after the fact (issue 25), the way TimescaleDB's continuous
-- aggregates work: the writer no longer upserts readings_1m/readings_1h per
-- reading (at a district that doubled the writes and touched three random
-- index pages per reading). Its transaction only logs which minutes it
-- touched (a few rows per batch, in rollup_pending), and a set-based job,
-- commtwin_refresh_rollups, recomputes those minutes from readings and their
-- hours from readings_1m. Recompute, not add: a redelivered or late reading
-- can never be counted twice.
--
-- Minutes are materialized once they are closed (rollup_state.minutes_to),
-- hours likewise (hours_to); readings_1m_live and readings_1h_live answer
-- from the rollup tables below those marks and from raw readings above them
-- (TimescaleDB's real-time aggregates), and from raw readings for what is
-- still pending below them, so readers see every committed reading as before,
-- late ones included.

-- What the writers touched: one row per batch and minute, with the batch's
-- device key range there (a late straggler recomputes a sliver, not the
-- whole district's minute). 'm' rows come from writers, 'h' rows from the job.
CREATE TABLE rollup_pending (
    level  "char" NOT NULL CHECK (level IN ('m', 'h')),
    bucket timestamptz NOT NULL,
    lo_key bigint NOT NULL,
    hi_key bigint NOT NULL,
    logged_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rollup_state (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    minutes_to timestamptz NOT NULL,
    hours_to   timestamptz NOT NULL
);
-- Until now the writer kept both rollups complete, so they are complete up to
-- this moment; what arrives from now on is logged.
INSERT INTO rollup_state (minutes_to, hours_to)
VALUES (date_trunc('minute', now(), 'UTC'), date_trunc('hour', now(), 'UTC'));

-- The job reads a minute of readings, and an hour of readings_1m, by time.
-- BRIN: rows arrive in time order, and a BRIN costs next to nothing per insert
-- (a B-tree on ts would be one more random page per reading).
CREATE INDEX readings_ts_brin ON readings USING brin (ts) WITH (autosummarize = on);
CREATE INDEX readings_1m_bucket_brin ON readings_1m USING brin (bucket)
    WITH (autosummarize = on);

-- Three parts each: the table where nothing is pending, raw readings above
-- the mark, and raw readings of the buckets (and device key ranges) still
-- pending below it: late data (a gateway's backlog, a device's history sent
-- at once) counts at once too, not only after the job has run. A pending
-- range is a superset of the keys that changed, so a few unchanged series
-- are summed from raw rows: the same figures, a little more work.
CREATE VIEW readings_1m_live AS
WITH mark AS (SELECT minutes_to AS m FROM rollup_state),
pend AS (
    SELECT DISTINCT p.bucket, p.lo_key, p.hi_key FROM rollup_pending p, mark
    WHERE p.level = 'm' AND p.bucket < mark.m
)
SELECT r.bucket, r.device_key, r.metric_key, r.n, r.v_sum, r.v_min, r.v_max,
       r.last_ts, r.last_value
FROM readings_1m r
WHERE r.bucket < (SELECT m FROM mark)
  AND NOT EXISTS (SELECT 1 FROM pend p WHERE p.bucket = r.bucket
                  AND r.device_key BETWEEN p.lo_key AND p.hi_key)
UNION ALL
SELECT date_trunc('minute', ts, 'UTC'), device_key, metric_key,
       count(*), sum(value), min(value), max(value),
       max(ts), (array_agg(value ORDER BY ts DESC))[1]
FROM readings
WHERE ts >= (SELECT m FROM mark)
GROUP BY 1, 2, 3
UNION ALL
SELECT date_trunc('minute', x.ts, 'UTC'), x.device_key, x.metric_key,
       count(*), sum(x.value), min(x.value), max(x.value),
       max(x.ts), (array_agg(x.value ORDER BY x.ts DESC))[1]
FROM readings x
WHERE x.ts >= (SELECT min(bucket) FROM pend) AND x.ts < (SELECT m FROM mark)
  AND EXISTS (SELECT 1 FROM pend p WHERE p.bucket = date_trunc('minute', x.ts, 'UTC')
              AND x.device_key BETWEEN p.lo_key AND p.hi_key)
GROUP BY 1, 2, 3;

CREATE VIEW readings_1h_live AS
WITH mark AS (SELECT hours_to AS h FROM rollup_state),
pend AS (
    -- A pending minute makes its hour pending; 'h' rows are hours the job
    -- has still to fold from readings_1m.
    SELECT DISTINCT date_trunc('hour', p.bucket, 'UTC') AS bucket, p.lo_key, p.hi_key
    FROM rollup_pending p, mark
    WHERE date_trunc('hour', p.bucket, 'UTC') < mark.h
)
SELECT r.bucket, r.device_key, r.metric_key, r.n, r.v_sum, r.v_min, r.v_max,
       r.last_ts, r.last_value
FROM readings_1h r
WHERE r.bucket < (SELECT h FROM mark)
  AND NOT EXISTS (SELECT 1 FROM pend p WHERE p.bucket = r.bucket
                  AND r.device_key BETWEEN p.lo_key AND p.hi_key)
UNION ALL
SELECT date_trunc('hour', ts, 'UTC'), device_key, metric_key,
       count(*), sum(value), min(value), max(value),
       max(ts), (array_agg(value ORDER BY ts DESC))[1]
FROM readings
WHERE ts >= (SELECT h FROM mark)
GROUP BY 1, 2, 3
UNION ALL
SELECT date_trunc('hour', x.ts, 'UTC'), x.device_key, x.metric_key,
       count(*), sum(x.value), min(x.value), max(x.value),
       max(x.ts), (array_agg(x.value ORDER BY x.ts DESC))[1]
FROM readings x
WHERE x.ts >= (SELECT min(bucket) FROM pend) AND x.ts < (SELECT h FROM mark)
  AND EXISTS (SELECT 1 FROM pend p WHERE p.bucket = date_trunc('hour', x.ts, 'UTC')
              AND x.device_key BETWEEN p.lo_key AND p.hi_key)
GROUP BY 1, 2, 3;

-- How the job names device_key for a range: as itself for a few devices (the
-- primary key finds them), as an expression for a wide range, so that the
-- planner takes the time index. Left to estimates, a day partition without
-- statistics yet got a bitmap scan of its whole primary key for every minute.
CREATE FUNCTION commtwin_rollup_key_expr(lo bigint, hi bigint) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN hi - lo < 100 THEN 'device_key' ELSE 'device_key + 0' END
$$;

-- The job. `final` (clean shutdown, `commtwin db maintain`): also the minutes
-- and hours still open, and wait for a job running elsewhere instead of
-- skipping. A minute counts as closed `grace` after its end, or once the
-- writers have moved a minute past it (under a backlog the data's own clock
-- lags the wall clock: a minute is then materialized once, not at every run),
-- and as quiet once no batch has logged it for `grace`.
-- The marks only ever cover closed buckets, so an open bucket materialized
-- by `final` is still read from raw readings until it closes.
CREATE FUNCTION commtwin_refresh_rollups(
    final boolean DEFAULT false, now_ts timestamptz DEFAULT now(),
    grace interval DEFAULT '15 seconds'
) RETURNS TABLE (level text, bucket timestamptz, rows_written bigint)
LANGUAGE plpgsql
-- A district's minute (1.5 million readings) sorts in memory, not on disk.
SET work_mem = '256MB'
AS $$
#variable_conflict use_column
DECLARE
    newest timestamptz;
    m_mark timestamptz;
    h_mark timestamptz;
    m_horizon timestamptz;
    h_horizon timestamptz;
    b timestamptz[];
    lo bigint[];
    hi bigint[];
    n bigint;
BEGIN
    -- One job at a time across ingestors; a periodic run skips if one is busy.
    IF final THEN
        PERFORM pg_advisory_xact_lock(hashtext('commtwin_refresh_rollups'));
    ELSIF NOT pg_try_advisory_xact_lock(hashtext('commtwin_refresh_rollups')) THEN
        RETURN;
    END IF;
    SELECT s.minutes_to, s.hours_to INTO m_mark, h_mark FROM rollup_state s FOR UPDATE;
    -- The writers' frontier: the newest minute they touched above the mark
    -- (late stragglers below it say nothing about the data's clock).
    SELECT max(p.bucket) INTO newest FROM rollup_pending p
    WHERE p.level = 'm' AND p.bucket >= m_mark AND p.bucket <= now_ts;
    m_horizon := greatest(m_mark, date_trunc('minute',
        least(now_ts, newest + interval '1 minute') - grace, 'UTC'));
    -- Autovacuum summarizes BRIN ranges when it gets round to it; until then a
    -- range counts as matching, and a busy day's partition would be read
    -- whole for every minute. Summarizing the new pages first costs a read of
    -- just those pages.
    PERFORM brin_summarize_new_values(t.relid)
    FROM pg_partition_tree('readings_ts_brin'::regclass) t WHERE t.isleaf;
    -- readings_1m is partitioned by day (0089): summarize its leaf indexes.
    PERFORM brin_summarize_new_values(t.relid)
    FROM pg_partition_tree('readings_1m_bucket_brin'::regclass) t WHERE t.isleaf;

    -- A minute is recomputed once closed and quiet: no batch has logged it
    -- for `grace`. Without the second rule a minute that is still filling
    -- below the mark (a backlog arriving after the mark moved on, a
    -- restarted ingestor's share) was recomputed whole at every run.
    WITH ready AS (
        SELECT p.bucket FROM rollup_pending p WHERE p.level = 'm'
        GROUP BY p.bucket
        HAVING final OR (p.bucket < m_horizon AND max(p.logged_at) <= clock_timestamp() - grace)
    ), taken AS (
        DELETE FROM rollup_pending p USING ready r
        WHERE p.level = 'm' AND p.bucket = r.bucket
        RETURNING p.bucket, p.lo_key, p.hi_key
    ), merged AS (
        SELECT t.bucket, min(t.lo_key) AS lo, max(t.hi_key) AS hi
        FROM taken t GROUP BY t.bucket
    )
    SELECT array_agg(m.bucket ORDER BY m.bucket), array_agg(m.lo ORDER BY m.bucket),
           array_agg(m.hi ORDER BY m.bucket)
    INTO b, lo, hi FROM merged m;
    FOR i IN 1 .. coalesce(array_length(b, 1), 0) LOOP
        -- EXECUTE: planned for these very bounds: the BRIN over a district's
        -- minute, or the primary key for a few late devices (see key_expr).
        EXECUTE format($q$
            INSERT INTO readings_1m AS r
                (bucket, device_key, metric_key, n, v_sum, v_min, v_max, last_ts, last_value)
            SELECT $1, device_key, metric_key, count(*), sum(value), min(value), max(value),
                   max(ts), (array_agg(value ORDER BY ts DESC))[1]
            FROM readings
            WHERE ts >= $1 AND ts < $1 + interval '1 minute'
              AND %s BETWEEN $2 AND $3
            GROUP BY device_key, metric_key
            ORDER BY device_key, metric_key
            ON CONFLICT (device_key, metric_key, bucket) DO UPDATE SET
                n = EXCLUDED.n, v_sum = EXCLUDED.v_sum, v_min = EXCLUDED.v_min,
                v_max = EXCLUDED.v_max, last_ts = EXCLUDED.last_ts,
                last_value = EXCLUDED.last_value
            WHERE (r.n, r.v_sum, r.v_min, r.v_max, r.last_ts, r.last_value)
                IS DISTINCT FROM (EXCLUDED.n, EXCLUDED.v_sum, EXCLUDED.v_min,
                                  EXCLUDED.v_max, EXCLUDED.last_ts, EXCLUDED.last_value)
        $q$, commtwin_rollup_key_expr(lo[i], hi[i])) USING b[i], lo[i], hi[i];
        GET DIAGNOSTICS n = ROW_COUNT;
        level := 'minute'; bucket := b[i]; rows_written := n;
        RETURN NEXT;
    END LOOP;
    INSERT INTO rollup_pending (level, bucket, lo_key, hi_key)
    SELECT 'h', date_trunc('hour', u.m, 'UTC'), min(u.l), max(u.h)
    FROM unnest(b, lo, hi) AS u(m, l, h) GROUP BY 2;
    -- The mark never passes a minute still waiting (readers would take the
    -- rollup table's word for it); an hour is closed once its minutes are.
    SELECT least(m_horizon, min(p.bucket)) INTO m_horizon FROM rollup_pending p
    WHERE p.level = 'm' AND p.bucket >= m_mark;
    h_horizon := greatest(h_mark, date_trunc('hour', m_horizon, 'UTC'));

    -- An hour likewise, once closed and quiet for 8 x grace: behind the mark
    -- its minutes land one by one, and each would recompute the hour again.
    WITH ready AS (
        SELECT p.bucket FROM rollup_pending p WHERE p.level = 'h'
        GROUP BY p.bucket
        HAVING final
            OR (p.bucket < h_horizon AND max(p.logged_at) <= clock_timestamp() - 8 * grace)
    ), taken AS (
        DELETE FROM rollup_pending p USING ready r
        WHERE p.level = 'h' AND p.bucket = r.bucket
        RETURNING p.bucket, p.lo_key, p.hi_key
    ), merged AS (
        SELECT t.bucket, min(t.lo_key) AS lo, max(t.hi_key) AS hi
        FROM taken t GROUP BY t.bucket
    )
    SELECT array_agg(m.bucket ORDER BY m.bucket), array_agg(m.lo ORDER BY m.bucket),
           array_agg(m.hi ORDER BY m.bucket)
    INTO b, lo, hi FROM merged m;
    FOR i IN 1 .. coalesce(array_length(b, 1), 0) LOOP
        EXECUTE format($q$
            INSERT INTO readings_1h AS r
                (bucket, device_key, metric_key, n, v_sum, v_min, v_max, last_ts, last_value)
            SELECT $1, device_key, metric_key, sum(n), sum(v_sum), min(v_min), max(v_max),
                   max(last_ts), (array_agg(last_value ORDER BY last_ts DESC))[1]
            FROM readings_1m
            WHERE bucket >= $1 AND bucket < $1 + interval '1 hour'
              AND %s BETWEEN $2 AND $3
            GROUP BY device_key, metric_key
            ORDER BY device_key, metric_key
            ON CONFLICT (device_key, metric_key, bucket) DO UPDATE SET
                n = EXCLUDED.n, v_sum = EXCLUDED.v_sum, v_min = EXCLUDED.v_min,
                v_max = EXCLUDED.v_max, last_ts = EXCLUDED.last_ts,
                last_value = EXCLUDED.last_value
            WHERE (r.n, r.v_sum, r.v_min, r.v_max, r.last_ts, r.last_value)
                IS DISTINCT FROM (EXCLUDED.n, EXCLUDED.v_sum, EXCLUDED.v_min,
                                  EXCLUDED.v_max, EXCLUDED.last_ts, EXCLUDED.last_value)
        $q$, commtwin_rollup_key_expr(lo[i], hi[i])) USING b[i], lo[i], hi[i];
        GET DIAGNOSTICS n = ROW_COUNT;
        level := 'hour'; bucket := b[i]; rows_written := n;
        RETURN NEXT;
    END LOOP;

    SELECT least(h_horizon, min(p.bucket)) INTO h_horizon FROM rollup_pending p
    WHERE p.level = 'h' AND p.bucket >= h_mark;
    UPDATE rollup_state SET minutes_to = m_horizon, hours_to = h_horizon;
END $$;
