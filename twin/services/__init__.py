"""The 15-minute service circle: walking coverage of facilities, what-if
scenarios, their GeoJSON and the facility file, and their database rows.

May import ``twin.model`` and ``twin.errors`` only.
"""
