"""Checking a browser's Web Push subscription before it is kept (docs/people.md "Web Push").

Pure, but in api/ rather than twin/: it parses URLs (urllib), which twin may not import.

A subscription is where the browser's push service takes messages (an
``https`` endpoint) and two public values of the browser's: ``p256dh``, its
P-256 key (65 bytes, an uncompressed point), and ``auth`` (16 bytes), both
base64url as ``PushSubscription.toJSON()`` gives them.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import urlsplit

MAX_ENDPOINT = 2048


def b64url_bytes(text: str) -> bytes | None:
    """Decoded base64url (padding optional); None when it is not.

    >>> b64url_bytes("AQI"), b64url_bytes("AQI="), b64url_bytes("a b")
    (b'\\x01\\x02', b'\\x01\\x02', None)
    """
    if not text or len(text) > 200 or any(c not in _B64URL for c in text.rstrip("=")):
        return None
    try:
        return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        return None


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def endpoint_problem(endpoint: str, *, allow_loopback: bool = False) -> str | None:
    """Why an endpoint is refused, or None.

    >>> endpoint_problem("https://fcm.googleapis.com/fcm/send/abc") is None
    True
    >>> endpoint_problem("http://push.example/x")
    'endpoint: must be an https:// URL'
    >>> endpoint_problem("http://127.0.0.1:9/x", allow_loopback=True) is None
    True
    >>> endpoint_problem("https://user:pw@push.example/x")
    'endpoint: must be an https:// URL without credentials'
    """
    if len(endpoint) > MAX_ENDPOINT:
        return f"endpoint: longer than {MAX_ENDPOINT} characters"
    try:
        parts = urlsplit(endpoint)
        _ = parts.port  # raises on a port that is not a number
    except ValueError:
        return "endpoint: not a URL"
    loopback = allow_loopback and parts.scheme == "http" and parts.hostname == "127.0.0.1"
    if parts.scheme != "https" and not loopback:
        return "endpoint: must be an https:// URL"
    if not parts.hostname or parts.username is not None or parts.password is not None:
        return "endpoint: must be an https:// URL without credentials"
    if any(c.isspace() for c in endpoint):
        return "endpoint: must not contain spaces"
    return None


def keys_problem(p256dh: str, auth: str) -> str | None:
    """Why the browser's keys are refused, or None.

    >>> keys_problem("B" + "A" * 86, "A" * 22) is None
    True
    >>> keys_problem("AAAA", "A" * 22)
    'keys.p256dh: must be a base64url P-256 public key (65 bytes, starting 0x04)'
    >>> keys_problem("B" + "A" * 86, "AAAA")
    'keys.auth: must be 16 bytes, base64url'
    """
    point = b64url_bytes(p256dh)
    if point is None or len(point) != 65 or point[0] != 4:
        return "keys.p256dh: must be a base64url P-256 public key (65 bytes, starting 0x04)"
    secret = b64url_bytes(auth)
    if secret is None or len(secret) != 16:
        return "keys.auth: must be 16 bytes, base64url"
    return None
