-- Raw partitions of a width in minutes (issue 25, part 1; 0095), TimescaleDB:
-- the setter of 0092 taking minutes. set_chunk_time_interval takes any
-- INTERVAL ("The new interval is used when new chunks are created, and time
-- intervals on existing chunks are not changed"); the accepted widths and
-- their errors are the plain variant's (commtwin_raw_width_problem).

DROP FUNCTION commtwin_set_raw_partition_hours(integer, timestamptz);
CREATE FUNCTION commtwin_set_raw_partition_minutes(minutes integer, now_ts timestamptz DEFAULT now())
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    problem text := commtwin_raw_width_problem(
        minutes, (SELECT keep_days FROM retention_classes WHERE metric_class = 'raw'));
    rel text;
BEGIN
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION '%', problem USING ERRCODE = '22023';
    END IF;
    UPDATE storage_config SET value = minutes::text WHERE key = 'raw_partition_minutes';
    FOREACH rel IN ARRAY ARRAY['readings', 'device_status', 'positions'] LOOP
        PERFORM set_chunk_time_interval(rel::regclass, make_interval(mins => minutes));
        RETURN NEXT format('%s: new chunks of %s', rel, commtwin_width_text(minutes));
    END LOOP;
END $$;
