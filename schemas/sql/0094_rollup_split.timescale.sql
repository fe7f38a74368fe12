-- The live rollups' split read first (issue 25, part 1), TimescaleDB: the
-- continuous aggregates split themselves (real-time aggregation), so the
-- split is unknown here (NULLs) and the windows take and ignore it, to give
-- callers the plain variant's calls.

DROP FUNCTION readings_1m_window(timestamptz, timestamptz);
DROP FUNCTION readings_1h_window(timestamptz, timestamptz);

CREATE FUNCTION commtwin_rollup_split(source text)
RETURNS TABLE (rolled_to timestamptz, pending_from timestamptz)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF source NOT IN ('readings_1m', 'readings_1h') THEN
        RAISE EXCEPTION 'commtwin_rollup_split: % is not readings_1m or readings_1h', source
            USING ERRCODE = '22023';
    END IF;
    RETURN QUERY SELECT NULL::timestamptz, NULL::timestamptz;
END $$;

CREATE FUNCTION readings_1m_window(ts_from timestamptz, ts_to timestamptz,
                                   rolled_to timestamptz DEFAULT NULL,
                                   pending_from timestamptz DEFAULT NULL)
RETURNS SETOF readings_1m LANGUAGE sql STABLE AS $$
    SELECT * FROM readings_1m WHERE bucket >= ts_from AND bucket < ts_to
$$;

CREATE FUNCTION readings_1h_window(ts_from timestamptz, ts_to timestamptz,
                                   rolled_to timestamptz DEFAULT NULL,
                                   pending_from timestamptz DEFAULT NULL)
RETURNS SETOF readings_1h LANGUAGE sql STABLE AS $$
    SELECT * FROM readings_1h WHERE bucket >= ts_from AND bucket < ts_to
$$;
