-- Raw partitions narrower than an hour (issue 25, part 1), both modes: the
-- width is kept in minutes from here on. Why: at the district's burst of
-- 10,000 readings/s an hour's partition takes 36 M readings, and the
-- writer's cost grows within it as in a day partition (bench/RESULTS.md,
-- "Ten minutes of the district over hourly partitions": 7,659 msg/s into a
-- fresh hour, 5,724 into the same hour once it held 12.6 M). A 10-minute
-- partition holds 6 M at that rate, what an hour's held at the day load.
-- The partitions themselves follow in 0096.

UPDATE storage_config SET key = 'raw_partition_minutes', value = (value::integer * 60)::text
WHERE key = 'raw_partition_hours';

-- The width of new raw partitions; the one reader of the setting.
CREATE FUNCTION commtwin_raw_width() RETURNS interval LANGUAGE sql STABLE AS $$
    SELECT make_interval(mins => value::integer) FROM storage_config
    WHERE key = 'raw_partition_minutes'
$$;

-- A width as people say it: '10 minutes', '1 hour', '24 hours'.
CREATE FUNCTION commtwin_width_text(minutes integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN minutes IS NULL THEN 'NULL'
                WHEN minutes = 60 THEN '1 hour'
                WHEN minutes % 60 = 0 AND minutes <> 0 THEN format('%s hours', minutes / 60)
                ELSE format('%s minutes', minutes) END
$$;

-- Why a raw partition width is refused, or NULL (0091's rules, in minutes):
-- a divisor of a day that is whole minutes of an hour or whole hours, at
-- least 10 minutes (maintenance runs hourly and makes 24 partitions ahead:
-- 4 hours at 10 minutes), and at most 2,000 partitions over the raw
-- retention (10 minutes: 13 days; 30 minutes: 41; an hour: 83).
DROP FUNCTION commtwin_raw_width_problem(integer, integer);
CREATE FUNCTION commtwin_raw_width_problem(minutes integer, keep_days integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN minutes IS NULL
             OR minutes NOT IN (10, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440)
            THEN format('raw partitions of %s: the width must be 10, 15, 20 or 30 minutes'
                        ' or 1, 2, 3, 4, 6, 8, 12 or 24 hours', commtwin_width_text(minutes))
        WHEN minutes < 1440 AND keep_days IS NULL
            THEN format('raw partitions of %s with raw readings kept for good would grow without'
                        ' bound; set a raw retention first (commtwin db retention raw=DAYS)',
                        commtwin_width_text(minutes))
        WHEN minutes < 1440 AND keep_days::bigint * 1440 / minutes > 2000
            THEN format('raw partitions of %s over %s days of raw retention make %s partitions'
                        ' per table, more than 2000; widen them or shorten the retention',
                        commtwin_width_text(minutes), keep_days, keep_days::bigint * 1440 / minutes)
    END
$$;

CREATE OR REPLACE FUNCTION commtwin_check_raw_retention() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    problem text := commtwin_raw_width_problem(
        (SELECT value::integer FROM storage_config WHERE key = 'raw_partition_minutes'), NEW.keep_days);
BEGIN
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION 'retention of raw: %', problem USING ERRCODE = '22023';
    END IF;
    RETURN NEW;
END $$;
