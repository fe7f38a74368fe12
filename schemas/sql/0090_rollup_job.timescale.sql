-- TimescaleDB keeps readings_1m/readings_1h itself (continuous aggregates with
-- real-time aggregation, 0002): the plain variant's job has nothing to do
-- here. The same names exist in both modes, so callers need not know the mode:
-- the *_live views are the aggregates themselves, and the job is a no-op.
CREATE VIEW readings_1m_live AS SELECT * FROM readings_1m;
CREATE VIEW readings_1h_live AS SELECT * FROM readings_1h;

CREATE FUNCTION commtwin_refresh_rollups(
    final boolean DEFAULT false, now_ts timestamptz DEFAULT now(),
    grace interval DEFAULT '15 seconds'
) RETURNS TABLE (level text, bucket timestamptz, rows_written bigint)
LANGUAGE sql AS $$
    SELECT NULL::text, NULL::timestamptz, NULL::bigint WHERE false
$$;
