-- Who reported what (issue 22): a resident's report belongs to their household,
-- wherever the problem is (a public area, another building). The incident itself
-- stays the replay of its events; this row only says whose report it is, for
-- access. Written by the API before it publishes the 'reported' event, so no
-- foreign key to incidents (the ingestor commits the incident a moment later; a
-- report the ingestor refused leaves a row that matches no incident).
CREATE TABLE people_reports (
    community_id text NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    incident_id  text NOT NULL,
    -- The account goes, the household keeps its report.
    account_id   bigint REFERENCES accounts (id) ON DELETE SET NULL,
    building_id  text NOT NULL,
    unit_id      text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, incident_id)
);
CREATE INDEX people_reports_household ON people_reports (community_id, building_id, unit_id);
