-- The incident closed loop in ingest (issue 5): arrival order of events,
-- one row per event id, and what the incidents row needs besides the
-- columns of 0001.

-- Replay orders an incident's events by (ts, arrival order); received_at
-- cannot break ties (now() is constant within a transaction), a sequence can.
-- Existing rows get numbers in storage order, i.e. as they were appended.
ALTER TABLE incident_events ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;

-- An event id is stored once per incident, whatever its ts (the 0002 key
-- includes ts because the hypertable variant must). The writer checks
-- duplicates itself under a per-incident lock; this index makes a bug loud.
CREATE UNIQUE INDEX incident_events_event_id
    ON incident_events (community_id, incident_id, event_id);

-- reopened_at: the latest reopening; escalations: the SLA stages escalated
-- (respond, resolve), so the escalation tick finds its candidates in SQL.
ALTER TABLE incidents
    ADD COLUMN reopened_at timestamptz,
    ADD COLUMN escalations text[] NOT NULL DEFAULT '{}';

-- The escalation tick's candidates: unresolved incidents past a deadline
-- (respond_due_at <= resolve_due_at, so past the first one).
CREATE INDEX incidents_unresolved_due ON incidents (respond_due_at)
    WHERE status IN ('reported', 'dispatched', 'accepted');
