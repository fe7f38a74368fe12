-- Raw partitions of a settable width (issue 25, part 1), TimescaleDB: the
-- raw hypertables' chunk interval. Written to the TimescaleDB 2.x
-- documentation of set_chunk_time_interval: "The new interval is used when
-- new chunks are created, and time intervals on existing chunks are not
-- changed." The setting, its accepted values and its errors are those of
-- the plain variant (0091: commtwin_raw_width_problem), so both modes answer alike.
-- 0002 made readings and positions chunks of a day and device_status of 7
-- days; they keep those until a width is set.

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
