-- The rules for the width of raw partitions (issue 25, part 1), both modes:
-- the setting (hours; 24, a day, until it is set: `commtwin db partitions`),
-- which widths are refused and why, and raw retention held to them. The
-- partitions themselves follow in 0092 (plain: range partitions;
-- TimescaleDB: the chunk interval).

INSERT INTO storage_config (key, value) VALUES ('raw_partition_hours', '24');

-- Why a raw partition width is refused, or NULL: a divisor of 24 hours, and
-- for sub-day widths few enough partitions over the raw retention that
-- queries the planner cannot prune by a constant still plan quickly (a
-- query planned all 722 hourly partitions of 30 days in 0.7 s through the
-- rollup views, bench_partition_reads). Day partitions keep what 0002
-- allowed, retention up to 36500 days or none.
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

-- Raw retention is held to the width however it is set (the setters of
-- 0089, or an UPDATE): one clear error, SQLSTATE 22023, as theirs.
CREATE FUNCTION commtwin_check_raw_retention() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    problem text := commtwin_raw_width_problem(
        (SELECT value::integer FROM storage_config WHERE key = 'raw_partition_hours'), NEW.keep_days);
BEGIN
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION 'retention of raw: %', problem USING ERRCODE = '22023';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER raw_retention_fits_the_partition_width
    BEFORE UPDATE OF keep_days ON retention_classes
    FOR EACH ROW WHEN (NEW.metric_class = 'raw')
    EXECUTE FUNCTION commtwin_check_raw_retention();
