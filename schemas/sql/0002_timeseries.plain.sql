-- Time series on plain PostgreSQL: native range partitioning by day, with
-- partitions created ahead and dropped by retention (commtwin_maintain), and
-- rollup tables that the ingest writer keeps current in the same transaction
-- as the raw rows (see ingest), so history queries return the same answers
-- as TimescaleDB's continuous aggregates.

INSERT INTO storage_config (key, value) VALUES ('mode', 'plain'), ('retention_days', '400');

CREATE TABLE readings (
    ts         timestamptz NOT NULL,
    device_key bigint NOT NULL,
    metric_key integer NOT NULL,
    value      double precision NOT NULL,
    -- The dedup key: a redelivered reading is the same (device, metric, ts).
    PRIMARY KEY (device_key, metric_key, ts)
) PARTITION BY RANGE (ts);
CREATE TABLE readings_default PARTITION OF readings DEFAULT;

CREATE TABLE device_status (
    ts         timestamptz NOT NULL,
    device_key bigint NOT NULL,
    online     boolean NOT NULL,
    battery    double precision,
    rssi       double precision,
    PRIMARY KEY (device_key, ts)
) PARTITION BY RANGE (ts);
CREATE TABLE device_status_default PARTITION OF device_status DEFAULT;

-- Located positions of moving devices (wearables).
CREATE TABLE positions (
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
) PARTITION BY RANGE (ts);
CREATE TABLE positions_default PARTITION OF positions DEFAULT;

-- Incident events are few and kept for KPIs over any period: not partitioned.
CREATE TABLE incident_events (
    community_id text NOT NULL,
    incident_id  text NOT NULL,
    event_id     text NOT NULL,
    type         text NOT NULL,
    ts           timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    source       text NOT NULL DEFAULT 'mqtt',  -- mqtt | api | auto
    actor        text,
    assignee     text,
    note         text,
    data         jsonb NOT NULL DEFAULT '{}',
    -- Same shape as the hypertable variant, whose unique keys must hold ts.
    UNIQUE (community_id, incident_id, event_id, ts)
);
CREATE INDEX incident_events_by_incident ON incident_events (community_id, incident_id, ts);

-- Rollups: avg = v_sum / n; re-bucketing sums n and v_sum, takes min of v_min,
-- max of v_max, and last_value of the greatest last_ts.
CREATE TABLE readings_1m (
    bucket     timestamptz NOT NULL,
    device_key bigint NOT NULL,
    metric_key integer NOT NULL,
    n          bigint NOT NULL,
    v_sum      double precision NOT NULL,
    v_min      double precision NOT NULL,
    v_max      double precision NOT NULL,
    last_ts    timestamptz NOT NULL,
    last_value double precision NOT NULL,
    PRIMARY KEY (device_key, metric_key, bucket)
);
CREATE TABLE readings_1h (LIKE readings_1m INCLUDING ALL);

-- Create the partition of `parent` for the day holding `day`, moving any rows
-- the default partition already holds for that day into it.
CREATE FUNCTION commtwin_ensure_partition(parent text, day date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    part text := format('%s_p%s', parent, to_char(day, 'YYYYMMDD'));
    -- Partitions are UTC days whatever the session's time zone.
    lo timestamptz := day::timestamp AT TIME ZONE 'UTC';
    hi timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
    IF to_regclass(part) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part, parent);
    EXECUTE format('WITH moved AS (DELETE FROM %I WHERE ts >= $1 AND ts < $2 RETURNING *) '
                   'INSERT INTO %I SELECT * FROM moved', parent || '_default', part)
        USING lo, hi;
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   parent, part, lo, hi);
    RETURN true;
END $$;

-- Periodic maintenance (run by `commtwin db upgrade`, `commtwin db maintain`
-- and hourly by every ingestor): partitions for yesterday .. today+ahead_days,
-- then retention. Returns one line per action for logs.
CREATE FUNCTION commtwin_maintain(ahead_days integer DEFAULT 7, now_ts timestamptz DEFAULT now())
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    parent text;
    d date;
    keep_days integer := (SELECT value::integer FROM storage_config WHERE key = 'retention_days');
    cutoff timestamptz := now_ts - make_interval(days => keep_days);
    part record;
    n bigint;
BEGIN
    -- Serialise concurrent maintainers (several ingestors).
    PERFORM pg_advisory_xact_lock(hashtext('commtwin_maintain'));
    FOREACH parent IN ARRAY ARRAY['readings', 'device_status', 'positions'] LOOP
        FOR d IN SELECT generate_series(((now_ts - interval '1 day') AT TIME ZONE 'UTC')::date,
                                        ((now_ts + make_interval(days => ahead_days)) AT TIME ZONE 'UTC')::date,
                                        interval '1 day')::date LOOP
            IF commtwin_ensure_partition(parent, d) THEN
                RETURN NEXT format('created %s_p%s', parent, to_char(d, 'YYYYMMDD'));
            END IF;
        END LOOP;
        FOR part IN
            SELECT c.relname FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = parent::regclass
              AND c.relname ~ ('^' || parent || '_p[0-9]{8}$')
              AND to_date(right(c.relname, 8), 'YYYYMMDD') + 1 <= (cutoff AT TIME ZONE 'UTC')::date
        LOOP
            EXECUTE format('DROP TABLE %I', part.relname);
            RETURN NEXT format('dropped %s', part.relname);
        END LOOP;
        EXECUTE format('DELETE FROM %I WHERE ts < $1', parent || '_default') USING cutoff;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n > 0 THEN
            RETURN NEXT format('deleted %s old rows from %s_default', n, parent);
        END IF;
    END LOOP;
    DELETE FROM readings_1m WHERE bucket < cutoff;
    DELETE FROM readings_1h WHERE bucket < cutoff;
    DELETE FROM change_log WHERE at < now_ts - interval '1 day';
END $$;

CREATE FUNCTION commtwin_set_retention(days integer) RETURNS void LANGUAGE sql AS $$
    UPDATE storage_config SET value = days::text WHERE key = 'retention_days';
$$;
