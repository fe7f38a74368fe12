"""The writer's SQL. Values always travel as parameters or COPY data, never as text."""

from __future__ import annotations

from typing import Final

# Per-connection staging table: rows arrive by binary COPY, then one
# INSERT ... SELECT ... ON CONFLICT DO NOTHING moves them into the real table.
# ON COMMIT DELETE ROWS empties it at every commit without a statement of ours.
CREATE_STAGE: Final = """
CREATE TEMP TABLE IF NOT EXISTS ingest_stage_readings (
    ts timestamptz NOT NULL,
    device_key bigint NOT NULL,
    metric_key integer NOT NULL,
    value double precision NOT NULL
) ON COMMIT DELETE ROWS
"""
COPY_STAGE: Final = (
    "COPY ingest_stage_readings (ts, device_key, metric_key, value) FROM STDIN (FORMAT BINARY)"
)

# Plain mode: the rollups are recomputed after the fact by
# commtwin_refresh_rollups (schemas/sql/0090); the batch only logs which
# minutes it inserted rows into, with their device key range: a row per
# minute, not per reading (upserting readings_1m/1h here doubled the writes
# and touched three random index pages per reading at district size). Only
# rows actually inserted (`ins`) are logged, so a redelivered batch logs
# nothing. The result is (device_key, rows inserted) for the batch's NOTIFY
# per community.
MOVE_READINGS_PLAIN: Final = """
WITH ins AS (
    INSERT INTO readings (ts, device_key, metric_key, value)
    SELECT ts, device_key, metric_key, value FROM ingest_stage_readings
    ON CONFLICT DO NOTHING
    RETURNING ts, device_key
), pending AS (
    INSERT INTO rollup_pending (level, bucket, lo_key, hi_key)
    SELECT 'm', date_trunc('minute', ts, 'UTC'), min(device_key), max(device_key)
    FROM ins GROUP BY 2
)
SELECT device_key, count(*) FROM ins GROUP BY device_key
"""
# Bulk backfills (commtwin demo's 30 days of history): the raw rows and both
# rollups folded set-based from exactly the rows inserted, in one statement. A
# part of a backfill holds many readings per (device, metric, minute), so the
# grouped upsert is cheap there; the live writer logs minutes instead (above).
# Only rows actually inserted (`ins`) reach the rollups, so a repeat adds
# nothing; ORDER BY fixes the row-lock order between concurrent writers.
# Buckets are UTC, like TimescaleDB's time_bucket.
FOLD_READINGS_PLAIN: Final = """
WITH ins AS (
    INSERT INTO readings (ts, device_key, metric_key, value)
    SELECT ts, device_key, metric_key, value FROM ingest_stage_readings
    ON CONFLICT DO NOTHING
    RETURNING ts, device_key, metric_key, value
), minutes AS (
    -- One pass over the inserted rows; the hours are folded from the minutes.
    SELECT date_trunc('minute', ts, 'UTC') AS bucket, device_key, metric_key,
           count(*) AS n, sum(value) AS v_sum, min(value) AS v_min, max(value) AS v_max,
           max(ts) AS last_ts, (array_agg(value ORDER BY ts DESC))[1] AS last_value
    FROM ins
    GROUP BY 1, 2, 3
), m1 AS (
    INSERT INTO readings_1m AS r
        (bucket, device_key, metric_key, n, v_sum, v_min, v_max, last_ts, last_value)
    SELECT * FROM minutes
    ORDER BY device_key, metric_key, bucket
    ON CONFLICT (device_key, metric_key, bucket) DO UPDATE SET
        n = r.n + EXCLUDED.n,
        v_sum = r.v_sum + EXCLUDED.v_sum,
        v_min = LEAST(r.v_min, EXCLUDED.v_min),
        v_max = GREATEST(r.v_max, EXCLUDED.v_max),
        last_value = CASE WHEN EXCLUDED.last_ts >= r.last_ts
                          THEN EXCLUDED.last_value ELSE r.last_value END,
        last_ts = GREATEST(r.last_ts, EXCLUDED.last_ts)
), h1 AS (
    INSERT INTO readings_1h AS r
        (bucket, device_key, metric_key, n, v_sum, v_min, v_max, last_ts, last_value)
    SELECT date_trunc('hour', bucket, 'UTC'), device_key, metric_key,
           sum(n), sum(v_sum), min(v_min), max(v_max),
           max(last_ts), (array_agg(last_value ORDER BY last_ts DESC))[1]
    FROM minutes
    GROUP BY 1, 2, 3
    ORDER BY 2, 3, 1
    ON CONFLICT (device_key, metric_key, bucket) DO UPDATE SET
        n = r.n + EXCLUDED.n,
        v_sum = r.v_sum + EXCLUDED.v_sum,
        v_min = LEAST(r.v_min, EXCLUDED.v_min),
        v_max = GREATEST(r.v_max, EXCLUDED.v_max),
        last_value = CASE WHEN EXCLUDED.last_ts >= r.last_ts
                          THEN EXCLUDED.last_value ELSE r.last_value END,
        last_ts = GREATEST(r.last_ts, EXCLUDED.last_ts)
)
SELECT device_key, count(*) FROM ins GROUP BY device_key
"""
# TimescaleDB keeps readings_1m/1h itself (continuous aggregates).
MOVE_READINGS_TIMESCALE: Final = """
WITH ins AS (
    INSERT INTO readings (ts, device_key, metric_key, value)
    SELECT ts, device_key, metric_key, value FROM ingest_stage_readings
    ON CONFLICT DO NOTHING
    RETURNING ts, device_key, metric_key, value
)
SELECT device_key, count(*) FROM ins GROUP BY device_key
"""

# The place columns come from the twin locator (NULL when not located).
INSERT_POSITIONS: Final = """
INSERT INTO positions (ts, device_key, x, y, z, building_id, storey_idx, unit_id, grid_id)
SELECT * FROM unnest(%s::timestamptz[], %s::bigint[], %s::float8[], %s::float8[], %s::float8[],
                     %s::text[], %s::int[], %s::text[], %s::text[])
ON CONFLICT DO NOTHING
"""

# History for every status message; the device row follows the newest one
# (an older, late message does not roll it back); a change of online state
# becomes a change_log row for the cockpit. `old` locks the rows first and
# keeps the previous state, which UPDATE ... RETURNING cannot show.
APPLY_STATUSES: Final = """
WITH s AS (
    SELECT * FROM unnest(%s::timestamptz[], %s::bigint[], %s::bool[], %s::float8[], %s::float8[])
        AS s(ts, device_key, online, battery, rssi)
), hist AS (
    INSERT INTO device_status (ts, device_key, online, battery, rssi)
    SELECT ts, device_key, online, battery, rssi FROM s
    ON CONFLICT DO NOTHING
), latest AS (
    SELECT DISTINCT ON (device_key) * FROM s ORDER BY device_key, ts DESC
), old AS (
    SELECT d.key, d.online FROM devices d JOIN latest l ON d.key = l.device_key
    ORDER BY d.key FOR UPDATE OF d
), upd AS (
    UPDATE devices d SET online = l.online,
                         battery = COALESCE(l.battery, d.battery),
                         rssi = COALESCE(l.rssi, d.rssi),
                         status_at = l.ts
    FROM latest l JOIN old o ON o.key = l.device_key
    WHERE d.key = l.device_key AND (d.status_at IS NULL OR l.ts >= d.status_at)
    RETURNING d.community_id, d.id, d.online, o.online AS was, l.ts
)
INSERT INTO change_log (community_id, kind, ref, data)
SELECT community_id, 'device', id,
       jsonb_build_object('online', online, 'was', was, 'at', ts)
FROM upd WHERE online IS DISTINCT FROM was
ORDER BY community_id, id
"""

TOUCH_LAST_SEEN: Final = """
UPDATE devices d SET last_seen = v.ts
FROM (SELECT * FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(key, ts) ORDER BY key) v
WHERE d.key = v.key AND (d.last_seen IS NULL OR d.last_seen < v.ts)
"""

LOG_REGISTERED: Final = """
INSERT INTO change_log (community_id, kind, ref, data)
SELECT community_id, 'device', id, '{"registered": true, "placed": false}'::jsonb
FROM devices WHERE key = ANY(%s) ORDER BY key
"""

# A redelivered dead letter counts up instead of adding a row.
INSERT_DEAD_LETTERS: Final = """
INSERT INTO dead_letters AS d
    (topic, payload, payload_sha256, reason, detail, community_id, occurrences)
SELECT * FROM unnest(%s::text[], %s::bytea[], %s::bytea[], %s::text[], %s::text[],
                     %s::text[], %s::int[])
ON CONFLICT (topic, payload_sha256, reason) DO UPDATE
    SET occurrences = d.occurrences + EXCLUDED.occurrences, last_received_at = now()
"""

# One notification per community of the batch, in one statement (a district
# batch touches 200 communities: 200 round trips otherwise).
NOTIFY_BATCH: Final = "SELECT count(pg_notify('commtwin_batches', p)) FROM unnest(%s::text[]) p"
STORAGE_MODE: Final = "SELECT value FROM storage_config WHERE key = 'mode'"
MAINTAIN: Final = "SELECT * FROM commtwin_maintain()"
# The rollup job (a no-op in TimescaleDB mode): `final` also does the open
# minutes and waits for a run elsewhere instead of skipping.
REFRESH_ROLLUPS: Final = (
    "SELECT level, count(*), coalesce(sum(rows_written), 0)"
    " FROM commtwin_refresh_rollups(%s, now(), make_interval(secs => %s))"
    " GROUP BY level ORDER BY level"
)
