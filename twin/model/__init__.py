"""The community model: what a community *is*, with no geometry reading and no rules.

Buildings, storeys, units, grids, devices (``community``), households, device
kinds, the storey convention, the local frame and CRS (``crs``), facilities and
the walking network, and the model file's field names (``fields``).

The bottom room: imports nothing of ``twin`` but ``twin.errors``.
"""
