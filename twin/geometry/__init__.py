"""Geometry in and out of the model: CityJSON, CityJSONSeq and GeoJSON readers,
footprints, the polygon index and locating events onto building/storey/unit/grid.

May import ``twin.model`` and ``twin.errors`` only.
"""
