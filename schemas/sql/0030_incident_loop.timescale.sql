-- The incident closed loop in ingest (issue 5), TimescaleDB variant: see the
-- plain file for the reasons. Differences: incident_events is a hypertable,
-- so its arrival sequence is a plain sequence default filled in explicitly
-- (ALTER TABLE ... ADD COLUMN and UPDATE work on hypertables, see
-- TimescaleDB's "Alter a hypertable"), and there is no unique index on the
-- event id alone (a hypertable's unique indexes must include its time
-- column, see "Hypertables and unique indexes"): the writer's per-incident
-- lock and duplicate check are the only guard, as documented in
-- docs/incidents.md.

CREATE SEQUENCE incident_events_seq AS bigint;
ALTER TABLE incident_events ADD COLUMN seq bigint;
UPDATE incident_events e SET seq = o.n
FROM (SELECT community_id, incident_id, event_id, ts,
             row_number() OVER (ORDER BY received_at, ts) AS n
      FROM incident_events) o
WHERE (e.community_id, e.incident_id, e.event_id, e.ts)
    = (o.community_id, o.incident_id, o.event_id, o.ts);
SELECT setval('incident_events_seq', coalesce((SELECT max(seq) FROM incident_events), 0) + 1, false);
ALTER TABLE incident_events ALTER COLUMN seq SET DEFAULT nextval('incident_events_seq');
ALTER TABLE incident_events ALTER COLUMN seq SET NOT NULL;
ALTER SEQUENCE incident_events_seq OWNED BY incident_events.seq;

ALTER TABLE incidents
    ADD COLUMN reopened_at timestamptz,
    ADD COLUMN escalations text[] NOT NULL DEFAULT '{}';

CREATE INDEX incidents_unresolved_due ON incidents (respond_due_at)
    WHERE status IN ('reported', 'dispatched', 'accepted');
