"""People who act on the twin: residents, grid workers, property staff, the office.

Who a person is (``roles``), what they may see and handle (``visibility``),
one-time invite codes that bind a resident to a household (``invites``),
password hashing (``passwords``, argon2id) and login throttling
(``throttle``, the clock passed in). Pure: the API stores and serves them.

May import ``twin.model`` and ``twin.errors`` only.
"""
