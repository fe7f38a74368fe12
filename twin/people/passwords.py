"""Passwords: a short policy, and argon2id hashes (argon2-cffi, its RFC 9106 defaults).

>>> stored = hash_password("correct horse battery")
>>> stored.startswith("$argon2id$"), verify_password(stored, "correct horse battery")
(True, True)
>>> verify_password(stored, "Correct horse battery"), verify_password("not a hash", "x")
(False, False)
>>> check_policy("short", login="wang")
Traceback (most recent call last):
twin.people.passwords.PasswordError: a password has at least 10 characters
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from twin.errors import TwinError

MIN_LENGTH = 10
MAX_LENGTH = 256  # argon2 takes any length; this bounds the work one request can ask for
_HASHER = PasswordHasher()
# Verified when the login names nobody, so an unknown login costs what a known one does.
_DUMMY = _HASHER.hash("commtwin: no such account")


class PasswordError(TwinError):
    """A password the policy refuses; the message says why."""


def check_policy(password: str, *, login: str) -> None:
    """Refuse a password that is too short, too long, or the login itself."""
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"a password has at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordError(f"a password has at most {MAX_LENGTH} characters")
    if login and login.lower() in password.lower():
        raise PasswordError("a password must not contain the login name")
    if len(set(password)) < 4:
        raise PasswordError("a password needs at least 4 different characters")


def hash_password(password: str) -> str:
    """The argon2id PHC string to store."""
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``; None (no such account) costs the same."""
    try:
        return _HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` was made with weaker parameters than today's (rehash at login)."""
    return _HASHER.check_needs_rehash(stored)
