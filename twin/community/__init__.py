"""A whole community in and out: the model file (read with its geometry and
services), its export, and its database rows; and where rooms meet, as people
acting on incidents (``incident_actions``: ``people`` and ``incidents``).

The top room of ``twin``: may import the middle rooms, ``model`` and
``twin.errors``; nothing in ``twin`` imports it.
"""
