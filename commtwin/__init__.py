"""Composition root of commtwin: the command line, settings and wiring.

The domain packages (``ingest``, ``twin``, ``api``, ``simulators``, ``schemas``)
never import this package; it imports them and passes settings down.
"""

__version__ = "0.1.0"
