-- The round table (issue 23, docs/roundtable.md): topics with their evidence,
-- tables at four levels, opinions, votes counted by the law, decisions and
-- their action items, and the households' participation ledger.
-- Households are named by the model's building and unit ids (no foreign key
-- to units, as in accounts: a model re-import must not delete a vote's record).

CREATE TABLE topics (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id   text NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    title          text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    body           text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 5000),
    matter         text NOT NULL DEFAULT 'ordinary' CHECK (matter ~ '^[a-z][a-z0-9_]{0,63}$'),
    origin         text NOT NULL CHECK (origin IN ('resident', 'office', 'suggested')),
    raised_by      bigint REFERENCES accounts (id) ON DELETE SET NULL,
    category       text,              -- the incidents' category, for a suggested topic
    suggestion_key text,              -- a suggestion is adopted once
    building_id    text,
    stairwell      text,
    grid_id        text,
    x              double precision,
    y              double precision,
    status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'decided', 'withdrawn')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (community_id, id),
    UNIQUE (community_id, suggestion_key)
);
CREATE INDEX topics_open ON topics (community_id, created_at) WHERE status = 'open';

-- The evidence: incidents a topic was raised from (a suggestion's, or chosen).
CREATE TABLE topic_incidents (
    community_id text NOT NULL,
    topic_id     bigint NOT NULL,
    incident_id  text NOT NULL,
    PRIMARY KEY (community_id, topic_id, incident_id),
    FOREIGN KEY (community_id, topic_id) REFERENCES topics (community_id, id) ON DELETE CASCADE
);
CREATE INDEX topic_incidents_incident ON topic_incidents (community_id, incident_id);

-- A meeting at one of four levels; its place (with its level) defines who is concerned.
CREATE TABLE round_tables (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id text NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    level        text NOT NULL CHECK (level IN ('community', 'estate', 'building', 'online')),
    title        text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    starts_at    timestamptz NOT NULL,
    location     text CHECK (char_length(location) <= 200),
    building_id  text,
    stairwell    text,
    grid_id      text,
    x            double precision,
    y            double precision,
    minutes      text CHECK (char_length(minutes) <= 50000),
    status       text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'held', 'cancelled')),
    created_by   bigint REFERENCES accounts (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (community_id, id)
);
CREATE INDEX round_tables_upcoming ON round_tables (community_id, starts_at);

-- The agenda: the topics a table takes, in order.
CREATE TABLE table_topics (
    table_id bigint NOT NULL REFERENCES round_tables (id) ON DELETE CASCADE,
    topic_id bigint NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    position integer NOT NULL,
    PRIMARY KEY (table_id, topic_id),
    UNIQUE (table_id, position)
);

-- Who sits at the table, by role, and whether they came. A name is what the
-- office writes in the minutes (a department, 'owners' committee chair'); an
-- account links a participant who has one.
CREATE TABLE table_participants (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    table_id   bigint NOT NULL REFERENCES round_tables (id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('office', 'property', 'owners_committee',
                                             'residents_rep', 'department', 'resident')),
    name       text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    account_id bigint REFERENCES accounts (id) ON DELETE SET NULL,
    attended   boolean
);
CREATE INDEX table_participants_table ON table_participants (table_id);

-- Residents' opinions on a topic (one household may give several).
CREATE TABLE opinions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic_id    bigint NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    account_id  bigint REFERENCES accounts (id) ON DELETE SET NULL,
    building_id text NOT NULL,
    unit_id     text NOT NULL,
    body        text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 2000),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX opinions_topic ON opinions (topic_id, created_at);

-- A vote on a topic. The law that counts it (twin.deliberation.counting, as
-- JSON) and its electorate (vote_households, with areas) are fixed when it
-- opens, so a later model import or rule change does not move a running vote.
CREATE TABLE votes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic_id    bigint NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    table_id    bigint REFERENCES round_tables (id) ON DELETE SET NULL,
    level       text NOT NULL CHECK (level IN ('community', 'estate', 'building', 'online')),
    matter      text NOT NULL,
    law         jsonb NOT NULL,
    opens_at    timestamptz NOT NULL,
    closes_at   timestamptz NOT NULL,
    closed_at   timestamptz,          -- counted; the result below
    result      jsonb,
    CHECK (opens_at < closes_at),
    CHECK ((closed_at IS NULL) = (result IS NULL))
);
CREATE INDEX votes_topic ON votes (topic_id);

CREATE TABLE vote_households (
    vote_id     bigint NOT NULL REFERENCES votes (id) ON DELETE CASCADE,
    building_id text NOT NULL,
    unit_id     text NOT NULL,
    area_m2     numeric NOT NULL CHECK (area_m2 > 0),
    PRIMARY KEY (vote_id, building_id, unit_id)
);

-- One ballot per (vote, household): a household's accounts share it, the last
-- one recorded before the close is kept (the API's upsert checks closes_at).
CREATE TABLE ballots (
    vote_id     bigint NOT NULL,
    building_id text NOT NULL,
    unit_id     text NOT NULL,
    choice      text NOT NULL CHECK (choice IN ('yes', 'no', 'abstain')),
    account_id  bigint REFERENCES accounts (id) ON DELETE SET NULL,
    cast_at     timestamptz NOT NULL,
    PRIMARY KEY (vote_id, building_id, unit_id),
    FOREIGN KEY (vote_id, building_id, unit_id) REFERENCES vote_households ON DELETE CASCADE
);

CREATE TABLE decisions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic_id     bigint NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    vote_id      bigint REFERENCES votes (id) ON DELETE SET NULL,
    table_id     bigint REFERENCES round_tables (id) ON DELETE SET NULL,
    body         text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 5000),
    decided_at   timestamptz NOT NULL DEFAULT now(),
    decided_by   bigint REFERENCES accounts (id) ON DELETE SET NULL
);
CREATE INDEX decisions_topic ON decisions (topic_id);

-- A decision's action items, tracked like incidents (twin.deliberation.actions).
CREATE TABLE action_items (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    decision_id   bigint NOT NULL REFERENCES decisions (id) ON DELETE CASCADE,
    title         text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    owner_role    text,
    owner_account bigint REFERENCES accounts (id) ON DELETE SET NULL,
    due_at        timestamptz NOT NULL,
    building_id   text,
    grid_id       text,
    status        text NOT NULL DEFAULT 'open'
                  CHECK (status IN ('open', 'in_progress', 'done', 'cancelled')),
    done_at       timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'done') = (done_at IS NOT NULL))
);
CREATE INDEX action_items_decision ON action_items (decision_id);

-- What each household gave: idempotent by the recorder's client id.
CREATE TABLE participation (
    community_id text NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    client_id    text NOT NULL CHECK (char_length(client_id) BETWEEN 1 AND 100),
    building_id  text NOT NULL,
    unit_id      text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('report_confirmed', 'vote_cast', 'opinion_given',
                                               'volunteer_hours')),
    at           timestamptz NOT NULL DEFAULT now(),
    hours        numeric CHECK (hours > 0 AND hours <= 24),
    recorded_by  bigint REFERENCES accounts (id) ON DELETE SET NULL,
    PRIMARY KEY (community_id, client_id),
    CHECK ((kind = 'volunteer_hours') = (hours IS NOT NULL))
);
CREATE INDEX participation_at ON participation (community_id, at);
