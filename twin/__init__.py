"""The twin: the community as 3D space and what happens in it, pure (no network I/O).

Rooms, lower to higher (docs/DESIGN.md, "The house"): ``errors``; ``model``;
``geometry``, ``services``, ``rules``, ``incidents``, ``live``, ``scenes``,
``people`` (independent of each other); ``community``. A room imports only rooms below it,
which ``tests/foundation/test_import_contract.py`` checks.
"""
