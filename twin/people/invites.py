"""One-time invite codes: the office issues one for a household, a resident joins with it.

A code is 12 characters of Crockford's base32 (60 random bits), printed in
groups of four; typing is forgiving (case, spaces, dashes, ``O``/``I``/``L``
for ``0``/``1``). Only its SHA-256 is stored. An unknown code and a code of
another community get the same answer, so codes cannot be probed per community.

>>> code = new_code(lambda n: bytes(range(n)))
>>> code
'000G-40R4-0M30'
>>> normalize(" oo0g-4or4 om3o ") == normalize(code)
True
>>> normalize("000G-40R4-0M3")
Traceback (most recent call last):
twin.people.invites.InviteError: an invite code has 12 letters and digits
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from twin.errors import TwinError
from twin.people.roles import Household

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32
_LENGTH = 12
_TYPED = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None, " ": None})


class InviteError(TwinError):
    """An invite code that cannot be used; the message is the reason to show."""


def new_code(random_bytes: Callable[[int], bytes] = secrets.token_bytes) -> str:
    """A fresh code, grouped ``XXXX-XXXX-XXXX`` (``random_bytes`` injectable for tests)."""
    value = int.from_bytes(random_bytes(8), "big") >> 4  # 60 bits
    chars = "".join(ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(_LENGTH)))
    return "-".join(chars[i : i + 4] for i in range(0, _LENGTH, 4))


def normalize(text: str) -> str:
    """The code as typed, in canonical form; :class:`InviteError` if it cannot be one."""
    code = text.strip().upper().translate(_TYPED)
    if len(code) != _LENGTH or any(c not in ALPHABET for c in code):
        raise InviteError("an invite code has 12 letters and digits")
    return code


def digest(text: str) -> bytes:
    """What is stored and looked up: SHA-256 of the canonical code."""
    return hashlib.sha256(normalize(text).encode("ascii")).digest()


@dataclass(frozen=True, slots=True)
class Invite:
    community_id: str
    household: Household
    expires_at: datetime
    used_at: datetime | None = None


def redeemable(invite: Invite | None, community_id: str, now: datetime) -> Household:
    """The household ``invite`` binds a new resident to, or why it cannot.

    >>> from datetime import UTC, datetime, timedelta
    >>> now = datetime(2026, 12, 6, tzinfo=UTC)
    >>> inv = Invite("lanting", Household("b01", "u1"), now + timedelta(days=7))
    >>> redeemable(inv, "lanting", now)
    Household(building_id='b01', unit_id='u1')
    >>> redeemable(inv, "xixi", now)
    Traceback (most recent call last):
    twin.people.invites.InviteError: no such invite code
    """
    if invite is None or invite.community_id != community_id:
        raise InviteError("no such invite code")
    if invite.used_at is not None:
        raise InviteError("this invite code has already been used; ask the office for a new one")
    if now >= invite.expires_at:
        raise InviteError("this invite code has expired; ask the office for a new one")
    return invite.household
