"""Web Push settings (kept apart from :mod:`api.push` so that reading the
configuration does not import pywebpush and requests)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PushConfig:
    """The VAPID key pair's private half (PEM) and the contact the push services see."""

    private_key_pem: str
    subject: str  # mailto:... or https://...
    # How long a push service keeps a message for a phone that is off.
    ttl_s: int = 6 * 3600
    # Notifications waiting to be sent; beyond it they are dropped (and logged).
    queue_size: int = 1000
    # Tests only: accept endpoints on http://127.0.0.1 (a local push service).
    allow_loopback: bool = False
