-- commtwin core schema: the community model, devices, alarms, incidents,
-- dead letters, the change log behind live updates, and API keys.
-- Time-series tables (readings, device status, positions, incident events)
-- come in 0002, in a plain-PostgreSQL and a TimescaleDB variant.

CREATE TABLE storage_config (
    key   text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE communities (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
    name        text NOT NULL,
    -- Local coordinates are metres: world = local + offset, in `crs`
    -- (any CRS pyproj understands, e.g. EPSG:7415 or a +proj=tmerc string).
    crs         text NOT NULL,
    offset_x    double precision NOT NULL DEFAULT 0,
    offset_y    double precision NOT NULL DEFAULT 0,
    offset_z    double precision NOT NULL DEFAULT 0,
    attributes  jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE buildings (
    community_id text NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    id           text NOT NULL,
    name         text,
    footprint    jsonb NOT NULL,              -- GeoJSON Polygon/MultiPolygon, local metres
    ground_z     double precision NOT NULL,
    roof_z       double precision NOT NULL CHECK (roof_z >= ground_z),
    flags        text[] NOT NULL DEFAULT '{}', -- e.g. height_defaulted
    attributes   jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (community_id, id)
);

CREATE TABLE storeys (
    community_id text NOT NULL,
    building_id  text NOT NULL,
    idx          integer NOT NULL,            -- 1 = ground floor, negative = basement
    name         text,
    floor_z      double precision NOT NULL,
    height       double precision NOT NULL CHECK (height > 0),
    PRIMARY KEY (community_id, building_id, idx),
    FOREIGN KEY (community_id, building_id) REFERENCES buildings ON DELETE CASCADE
);

CREATE TABLE units (
    community_id text NOT NULL,
    building_id  text NOT NULL,
    id           text NOT NULL,
    storey_idx   integer NOT NULL,
    name         text,
    footprint    jsonb,
    attributes   jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (community_id, building_id, id),
    FOREIGN KEY (community_id, building_id, storey_idx) REFERENCES storeys ON DELETE CASCADE
);

CREATE TABLE grids (
    community_id text NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    id           text NOT NULL,
    name         text,
    polygon      jsonb NOT NULL,              -- GeoJSON Polygon, local metres
    worker       text,                        -- responsible grid worker (id)
    worker_name  text,
    PRIMARY KEY (community_id, id)
);

CREATE TABLE devices (
    -- Surrogate key used by the narrow time-series tables to keep rows small.
    key          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    community_id text NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    id           text NOT NULL,
    kind         text,                        -- NULL while unplaced and unknown
    metrics      text[] NOT NULL DEFAULT '{}',
    building_id  text,
    storey_idx   integer,
    unit_id      text,
    x            double precision,
    y            double precision,
    z            double precision,
    grid_id      text,                        -- located once from the placement
    mobile       boolean NOT NULL DEFAULT false,
    attributes   jsonb NOT NULL DEFAULT '{}',
    online       boolean,
    battery      double precision,
    rssi         double precision,
    status_at    timestamptz,
    last_seen    timestamptz,
    registered_at timestamptz NOT NULL DEFAULT now(),
    -- in the model file (false: registered by ingest on its first message)
    modelled     boolean NOT NULL DEFAULT false,
    PRIMARY KEY (community_id, id)
);
CREATE INDEX devices_place ON devices (community_id, building_id, storey_idx);

-- Metric names are schemaless per device; readings store a small key.
CREATE TABLE metrics (
    key  integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE CHECK (name ~ '^[a-z][a-z0-9_]{0,63}$')
);

CREATE TABLE alarms (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id    text NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    device_id       text NOT NULL,
    rule_id         text NOT NULL,
    metric          text,
    severity        text NOT NULL CHECK (severity IN ('critical', 'major', 'minor', 'warning')),
    state           text NOT NULL CHECK (state IN ('active_unack', 'active_ack', 'cleared')),
    message         text,
    value           double precision,
    raised_at       timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    cleared_at      timestamptz,
    acknowledged_at timestamptz,
    acknowledged_by text,
    building_id     text,
    storey_idx      integer,
    unit_id         text,
    grid_id         text,
    incident_id     text
);
-- At most one active alarm per device and rule: raising twice is a no-op.
CREATE UNIQUE INDEX alarms_one_active ON alarms (community_id, device_id, rule_id)
    WHERE state <> 'cleared';
CREATE INDEX alarms_by_time ON alarms (community_id, raised_at DESC);

CREATE TABLE incidents (
    community_id    text NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    id              text NOT NULL,
    status          text NOT NULL CHECK (status IN
                        ('reported', 'dispatched', 'accepted', 'resolved', 'closed', 'cancelled')),
    category        text,
    priority        text NOT NULL DEFAULT 'normal',
    title           text,
    description     text,
    reporter        text,
    assignee        text,
    building_id     text,
    storey_idx      integer,
    unit_id         text,
    grid_id         text,
    x               double precision,
    y               double precision,
    z               double precision,
    alarm_id        bigint REFERENCES alarms (id),
    reported_at     timestamptz NOT NULL,
    dispatched_at   timestamptz,
    accepted_at     timestamptz,
    resolved_at     timestamptz,
    closed_at       timestamptz,
    cancelled_at    timestamptz,
    respond_due_at  timestamptz,
    resolve_due_at  timestamptz,
    escalated_at    timestamptz,
    reopen_count    integer NOT NULL DEFAULT 0,
    satisfaction    smallint CHECK (satisfaction BETWEEN 1 AND 5),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, id)
);
CREATE INDEX incidents_open ON incidents (community_id, status) WHERE status NOT IN ('closed', 'cancelled');
CREATE INDEX incidents_by_time ON incidents (community_id, reported_at);

CREATE TABLE dead_letters (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at  timestamptz NOT NULL DEFAULT now(),
    last_received_at timestamptz NOT NULL DEFAULT now(),
    -- A redelivered bad message counts up instead of adding a row.
    occurrences  integer NOT NULL DEFAULT 1,
    topic        text NOT NULL,
    payload      bytea NOT NULL,
    payload_sha256 bytea NOT NULL,
    reason       text NOT NULL,
    detail       text NOT NULL,
    community_id text
);
CREATE UNIQUE INDEX dead_letters_dedup ON dead_letters (topic, payload_sha256, reason);
CREATE INDEX dead_letters_by_time ON dead_letters (received_at DESC);
CREATE INDEX dead_letters_by_community ON dead_letters (community_id, received_at DESC);

-- Outbox of changes that the cockpit shows (alarms, incidents, device online
-- state, model imports). Written in the same transaction as the change; its
-- sequence is the live snapshot's version and the SSE event id, so every API
-- process agrees on versions and a client can resume after a restart.
CREATE TABLE change_log (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    community_id text NOT NULL,
    kind         text NOT NULL,  -- alarm | incident | device | community
    ref          text NOT NULL,  -- id of the changed object
    data         jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX change_log_by_community ON change_log (community_id, seq);

CREATE FUNCTION change_log_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Small payload (NOTIFY allows 8000 bytes): listeners read the row itself.
    PERFORM pg_notify('commtwin_changes',
        json_build_object('seq', NEW.seq, 'community', NEW.community_id,
                          'kind', NEW.kind, 'ref', NEW.ref)::text);
    RETURN NULL;
END $$;
CREATE TRIGGER change_log_notify AFTER INSERT ON change_log
    FOR EACH ROW EXECUTE FUNCTION change_log_notify();

CREATE TABLE api_keys (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    prefix      text NOT NULL UNIQUE,        -- shown in listings, never the secret
    secret_sha256 bytea NOT NULL,
    name        text,
    scopes      text[] NOT NULL,
    communities text[] NOT NULL DEFAULT '{}',  -- empty = all communities
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
