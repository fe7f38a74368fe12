"""The live state the cockpit polls (``/live``) and streams (``/stream``).

* :class:`~api.live.hub.LiveHub`: per-community states kept current by
  ``LISTEN commtwin_changes``; ``cached(cid, now)`` is the hot path.
* :class:`~api.live.document.CommunityLive`: one community's state, version,
  ETag and cached bytes (pure).
* :mod:`api.live.events`: the server-sent events.
"""
