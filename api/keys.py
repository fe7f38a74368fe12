"""API keys: their text form, hashing, scopes and what a key may see.

A key reads ``ctk_<prefix>_<secret>``. The prefix (12 hex digits) is stored
in clear to find the row and to name the key in listings; only the SHA-256 of
the secret is stored, so a database dump does not leak usable keys.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Final, Literal, get_args

Scope = Literal["cockpit:read", "incidents:write", "maintainer", "admin", "district:read"]
SCOPES: Final[tuple[str, ...]] = get_args(Scope)
_MARK = "ctk_"
_PREFIX_LEN = 12
# What each scope grants besides itself: reading the cockpit is implied by the
# scopes of people who act on it; admin may do anything.
_IMPLIES: Final[dict[str, frozenset[str]]] = {
    "cockpit:read": frozenset(),
    "incidents:write": frozenset({"cockpit:read"}),
    "maintainer": frozenset({"cockpit:read"}),
    # A district screen reads its overview and every member community's cockpit.
    "district:read": frozenset({"cockpit:read"}),
    "admin": frozenset(SCOPES),
}


class KeyFormatError(ValueError):
    """The presented text is not a commtwin API key."""


@dataclass(frozen=True, slots=True)
class KeySecret:
    """A freshly generated key: ``text`` is shown once, ``digest`` is stored."""

    prefix: str
    text: str
    digest: bytes


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored, valid key as the API sees it."""

    id: int
    prefix: str
    name: str | None
    scopes: frozenset[str]
    communities: frozenset[str]  # empty (and no districts): every community
    districts: frozenset[str] = frozenset()  # empty (and no communities): every district
    # The communities of ``districts``, resolved when the key is read.
    members: frozenset[str] = frozenset()

    def grants(self, scope: str) -> bool:
        """Whether this key may do what ``scope`` guards.

        >>> k = ApiKey(1, "p", None, frozenset({"maintainer"}), frozenset())
        >>> k.grants("cockpit:read"), k.grants("maintainer"), k.grants("admin")
        (True, True, False)
        """
        return any(s == scope or scope in _IMPLIES.get(s, frozenset()) for s in self.scopes)

    def sees(self, community: str) -> bool:
        """Whether ``community`` exists for this key (others are hidden as 404).

        >>> ApiKey(1, "p", None, frozenset(), frozenset({"a"})).sees("b")
        False
        >>> ApiKey(1, "p", None, frozenset(), frozenset()).sees("b")
        True
        >>> d = ApiKey(1, "p", None, frozenset(), frozenset(), frozenset({"d"}), frozenset({"m"}))
        >>> d.sees("m"), d.sees("b")
        (True, False)
        """
        if not self.communities and not self.districts:
            return True
        return community in self.communities or community in self.members

    @property
    def unrestricted(self) -> bool:
        """Neither limited to communities nor to districts."""
        return not self.communities and not self.districts

    def sees_district(self, district: str) -> bool:
        """Whether ``district`` exists for this key: a community-limited key sees none
        (a district would show it communities beyond its own).

        >>> ApiKey(1, "p", None, frozenset(), frozenset(), frozenset({"d"})).sees_district("e")
        False
        >>> ApiKey(1, "p", None, frozenset(), frozenset({"a"})).sees_district("d")
        False
        >>> ApiKey(1, "p", None, frozenset(), frozenset()).sees_district("d")
        True
        """
        return self.unrestricted or district in self.districts

    @property
    def label(self) -> str:
        """Who acted, for audit columns such as ``acknowledged_by``."""
        return self.name or f"key:{self.prefix}"


def new_key() -> KeySecret:
    """Generate a key.

    >>> k = new_key()
    >>> split_key(k.text)[0] == k.prefix and digest(split_key(k.text)[1]) == k.digest
    True
    """
    prefix = secrets.token_hex(_PREFIX_LEN // 2)
    secret = secrets.token_urlsafe(32)
    return KeySecret(prefix, f"{_MARK}{prefix}_{secret}", digest(secret))


def split_key(text: str) -> tuple[str, str]:
    """``(prefix, secret)`` of a key's text.

    >>> split_key("ctk_0123456789ab_s3cr-et_x")
    ('0123456789ab', 's3cr-et_x')
    >>> split_key("hello")
    Traceback (most recent call last):
    ...
    api.keys.KeyFormatError: not a commtwin API key
    """
    head = len(_MARK) + _PREFIX_LEN
    prefix = text[len(_MARK) : head]
    ok = (
        text.startswith(_MARK)
        and len(text) > head + 1
        and text[head] == "_"
        and all(c in "0123456789abcdef" for c in prefix)
    )
    if not ok:
        raise KeyFormatError("not a commtwin API key")
    return prefix, text[head + 1 :]


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


def matches(secret: str, stored_digest: bytes) -> bool:
    """Constant-time comparison of a presented secret with the stored digest."""
    return hmac.compare_digest(digest(secret), stored_digest)


def check_scopes(scopes: list[str]) -> frozenset[str]:
    """Validate scope names given by an operator.

    >>> sorted(check_scopes(["admin", "maintainer"]))
    ['admin', 'maintainer']
    >>> check_scopes(["root"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown scope 'root' (known: cockpit:read, ..., admin, district:read)
    """
    if not scopes:
        raise ValueError(f"at least one scope is needed (known: {', '.join(SCOPES)})")
    for scope in scopes:
        if scope not in SCOPES:
            raise ValueError(f"unknown scope {scope!r} (known: {', '.join(SCOPES)})")
    return frozenset(scopes)
