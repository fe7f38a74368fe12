-- Raw partitions of a settable width (issue 25, part 1), TimescaleDB: the
-- raw hypertables' chunk interval. Written to the TimescaleDB 2.x
-- documentation of set_chunk_time_interval: "The new interval is used when
-- new chunks are created, and time intervals on existing chunks are not
-- changed." The setting, its accepted values and its errors are those of
-- the plain variant (commtwin_raw_width_problem), so both modes answer alike.
-- 0002 made readings and positions chunks of a day and device_status of 7
-- days; they keep those until a width is set.

INSERT INTO storage_config (key, value) VALUES ('raw_partition_hours', '24');

CREATE FUNCTION commtwin_raw_width_problem(hours integer, keep_days integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN hours IS NULL OR hours NOT IN (1, 2, 3, 4, 6, 8, 12, 24)
            THEN format('raw partitions of %s hours: the width must be 1, 2, 3, 4, 6, 8, 12 or 24 hours',
                        coalesce(hours::text, 'NULL'))
        WHEN hours < 24 AND keep_days IS NULL
            THEN format('raw partitions of %s hours with raw readings kept for good would grow without'
                        ' bound; set a raw retention first (commtwin db retention raw=DAYS)', hours)
        WHEN hours < 24 AND keep_days * 24 / hours > 2000
            THEN format('raw partitions of %s hours over %s days of raw retention make %s partitions'
                        ' per table, more than 2000; widen them or shorten the retention',
                        hours, keep_days, keep_days * 24 / hours)
    END
$$;

CREATE FUNCTION commtwin_set_raw_partition_hours(hours integer, now_ts timestamptz DEFAULT now())
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    problem text := commtwin_raw_width_problem(
        hours, (SELECT keep_days FROM retention_classes WHERE metric_class = 'raw'));
    rel text;
BEGIN
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION '%', problem USING ERRCODE = '22023';
    END IF;
    UPDATE storage_config SET value = hours::text WHERE key = 'raw_partition_hours';
    FOREACH rel IN ARRAY ARRAY['readings', 'device_status', 'positions'] LOOP
        PERFORM set_chunk_time_interval(rel::regclass, make_interval(hours => hours));
        RETURN NEXT format('%s: new chunks of %s hours', rel, hours);
    END LOOP;
END $$;

-- 0089's checks, and raw retention must keep the chunk count in bounds too.
CREATE OR REPLACE FUNCTION commtwin_check_retention(cls text, days integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    entry retention_classes;
    problem text;
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
    IF cls = 'raw' THEN
        problem := commtwin_raw_width_problem(
            (SELECT value::integer FROM storage_config WHERE key = 'raw_partition_hours'), days);
        IF problem IS NOT NULL THEN
            RAISE EXCEPTION 'retention of raw: %', problem USING ERRCODE = '22023';
        END IF;
    END IF;
END $$;
