-- Photos of reports (issue 22): a resident's with their report ('report'),
-- a worker's, property staff's or the office's while handling it ('work').
-- The bytes live in the object store (a directory or an S3 bucket) under
-- keys the API makes; a row is written only after both objects are, and the
-- objects are deleted when the row cannot be. What is kept is the least: the
-- re-encoded image has no EXIF, GPS, XMP, ICC profile or comments
-- (twin/people/photos.py); no file name, no original, no client's address.
CREATE TABLE photos (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id text NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    incident_id  text NOT NULL,
    uploaded_by  bigint REFERENCES accounts (id) ON DELETE SET NULL,
    stage        text NOT NULL CHECK (stage IN ('report', 'work')),
    -- The phone's own id for this upload: a resend returns the stored photo.
    client_id    text CHECK (client_id ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
    bytes        integer NOT NULL CHECK (bytes > 0),
    width        integer NOT NULL CHECK (width > 0),
    height       integer NOT NULL CHECK (height > 0),
    object_key   text NOT NULL UNIQUE,
    thumb_key    text NOT NULL UNIQUE,
    sha256       bytea NOT NULL CHECK (length(sha256) = 32),  -- of the stored bytes
    created_at   timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (community_id, incident_id) REFERENCES incidents (community_id, id)
        ON DELETE CASCADE,
    UNIQUE (community_id, incident_id, client_id)
);
CREATE INDEX photos_incident ON photos (community_id, incident_id, id);
CREATE INDEX photos_uploader ON photos (uploaded_by) WHERE uploaded_by IS NOT NULL;
