-- A year on disk (issue 25, part 3), plain PostgreSQL: retention per metric
-- class, and the rollups partitioned by time so that retention drops whole
-- partitions instead of DELETEing rows (a DELETE leaves dead tuples for
-- vacuum and scans the whole table: bucket is the last key column).
--
-- Classes (retention_classes): raw = readings, device_status, positions (day
-- partitions since 0002); rollup_1m = readings_1m (day partitions: at the
-- realistic feed a device reports every ~5 minutes, so readings_1m holds
-- about one row per reading, as many rows a day as readings); rollup_1h =
-- readings_1h (month partitions, ~1/12 of the rows); incidents =
-- incident_events, kept for good and not settable. keep_days NULL: kept for
-- good. Like TimescaleDB's drop_chunks, retention drops only partitions
-- wholly older than the cutoff: rows are kept up to one partition longer
-- than keep_days, never shorter.

CREATE TABLE retention_classes (
    metric_class text PRIMARY KEY,
    relations    text[] NOT NULL,
    keep_days    integer CHECK (keep_days BETWEEN 1 AND 36500),
    settable     boolean NOT NULL DEFAULT true,
    CHECK (settable OR keep_days IS NULL)
);
-- The single retention_days of 0002 becomes each time-series class's value.
INSERT INTO retention_classes (metric_class, relations, keep_days, settable)
SELECT c.name, c.relations, CASE WHEN c.settable THEN s.value::integer END, c.settable
FROM (VALUES ('raw', '{readings,device_status,positions}'::text[], true),
             ('rollup_1m', '{readings_1m}'::text[], true),
             ('rollup_1h', '{readings_1h}'::text[], true),
             ('incidents', '{incident_events}'::text[], false)) AS c(name, relations, settable)
CROSS JOIN storage_config s
WHERE s.key = 'retention_days';

-- The rollup tables become range-partitioned by bucket without copying a row:
-- the existing table (renamed *_legacy) is attached as the partition from
-- MINVALUE to the end of the current day/month (one validation scan), new
-- partitions follow it, and retention DELETEs from it until its last day is
-- past the cutoff, then drops it. An empty table is simply replaced. The new
-- partitions keep the fillfactor the table had (0010: 70, for the writer's
-- in-place updates), recorded in storage_config for commtwin_maintain.
DO $$
DECLARE
    spec record;
    legacy text;
    fill text;
    newest timestamptz;
    until timestamptz;
BEGIN
    FOR spec IN SELECT * FROM (VALUES ('readings_1m', 'day'), ('readings_1h', 'month')) AS s(parent, width) LOOP
        legacy := spec.parent || '_legacy';
        fill := coalesce((SELECT option_value FROM pg_options_to_table(
                              (SELECT reloptions FROM pg_class WHERE oid = spec.parent::regclass))
                          WHERE option_name = 'fillfactor'), '100');
        INSERT INTO storage_config (key, value) VALUES ('fillfactor:' || spec.parent, fill);
        EXECUTE format('ALTER TABLE %I RENAME TO %I', spec.parent, legacy);
        EXECUTE format('ALTER INDEX %I RENAME TO %I', spec.parent || '_pkey', legacy || '_pkey');
        EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING ALL) PARTITION BY RANGE (bucket)',
                       spec.parent, legacy);
        EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT WITH (fillfactor = %s)',
                       spec.parent || '_default', spec.parent, fill::integer);
        EXECUTE format('SELECT max(bucket) FROM %I', legacy) INTO newest;
        IF newest IS NULL THEN
            EXECUTE format('DROP TABLE %I', legacy);
        ELSE
            until := date_trunc(spec.width, greatest(newest, now()), 'UTC')
                     + CASE spec.width WHEN 'day' THEN interval '1 day' ELSE interval '1 month' END;
            EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (MINVALUE) TO (%L)',
                           spec.parent, legacy, until);
            INSERT INTO storage_config (key, value) VALUES ('legacy_until:' || spec.parent, until::text);
        END IF;
    END LOOP;
END $$;

-- The end of a partition named <parent>_pYYYYMMDD (a UTC day) or
-- <parent>_pYYYYMM (a UTC month); NULL for any other name.
CREATE FUNCTION commtwin_partition_end(relname text) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN relname ~ '_p[0-9]{8}$'
            THEN (to_date(right(relname, 8), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC'
        WHEN relname ~ '_p[0-9]{6}$'
            THEN (to_date(right(relname, 6), 'YYYYMM') + interval '1 month') AT TIME ZONE 'UTC'
    END
$$;

-- Create the partition `part` of a rollup for [lo, hi), moving the rows the
-- default partition holds for that range into it; a range the legacy
-- partition covers stays there.
CREATE FUNCTION commtwin_ensure_rollup_partition(parent text, part text, lo timestamptz, hi timestamptz)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    fill text := coalesce((SELECT value FROM storage_config WHERE key = 'fillfactor:' || parent), '100');
BEGIN
    IF to_regclass(part) IS NOT NULL
       OR lo < (SELECT value::timestamptz FROM storage_config WHERE key = 'legacy_until:' || parent) THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS) WITH (fillfactor = %s)',
                   part, parent, fill::integer);
    EXECUTE format('WITH moved AS (DELETE FROM %I WHERE bucket >= $1 AND bucket < $2 RETURNING *) '
                   'INSERT INTO %I SELECT * FROM moved', parent || '_default', part)
        USING lo, hi;
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', parent, part, lo, hi);
    RETURN true;
END $$;

-- Bad input to the retention setters is one clear error (SQLSTATE 22023).
CREATE FUNCTION commtwin_check_retention(cls text, days integer) RETURNS void
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
END $$;

-- days NULL: kept for good. Takes effect at the next commtwin_maintain().
CREATE FUNCTION commtwin_set_class_retention(cls text, days integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM commtwin_check_retention(cls, days);
    UPDATE retention_classes SET keep_days = days WHERE metric_class = cls;
END $$;

-- The setting of 0002 keeps its meaning: one number for every time-series
-- class (raw and both rollups); incidents stay kept for good.
CREATE OR REPLACE FUNCTION commtwin_set_retention(days integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE storage_config SET value = days::text WHERE key = 'retention_days';
    PERFORM commtwin_set_class_retention(c, days) FROM unnest(ARRAY['raw', 'rollup_1m', 'rollup_1h']) c;
END $$;

-- Periodic maintenance (`commtwin db upgrade`, `commtwin db maintain`, hourly
-- by every ingestor): partitions ahead (days for raw and readings_1m, months
-- for readings_1h), then retention per class. One line per action for logs.
CREATE OR REPLACE FUNCTION commtwin_maintain(ahead_days integer DEFAULT 7, now_ts timestamptz DEFAULT now())
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    parent text;
    col text;
    d date;
    lo timestamptz;
    cls record;
    cutoff timestamptz;
    part record;
    until timestamptz;
    n bigint;
    first_day date := ((now_ts - interval '1 day') AT TIME ZONE 'UTC')::date;
    last_day date := ((now_ts + make_interval(days => ahead_days)) AT TIME ZONE 'UTC')::date;
BEGIN
    -- Serialise concurrent maintainers (several ingestors).
    PERFORM pg_advisory_xact_lock(hashtext('commtwin_maintain'));
    FOREACH parent IN ARRAY ARRAY['readings', 'device_status', 'positions'] LOOP
        FOR d IN SELECT generate_series(first_day, last_day, interval '1 day')::date LOOP
            IF commtwin_ensure_partition(parent, d) THEN
                RETURN NEXT format('created %s_p%s', parent, to_char(d, 'YYYYMMDD'));
            END IF;
        END LOOP;
    END LOOP;
    FOR d IN SELECT generate_series(first_day, last_day, interval '1 day')::date LOOP
        lo := d::timestamp AT TIME ZONE 'UTC';
        IF commtwin_ensure_rollup_partition('readings_1m', format('readings_1m_p%s', to_char(d, 'YYYYMMDD')),
                                            lo, lo + interval '1 day') THEN
            RETURN NEXT format('created readings_1m_p%s', to_char(d, 'YYYYMMDD'));
        END IF;
    END LOOP;
    FOR d IN SELECT generate_series(date_trunc('month', first_day::timestamp),
                                    date_trunc('month', last_day::timestamp) + interval '1 month',
                                    interval '1 month')::date LOOP
        lo := d::timestamp AT TIME ZONE 'UTC';
        IF commtwin_ensure_rollup_partition('readings_1h', format('readings_1h_p%s', to_char(d, 'YYYYMM')),
                                            lo, lo + interval '1 month') THEN
            RETURN NEXT format('created readings_1h_p%s', to_char(d, 'YYYYMM'));
        END IF;
    END LOOP;

    FOR cls IN SELECT * FROM retention_classes WHERE keep_days IS NOT NULL ORDER BY metric_class LOOP
        cutoff := now_ts - make_interval(days => cls.keep_days);
        FOREACH parent IN ARRAY cls.relations LOOP
            col := CASE WHEN parent IN ('readings_1m', 'readings_1h') THEN 'bucket' ELSE 'ts' END;
            FOR part IN
                SELECT c.relname FROM pg_inherits i
                JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = parent::regclass
                  AND c.relname ~ ('^' || parent || '_p[0-9]{6}([0-9]{2})?$')
                  AND commtwin_partition_end(c.relname) <= cutoff
                ORDER BY c.relname
            LOOP
                EXECUTE format('DROP TABLE %I', part.relname);
                RETURN NEXT format('dropped %s', part.relname);
            END LOOP;
            until := (SELECT value::timestamptz FROM storage_config WHERE key = 'legacy_until:' || parent);
            IF until IS NOT NULL AND until <= cutoff THEN
                EXECUTE format('DROP TABLE %I', parent || '_legacy');
                DELETE FROM storage_config WHERE key = 'legacy_until:' || parent;
                RETURN NEXT format('dropped %s_legacy', parent);
            ELSIF until IS NOT NULL THEN
                EXECUTE format('DELETE FROM %I WHERE %I < $1', parent || '_legacy', col) USING cutoff;
                GET DIAGNOSTICS n = ROW_COUNT;
                IF n > 0 THEN
                    RETURN NEXT format('deleted %s old rows from %s_legacy', n, parent);
                END IF;
            END IF;
            IF to_regclass(parent || '_default') IS NOT NULL THEN
                EXECUTE format('DELETE FROM %I WHERE %I < $1', parent || '_default', col) USING cutoff;
                GET DIAGNOSTICS n = ROW_COUNT;
                IF n > 0 THEN
                    RETURN NEXT format('deleted %s old rows from %s_default', n, parent);
                END IF;
            END IF;
        END LOOP;
    END LOOP;
    DELETE FROM change_log WHERE at < now_ts - interval '1 day';
END $$;
