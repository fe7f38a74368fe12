"""People who act on the twin: residents, grid workers, property staff, the office.

Who a person is (``roles``), what they may see and handle (``visibility``),
one-time invite codes that bind a resident to a household (``invites``),
password hashing (``passwords``, argon2id), login throttling
(``throttle``, the clock passed in) and the photos of reports (``photos``:
checked by content, re-encoded without metadata; Pillow, no I/O). Pure: the
API stores and serves them.

May import ``twin.model`` and ``twin.errors`` only.
"""
