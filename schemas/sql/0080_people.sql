-- People (issue 22): accounts for residents, grid workers, property staff and
-- the community office, apart from the API keys (which stay for screens and
-- integrations). The least is stored: a login name, an argon2 hash, the role
-- and what the role is bound to (a household, grids); no phone number, no
-- real name, no address beyond the household's ids in the model.
CREATE TABLE accounts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id  text NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    login         text NOT NULL CHECK (login ~ '^[a-z0-9][a-z0-9._-]{1,63}$'),
    role          text NOT NULL CHECK (role IN ('resident', 'worker', 'property', 'office')),
    password_hash text NOT NULL,                -- argon2id, PHC string (twin.people.passwords)
    -- A resident's home: ids in the community model, not a foreign key, so a
    -- re-import of the model does not delete the people living there.
    building_id   text,
    unit_id       text,
    grids         text[] NOT NULL DEFAULT '{}', -- a worker's or property staff's grids
    disabled_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (community_id, login),
    CHECK ((role = 'resident') = (building_id IS NOT NULL AND unit_id IS NOT NULL)),
    CHECK (role IN ('worker', 'property') OR grids = '{}')
);
CREATE INDEX accounts_household ON accounts (community_id, building_id, unit_id)
    WHERE role = 'resident';

-- One-time invite codes the office issues for a household. Only the code's
-- SHA-256 is kept (the code has 60 random bits: a slow hash buys nothing).
CREATE TABLE invites (
    code_digest  bytea PRIMARY KEY,
    community_id text NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    building_id  text NOT NULL,
    unit_id      text NOT NULL,
    issued_by    bigint REFERENCES accounts (id) ON DELETE SET NULL,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    used_by      bigint REFERENCES accounts (id) ON DELETE SET NULL,
    CHECK (used_by IS NULL OR used_at IS NOT NULL)  -- used_by goes NULL if the account goes
);
CREATE INDEX invites_household ON invites (community_id, building_id, unit_id);

-- Sessions behind the HttpOnly cookie: only the token's SHA-256 is kept, with
-- the CSRF token the pages echo in a header.
CREATE TABLE sessions (
    token_digest bytea PRIMARY KEY,
    account_id   bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    csrf_digest  bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);
