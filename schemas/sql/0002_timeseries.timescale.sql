-- commtwin: no-transaction
-- Time series on TimescaleDB: hypertables, compression after 7 days segmented
-- by device, retention by policy, and continuous aggregates with the same
-- columns as the plain-PostgreSQL rollup tables (so history queries are one).
-- Written to the TimescaleDB 2.x documentation (create_hypertable with
-- by_range, ALTER TABLE ... SET (timescaledb.compress ...), add_*_policy);
-- every statement is re-runnable because this file runs outside a transaction.

CREATE EXTENSION IF NOT EXISTS timescaledb;

INSERT INTO storage_config (key, value) VALUES ('mode', 'timescale'), ('retention_days', '400')
    ON CONFLICT (key) DO NOTHING;

CREATE TABLE IF NOT EXISTS readings (
    ts         timestamptz NOT NULL,
    device_key bigint NOT NULL,
    metric_key integer NOT NULL,
    value      double precision NOT NULL,
    PRIMARY KEY (device_key, metric_key, ts)
);
SELECT create_hypertable('readings', by_range('ts', INTERVAL '1 day'), if_not_exists => TRUE);

CREATE TABLE IF NOT EXISTS device_status (
    ts         timestamptz NOT NULL,
    device_key bigint NOT NULL,
    online     boolean NOT NULL,
    battery    double precision,
    rssi       double precision,
    PRIMARY KEY (device_key, ts)
);
SELECT create_hypertable('device_status', by_range('ts', INTERVAL '7 days'), if_not_exists => TRUE);

CREATE TABLE IF NOT EXISTS positions (
    ts          timestamptz NOT NULL,
    device_key  bigint NOT NULL,
    x           double precision NOT NULL,
    y           double precision NOT NULL,
    z           double precision NOT NULL,
    building_id text,
    storey_idx  integer,
    unit_id     text,
    grid_id     text,
    PRIMARY KEY (device_key, ts)
);
SELECT create_hypertable('positions', by_range('ts', INTERVAL '1 day'), if_not_exists => TRUE);

CREATE TABLE IF NOT EXISTS incident_events (
    community_id text NOT NULL,
    incident_id  text NOT NULL,
    event_id     text NOT NULL,
    type         text NOT NULL,
    ts           timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    source       text NOT NULL DEFAULT 'mqtt',
    actor        text,
    assignee     text,
    note         text,
    data         jsonb NOT NULL DEFAULT '{}',
    -- A hypertable's unique keys must include its time column.
    UNIQUE (community_id, incident_id, event_id, ts)
);
CREATE INDEX IF NOT EXISTS incident_events_by_incident ON incident_events (community_id, incident_id, ts);
SELECT create_hypertable('incident_events', by_range('ts', INTERVAL '30 days'), if_not_exists => TRUE);

ALTER TABLE readings SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'device_key',
    timescaledb.compress_orderby = 'metric_key, ts DESC'
);
SELECT add_compression_policy('readings', compress_after => INTERVAL '7 days', if_not_exists => TRUE);
ALTER TABLE device_status SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'device_key',
    timescaledb.compress_orderby = 'ts DESC'
);
SELECT add_compression_policy('device_status', compress_after => INTERVAL '7 days', if_not_exists => TRUE);

SELECT add_retention_policy('readings', drop_after => INTERVAL '400 days', if_not_exists => TRUE);
SELECT add_retention_policy('device_status', drop_after => INTERVAL '400 days', if_not_exists => TRUE);
SELECT add_retention_policy('positions', drop_after => INTERVAL '400 days', if_not_exists => TRUE);

-- Real-time aggregates (materialized_only = false): recent raw rows are
-- merged in, so a fresh reading shows in bucketed history as in plain mode.
CREATE MATERIALIZED VIEW IF NOT EXISTS readings_1m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 minute', ts) AS bucket,
       device_key, metric_key,
       count(*) AS n, sum(value) AS v_sum, min(value) AS v_min, max(value) AS v_max,
       max(ts) AS last_ts, last(value, ts) AS last_value
FROM readings
GROUP BY bucket, device_key, metric_key
WITH NO DATA;
SELECT add_continuous_aggregate_policy('readings_1m',
    start_offset => INTERVAL '3 hours', end_offset => INTERVAL '1 minute',
    schedule_interval => INTERVAL '1 minute', if_not_exists => TRUE);

CREATE MATERIALIZED VIEW IF NOT EXISTS readings_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket,
       device_key, metric_key,
       count(*) AS n, sum(value) AS v_sum, min(value) AS v_min, max(value) AS v_max,
       max(ts) AS last_ts, last(value, ts) AS last_value
FROM readings
GROUP BY bucket, device_key, metric_key
WITH NO DATA;
SELECT add_continuous_aggregate_policy('readings_1h',
    start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour',
    schedule_interval => INTERVAL '30 minutes', if_not_exists => TRUE);

-- Chunks, compression and retention are TimescaleDB's jobs; maintenance only
-- prunes the change log, so callers need not know the mode.
CREATE OR REPLACE FUNCTION commtwin_maintain(ahead_days integer DEFAULT 7, now_ts timestamptz DEFAULT now())
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    DELETE FROM change_log WHERE at < now_ts - interval '1 day';
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        RETURN NEXT format('deleted %s change_log rows', n);
    END IF;
END $$;

CREATE OR REPLACE FUNCTION commtwin_set_retention(days integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t text;
BEGIN
    UPDATE storage_config SET value = days::text WHERE key = 'retention_days';
    FOREACH t IN ARRAY ARRAY['readings', 'device_status', 'positions'] LOOP
        PERFORM remove_retention_policy(t, if_exists => TRUE);
        PERFORM add_retention_policy(t, drop_after => make_interval(days => days));
    END LOOP;
END $$;
