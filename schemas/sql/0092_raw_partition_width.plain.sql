-- Raw partitions of a settable width (issue 25, part 1), plain PostgreSQL.
--
-- Each (device, metric) series takes its next primary-key entry at the end
-- of its own key range. In a day partition of a district (800,000 series)
-- every series soon has its own hot leaf page: the writer's working set is
-- series x 8 KB (~7 GB), and after each checkpoint every leaf it touches goes
-- to the WAL again in full. An hour's partition holds fewer entries than that,
-- so its whole index is the hot set and shrinks with the width: at the day
-- load (2,870 readings/s) ~10 M entries an hour. TimescaleDB sizes its chunks
-- for the same reason (set_chunk_time_interval; 0092's timescale variant).
-- Measured (bench/bench_partition_width.py, on Debian's server defaults): a
-- reading written into a day partition already holding 40 M cost 3,889 B of
-- WAL and 23.9 us of database time; into an hour's holding 9.6 M (its
-- fullest at the day load) 904 B and 19.8 us; into a fresh hour's 267 B and
-- 14.1 us.
--
-- The width (hours, a divisor of 24, slots aligned on UTC midnight) applies
-- to every raw table (readings, device_status, positions) from the next
-- partition created; partitions already holding rows keep their range.
-- Partitions are found by the range the catalog records for them, not by
-- name, so partitions of different widths live side by side and retention
-- drops each once its end is past the cutoff.

-- The range of a range partition: lo NULL for MINVALUE, hi NULL for MAXVALUE,
-- both NULL for a default partition. pg_get_expr prints the bounds with the
-- session's DateStyle and TimeZone, which the casts here read back.
CREATE FUNCTION commtwin_partition_range(part regclass, OUT lo timestamptz, OUT hi timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT m[1]::timestamptz, m[2]::timestamptz
    FROM (SELECT regexp_match(pg_get_expr(c.relpartbound, c.oid),
                              '^FOR VALUES FROM \((?:''([^'']*)''|MINVALUE)\) TO \((?:''([^'']*)''|MAXVALUE)\)$') AS m
          FROM pg_class c WHERE c.oid = part) AS b
$$;

-- The partitions of `parent` with their ranges, the default left out.
CREATE FUNCTION commtwin_partitions(parent regclass)
RETURNS TABLE (part regclass, lo timestamptz, hi timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT i.inhrelid::regclass, r.lo, r.hi
    FROM pg_inherits i, commtwin_partition_range(i.inhrelid::regclass) r
    WHERE i.inhparent = parent AND (r.lo IS NOT NULL OR r.hi IS NOT NULL)
$$;

-- Create the partitions of the raw table `parent` that [lo, hi) lacks, at the
-- configured width: for each slot, the pieces no partition covers yet (after
-- a width change a slot may be partly covered), moving the rows the default
-- partition holds for them. Returns the names created.
CREATE FUNCTION commtwin_ensure_raw_partitions(parent text, lo timestamptz, hi timestamptz)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    width interval := make_interval(hours => (SELECT value::integer FROM storage_config
                                              WHERE key = 'raw_partition_hours'));
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

-- One partition for [lo, hi): named after its UTC start, a whole day as
-- _pYYYYMMDD (the names of 0002), anything else as _pYYYYMMDDHH.
CREATE FUNCTION commtwin_create_raw_partition(parent text, lo timestamptz, hi timestamptz)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    whole_day boolean := hi - lo = interval '1 day' AND date_trunc('day', lo, 'UTC') = lo;
    part text := format('%s_p%s', parent,
                        to_char(lo AT TIME ZONE 'UTC', CASE WHEN whole_day THEN 'YYYYMMDD'
                                                            ELSE 'YYYYMMDDHH24' END));
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

-- 0002's day function keeps its meaning (every raw row of that UTC day has a
-- partition afterwards), now at the configured width.
CREATE OR REPLACE FUNCTION commtwin_ensure_partition(parent text, day date) RETURNS boolean
LANGUAGE sql AS $$
    SELECT count(*) > 0
    FROM commtwin_ensure_raw_partitions(parent, day::timestamp AT TIME ZONE 'UTC',
                                        (day + 1)::timestamp AT TIME ZONE 'UTC')
$$;

-- Set the width. Partitions already holding rows keep their range; those
-- that still lie ahead, or hold the present, and are empty are made again
-- at the new width at once, by maintenance in the same transaction (so no
-- moment without a partition). Writers wait for the table's lock meanwhile:
-- an empty partition is dropped only while nobody can write into it.
CREATE FUNCTION commtwin_set_raw_partition_hours(hours integer, now_ts timestamptz DEFAULT now())
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    problem text := commtwin_raw_width_problem(
        hours, (SELECT keep_days FROM retention_classes WHERE metric_class = 'raw'));
    parent text;
    p record;
    has_rows boolean;
BEGIN
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION '%', problem USING ERRCODE = '22023';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('commtwin_maintain'));
    UPDATE storage_config SET value = hours::text WHERE key = 'raw_partition_hours';
    FOREACH parent IN ARRAY ARRAY['readings', 'device_status', 'positions'] LOOP
        EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', parent);
        FOR p IN SELECT x.part::text AS name FROM commtwin_partitions(parent::regclass) x
                 WHERE x.hi > now_ts AND x.hi - x.lo <> make_interval(hours => hours)
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

-- 0089's maintenance with the raw tables at the configured width and
-- retention by each partition's recorded end (partitions of any width).
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
    -- Raw partitions ahead: ahead_days, but at most 24 of them. A query for
    -- the newest reading since some time (`ts >= $1 ORDER BY ts DESC LIMIT
    -- 1`, one per device) opens every partition from there on, empty ones
    -- ahead included: a week of hourly ones would be 168 more per device.
    -- A day of hourly partitions ahead is still 24 missed hourly runs.
    raw_until timestamptz := least(
        (last_day + 1)::timestamp AT TIME ZONE 'UTC',
        now_ts + 24 * make_interval(hours => (SELECT value::integer FROM storage_config
                                              WHERE key = 'raw_partition_hours')));
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
