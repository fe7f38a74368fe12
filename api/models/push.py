"""Web Push subscription bodies (``/v1/me/push``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PushKeys(BaseModel):
    model_config = ConfigDict(extra="ignore")

    p256dh: str = Field(max_length=200, description="the browser's P-256 key, base64url")
    auth: str = Field(max_length=200, description="the browser's auth secret, base64url")


class PushSubscriptionCreate(BaseModel):
    """``PushSubscription.toJSON()`` as the browser gives it (expirationTime ignored)."""

    model_config = ConfigDict(extra="ignore")

    endpoint: str = Field(max_length=2048)
    keys: PushKeys


class PushServerKey(BaseModel):
    """What the page needs to subscribe."""

    enabled: bool = Field(description="false: this server has no Web Push (no VAPID key)")
    application_server_key: str | None = Field(
        description="the VAPID public key: an uncompressed P-256 point, base64url; "
        "null when Web Push is off"
    )
