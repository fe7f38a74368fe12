-- The 15-minute service circle (issue 14): facilities, the walking network and
-- explicit building entrances of a community (twin/facilities.py,
-- twin/walk_network.py). Geometry is GeoJSON in the community's local metres,
-- like buildings.footprint. Plain tables in both storage modes.
CREATE TABLE facilities (
    community_id text NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    id           text NOT NULL,
    type         text NOT NULL CHECK (type IN ('clinic', 'elderly_care', 'canteen',
                     'kindergarten', 'school', 'supermarket', 'bus_stop', 'park')),
    name         text,
    geometry     jsonb NOT NULL,              -- GeoJSON Point/Polygon/MultiPolygon
    attributes   jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (community_id, id)
);

CREATE TABLE walk_paths (
    community_id text NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    id           text NOT NULL,
    kind         text,                        -- OSM highway value: footway, residential, ...
    geometry     jsonb NOT NULL,              -- GeoJSON LineString/MultiLineString
    PRIMARY KEY (community_id, id)
);

-- idx: the entrance's position among its building's entrances (sorted by x, y).
CREATE TABLE entrances (
    community_id text NOT NULL,
    building_id  text NOT NULL,
    idx          integer NOT NULL CHECK (idx >= 0),
    x            double precision NOT NULL,
    y            double precision NOT NULL,
    PRIMARY KEY (community_id, building_id, idx),
    FOREIGN KEY (community_id, building_id)
        REFERENCES buildings (community_id, id) ON DELETE CASCADE
);
