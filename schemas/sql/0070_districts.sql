-- Districts: named sets of communities watched from one district cockpit
-- (docs/api.md, "Districts"). A community may belong to several districts.
CREATE TABLE districts (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE district_communities (
    district_id  text NOT NULL REFERENCES districts (id) ON DELETE CASCADE,
    community_id text NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    PRIMARY KEY (district_id, community_id)
);
-- Resolving a key's districts into communities, and "which districts hold c".
CREATE INDEX district_communities_community ON district_communities (community_id);

-- A key limited to districts sees those districts and every member community
-- (resolved at authentication); empty = no district restriction.
ALTER TABLE api_keys ADD COLUMN districts text[] NOT NULL DEFAULT '{}';
