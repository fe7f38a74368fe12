"""A whole community in and out: the model file (read with its geometry and
services), its export, and its database rows.

The top room of ``twin``: may import ``model``, ``geometry``, ``services`` and
``twin.errors``; nothing in ``twin`` imports it.
"""
