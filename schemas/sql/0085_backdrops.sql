-- A community's backdrop: an external OGC 3D Tiles tileset (an oblique-photography
-- mesh, a city's tiles) that the cockpit draws behind the twin (docs/cockpit.md,
-- "Bringing your own tileset"). One per community; the page places it by its
-- own georeference (ECEF) through the community's CRS.
CREATE TABLE community_backdrops (
    community_id  text PRIMARY KEY REFERENCES communities (id) ON DELETE CASCADE,
    url           text NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2000),
    -- Metres added to local z + offset_z to get WGS 84 ellipsoidal heights
    -- (the geoid undulation when the model's heights are above sea level).
    height_offset double precision NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
