-- commtwin: no-transaction
-- A year on disk (issue 25, part 3), TimescaleDB: retention per metric class
-- as retention policies on the hypertables and on the continuous aggregates,
-- and compression of every time-series class. The classes and their meaning
-- are those of the plain variant (retention_classes; keep_days NULL = kept
-- for good; incidents always kept). Written to the TimescaleDB 2.x
-- documentation: "ALTER TABLE (Compression)", add_compression_policy,
-- "Compression on continuous aggregates" (ALTER MATERIALIZED VIEW ... SET
-- (timescaledb.compress = true), compress_after larger than the refresh
-- policy's start_offset), add_retention_policy / remove_retention_policy
-- (a hypertable or a continuous aggregate), and "Data retention with
-- continuous aggregates" (raw data may be dropped only outside the
-- aggregates' refresh windows, else a refresh deletes the aggregated
-- buckets: hence the minimum below). Every statement is re-runnable because
-- this file runs outside a transaction.

CREATE TABLE IF NOT EXISTS retention_classes (
    metric_class text PRIMARY KEY,
    relations    text[] NOT NULL,
    keep_days    integer CHECK (keep_days BETWEEN 1 AND 36500),
    settable     boolean NOT NULL DEFAULT true,
    CHECK (settable OR keep_days IS NULL)
);
-- The single retention_days of 0002 becomes each time-series class's value,
-- as in plain mode (0002 had no policy on the aggregates; they get one at
-- the end of this file). At least 4 days: see commtwin_check_retention.
INSERT INTO retention_classes (metric_class, relations, keep_days, settable)
SELECT c.name, c.relations, CASE WHEN c.settable THEN greatest(s.value::integer, 4) END, c.settable
FROM (VALUES ('raw', '{readings,device_status,positions}'::text[], true),
             ('rollup_1m', '{readings_1m}'::text[], true),
             ('rollup_1h', '{readings_1h}'::text[], true),
             ('incidents', '{incident_events}'::text[], false)) AS c(name, relations, settable)
CROSS JOIN storage_config s
WHERE s.key = 'retention_days'
ON CONFLICT (metric_class) DO NOTHING;

-- Compression segmented per series (device and metric): each segment holds
-- one series ordered by time, which the delta and Gorilla encodings compress
-- best. Chunks compressed before keep their settings (per-chunk compression
-- settings, TimescaleDB 2.14+: timescaledb_information.chunk_compression_settings).
ALTER TABLE readings SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'device_key, metric_key',
    timescaledb.compress_orderby = 'ts DESC'
);
ALTER TABLE positions SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'device_key',
    timescaledb.compress_orderby = 'ts DESC'
);
SELECT add_compression_policy('positions', compress_after => INTERVAL '7 days', if_not_exists => TRUE);

-- The aggregates: segmented by their GROUP BY columns and ordered by bucket
-- (the documented default). compress_after is past each refresh policy's
-- start_offset (3 hours for readings_1m, 3 days for readings_1h, see 0002).
ALTER MATERIALIZED VIEW readings_1m SET (timescaledb.compress = true);
SELECT add_compression_policy('readings_1m', compress_after => INTERVAL '7 days', if_not_exists => TRUE);
ALTER MATERIALIZED VIEW readings_1h SET (timescaledb.compress = true);
SELECT add_compression_policy('readings_1h', compress_after => INTERVAL '30 days', if_not_exists => TRUE);

-- Bad input to the retention setters is one clear error (SQLSTATE 22023).
-- Raw data and readings_1h must outlive the widest refresh window (3 days):
-- a refresh over dropped raw chunks would delete the aggregated buckets.
CREATE OR REPLACE FUNCTION commtwin_check_retention(cls text, days integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    entry retention_classes;
BEGIN
    SELECT * INTO entry FROM retention_classes WHERE metric_class = cls;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown metric class %: expected one of %', quote_literal(cls),
            (SELECT string_agg(metric_class, ', ' ORDER BY metric_class) FROM retention_classes WHERE settable)
            USING ERRCODE = '22023';
    END IF;
    IF NOT entry.settable THEN
        RAISE EXCEPTION 'the % class is kept for good; its retention cannot be set', cls
            USING ERRCODE = '22023';
    END IF;
    IF days IS NOT NULL AND days NOT BETWEEN 1 AND 36500 THEN
        RAISE EXCEPTION 'retention of %: % days is out of range (1 to 36500, or kept for good)', cls, days
            USING ERRCODE = '22023';
    END IF;
    IF days IS NOT NULL AND days <= 3 AND cls IN ('raw', 'rollup_1h') THEN
        RAISE EXCEPTION 'retention of %: % days is within the continuous aggregates'' 3-day refresh window; keep at least 4', cls, days
            USING ERRCODE = '22023';
    END IF;
END $$;

-- days NULL: kept for good. A retention policy's drop_after cannot be
-- altered in place (add_retention_policy with if_not_exists keeps the old
-- one): the old policy is removed and the new one added.
CREATE OR REPLACE FUNCTION commtwin_set_class_retention(cls text, days integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    rel text;
BEGIN
    PERFORM commtwin_check_retention(cls, days);
    UPDATE retention_classes SET keep_days = days WHERE metric_class = cls;
    FOREACH rel IN ARRAY (SELECT relations FROM retention_classes WHERE metric_class = cls) LOOP
        PERFORM remove_retention_policy(rel::regclass, if_exists => TRUE);
        IF days IS NOT NULL THEN
            PERFORM add_retention_policy(rel::regclass, drop_after => make_interval(days => days));
        END IF;
    END LOOP;
END $$;

-- The setting of 0002 keeps its meaning in both modes: one number for every
-- time-series class (raw and both rollups); incidents stay kept for good.
CREATE OR REPLACE FUNCTION commtwin_set_retention(days integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE storage_config SET value = days::text WHERE key = 'retention_days';
    PERFORM commtwin_set_class_retention(c, days) FROM unnest(ARRAY['raw', 'rollup_1m', 'rollup_1h']) c;
END $$;

-- Policies for every class as recorded (replaces 0002's raw policies).
SELECT commtwin_set_class_retention(metric_class, keep_days)
FROM retention_classes WHERE settable ORDER BY metric_class;
