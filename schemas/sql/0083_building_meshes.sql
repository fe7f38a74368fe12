-- Buildings as modelled (issue 24): each building's surfaces triangulated once
-- at import (twin/geometry/mesh.py) — CityJSON LoD2 roofs and walls, LoD1
-- solids, or the footprint extruded when the source has nothing more.
-- Compact: little-endian float32 xyz per vertex (local metres), uint32 vertex
-- indices per triangle, one surface class byte per triangle (0 roof, 1 wall,
-- 2 ground). Gone with its building.
CREATE TABLE building_meshes (
    community_id text NOT NULL,
    building_id  text NOT NULL,
    lod          text NOT NULL,               -- '2.2', '1', ... or 'extruded'
    positions    bytea NOT NULL,
    indices      bytea NOT NULL,
    surfaces     bytea NOT NULL,
    PRIMARY KEY (community_id, building_id),
    FOREIGN KEY (community_id, building_id) REFERENCES buildings ON DELETE CASCADE,
    CHECK (length(positions) % 12 = 0 AND length(indices) % 12 = 0
           AND length(surfaces) * 12 = length(indices))
);

-- Bumped by every import that changes the community's buildings or meshes, so
-- the API's cached glTF (GET /v1/communities/{cid}/buildings.glb) is rebuilt.
CREATE TABLE building_mesh_versions (
    community_id text PRIMARY KEY REFERENCES communities (id) ON DELETE CASCADE,
    version      bigint NOT NULL
);
