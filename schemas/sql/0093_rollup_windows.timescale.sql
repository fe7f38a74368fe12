-- The live rollups for a window of time (issue 25, part 1), TimescaleDB:
-- the continuous aggregates answer in real time already (0090's views are
-- the aggregates themselves); these functions give them the plain variant's
-- call, for the buckets in [ts_from, ts_to).

CREATE FUNCTION readings_1m_window(ts_from timestamptz, ts_to timestamptz)
RETURNS SETOF readings_1m LANGUAGE sql STABLE AS $$
    SELECT * FROM readings_1m WHERE bucket >= ts_from AND bucket < ts_to
$$;

CREATE FUNCTION readings_1h_window(ts_from timestamptz, ts_to timestamptz)
RETURNS SETOF readings_1h LANGUAGE sql STABLE AS $$
    SELECT * FROM readings_1h WHERE bucket >= ts_from AND bucket < ts_to
$$;
