-- Raw partitions of a width in minutes (issue 25, part 1; 0095), plain
-- PostgreSQL: 0092's functions reading the width through commtwin_raw_width(),
-- names for partitions that do not start or end on the hour, and the setter
-- taking minutes.

-- Create the partitions of the raw table `parent` that [lo, hi) lacks, at the
-- configured width: for each slot, the pieces no partition covers yet (after
-- a width change a slot may be partly covered), moving the rows the default
-- partition holds for them. Returns the names created.
CREATE OR REPLACE FUNCTION commtwin_ensure_raw_partitions(parent text, lo timestamptz, hi timestamptz)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    width interval := commtwin_raw_width();
    -- The existing partitions that overlap [lo, hi), in order: read once,
    -- since reading a partition's bound is the costly part (pg_get_expr).
    taken_lo timestamptz[];
    taken_hi timestamptz[];
    i integer := 1;
    slot timestamptz := date_bin(width, lo, '2000-01-01 00:00:00+00');
    slot_end timestamptz;
    cur timestamptz;
BEGIN
    SELECT coalesce(array_agg(coalesce(p.lo, '-infinity') ORDER BY p.lo NULLS FIRST), '{}'),
           coalesce(array_agg(coalesce(p.hi, 'infinity') ORDER BY p.lo NULLS FIRST), '{}')
    INTO taken_lo, taken_hi
    FROM commtwin_partitions(parent::regclass) p
    WHERE coalesce(p.lo, '-infinity') < commtwin_ensure_raw_partitions.hi
      AND coalesce(p.hi, 'infinity') > slot;
    WHILE slot < hi LOOP
        slot_end := slot + width;
        cur := slot;
        -- Partitions ending before this slot were passed; the last one seen
        -- may reach into the next slot, so it is looked at again there.
        WHILE i <= cardinality(taken_lo) AND taken_hi[i] <= slot LOOP
            i := i + 1;
        END LOOP;
        FOR j IN i .. cardinality(taken_lo) LOOP
            EXIT WHEN taken_lo[j] >= slot_end;
            IF taken_lo[j] > cur THEN
                RETURN NEXT commtwin_create_raw_partition(parent, cur, taken_lo[j]);
            END IF;
            cur := greatest(cur, taken_hi[j]);
        END LOOP;
        IF cur < slot_end THEN
            RETURN NEXT commtwin_create_raw_partition(parent, cur, slot_end);
        END IF;
        slot := slot_end;
    END LOOP;
END $$;

-- One partition for [lo, hi), named after its UTC start: a whole day as
-- _pYYYYMMDD (0002), whole hours as _pYYYYMMDDHH (0092), anything else as
-- _pYYYYMMDDHHMI. Two partitions never share a start, and a start's name
-- differs by format between the three, so names never collide.
CREATE OR REPLACE FUNCTION commtwin_create_raw_partition(parent text, lo timestamptz, hi timestamptz)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    whole_day boolean := hi - lo = interval '1 day' AND date_trunc('day', lo, 'UTC') = lo;
    whole_hours boolean := date_trunc('hour', lo, 'UTC') = lo AND date_trunc('hour', hi, 'UTC') = hi;
    part text := format('%s_p%s', parent,
                        to_char(lo AT TIME ZONE 'UTC', CASE WHEN whole_day THEN 'YYYYMMDD'
                                                            WHEN whole_hours THEN 'YYYYMMDDHH24'
                                                            ELSE 'YYYYMMDDHH24MI' END));
BEGIN
    IF to_regclass(part) IS NOT NULL THEN
        RAISE EXCEPTION 'cannot create partition % for [%, %): a table of that name exists', part, lo, hi;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part, parent);
    EXECUTE format('WITH moved AS (DELETE FROM %I WHERE ts >= $1 AND ts < $2 RETURNING *) '
                   'INSERT INTO %I SELECT * FROM moved', parent || '_default', part)
        USING lo, hi;
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   parent, part, lo, hi);
    RETURN part;
END $$;

-- Set the width (0092's setter, in minutes).
DROP FUNCTION commtwin_set_raw_partition_hours(integer, timestamptz);
CREATE FUNCTION commtwin_set_raw_partition_minutes(minutes integer, now_ts timestamptz DEFAULT now())
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    problem text := commtwin_raw_width_problem(
        minutes, (SELECT keep_days FROM retention_classes WHERE metric_class = 'raw'));
    parent text;
    p record;
    has_rows boolean;
BEGIN
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION '%', problem USING ERRCODE = '22023';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('commtwin_maintain'));
    UPDATE storage_config SET value = minutes::text WHERE key = 'raw_partition_minutes';
    FOREACH parent IN ARRAY ARRAY['readings', 'device_status', 'positions'] LOOP
        EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', parent);
        FOR p IN SELECT x.part::text AS name FROM commtwin_partitions(parent::regclass) x
                 WHERE x.hi > now_ts AND x.hi - x.lo <> make_interval(mins => minutes)
                 ORDER BY x.lo LOOP
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', p.name) INTO has_rows;
            IF NOT has_rows THEN
                EXECUTE format('DROP TABLE %s', p.name);
                RETURN NEXT format('dropped %s (empty, at the old width)', p.name);
            END IF;
        END LOOP;
    END LOOP;
    RETURN QUERY SELECT * FROM commtwin_maintain(now_ts => now_ts);
END $$;

-- 0092's maintenance, the width read through commtwin_raw_width().
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
    -- Raw partitions ahead: ahead_days, but at most 24 of them (0092's
    -- reasons). At the narrowest width, 10 minutes, that is 4 hours: three
    -- missed hourly runs, and readings past it wait in the default
    -- partition until the next run moves them.
    raw_until timestamptz := least((last_day + 1)::timestamp AT TIME ZONE 'UTC',
                                   now_ts + 24 * commtwin_raw_width());
BEGIN
    -- Serialise concurrent maintainers (several ingestors).
    PERFORM pg_advisory_xact_lock(hashtext('commtwin_maintain'));
    FOREACH parent IN ARRAY ARRAY['readings', 'device_status', 'positions'] LOOP
        RETURN QUERY SELECT 'created ' || p
            FROM commtwin_ensure_raw_partitions(parent, first_day::timestamp AT TIME ZONE 'UTC', raw_until) p;
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
            -- The legacy rollup partition (0089) starts at MINVALUE: handled below.
            FOR part IN
                SELECT p.part::text AS name FROM commtwin_partitions(parent::regclass) p
                WHERE p.lo IS NOT NULL AND p.hi <= cutoff
                ORDER BY p.lo
            LOOP
                EXECUTE format('DROP TABLE %s', part.name);
                RETURN NEXT format('dropped %s', part.name);
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
