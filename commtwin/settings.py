"""Settings, read once by the entry point and passed down explicitly.

Every value comes from a ``COMMTWIN_*`` environment variable (or its default).
A bad value becomes one :class:`SettingsError` line naming the variable.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from twin.scenes.energy import DEFAULT_EMISSION_FACTOR

ENV_PREFIX = "COMMTWIN_"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/commtwin"
DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883"


class SettingsError(Exception):
    """A configuration value is missing or malformed."""


def _check_database_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError("must be a postgresql:// URL")
    if not parts.hostname and "host=" not in parts.query:
        raise ValueError("must name a host")
    return value


def _check_mqtt_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("mqtt", "mqtts"):
        raise ValueError("must be an mqtt:// or mqtts:// URL")
    if not parts.hostname:
        raise ValueError("must name a host")
    try:
        parts.port  # noqa: B018 - urlsplit validates the port lazily
    except ValueError as exc:
        raise ValueError(f"bad port: {exc}") from None
    return value


def _check_topic_root(value: str) -> str:
    if not value or value.startswith("/") or value.endswith("/") or any(c in value for c in "+#"):
        raise ValueError("must be a plain topic prefix without wildcards or edge slashes")
    return value


DatabaseUrl = Annotated[str, AfterValidator(_check_database_url)]
MqttUrl = Annotated[str, AfterValidator(_check_mqtt_url)]
TopicRoot = Annotated[str, AfterValidator(_check_topic_root)]


class Settings(BaseSettings):
    """Process-wide configuration; construct with :func:`load_settings`."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    database_url: DatabaseUrl = DEFAULT_DATABASE_URL
    mqtt_url: MqttUrl = DEFAULT_MQTT_URL
    topic_root: TopicRoot = "commtwin/v1"
    mqtt_protocol: Annotated[str, Field(pattern=r"^(5|3\.1\.1)$")] = "5"
    mqtt_ca_file: str | None = None
    mqtt_cert_file: str | None = None
    mqtt_key_file: str | None = None
    # Ingest: a stable MQTT client id keeps the persistent session across
    # restarts (default commtwin-ingest-<hostname>); a group name turns on
    # shared subscriptions ($share/<group>/...) for several ingestors.
    mqtt_client_id: str | None = None
    ingest_group: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = None
    # Ingest only these communities' topics (comma-separated ids; empty: all).
    ingest_communities: str = ""
    # The one-number retention of every time-series class, applied by `db upgrade`
    # when set; unset keeps what the database holds (`commtwin db retention`).
    retention_days: Annotated[int, Field(ge=1, le=36500)] | None = None
    metrics_port: Annotated[int, Field(ge=0, le=65535)] = 9108
    api_host: str = "127.0.0.1"
    api_port: Annotated[int, Field(ge=0, le=65535)] = 8000
    cors_origins: str = ""
    log_level: Annotated[str, Field(pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")] = "INFO"
    # Low-carbon scene: kg CO2e per kWh drawn from the grid (docs/twin.md).
    emission_factor: Annotated[float, Field(ge=0, le=5)] = DEFAULT_EMISSION_FACTOR
    # `simulate run --workers-api URL`: the read key of the simulated workers'
    # app (an environment variable, so that it does not show in `ps`).
    simulate_api_key: str | None = None
    # Photos of reports (docs/people.md "Photos"): a directory (default: the
    # user's data directory's commtwin/photos), or an S3-compatible bucket when
    # a bucket is named; credentials unset: boto3's own chain (IAM role, ~/.aws).
    photo_dir: str | None = None
    photo_s3_bucket: Annotated[str | None, Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")] = (
        None
    )
    photo_s3_endpoint_url: str | None = None
    photo_s3_region: str | None = None
    photo_s3_access_key_id: str | None = None
    photo_s3_secret_access_key: SecretStr | None = None
    # Web Push to the phone page (docs/people.md "Web Push"): the VAPID private
    # key (a PEM file's path, or the PEM itself) and the contact push services
    # see (mailto: or https:). Unset key: Web Push is off.
    vapid_private_key: SecretStr | None = None
    vapid_subject: Annotated[str, Field(pattern=r"^(mailto:[^@\s]+@[^@\s]+|https://\S+)$")] = (
        "mailto:admin@localhost"
    )


def load_settings() -> Settings:
    """Read the environment once; turn validation errors into one line.

    >>> import os
    >>> os.environ["COMMTWIN_MQTT_URL"] = "http://x"
    >>> try:
    ...     load_settings()
    ... except SettingsError as e:
    ...     print(e)
    COMMTWIN_MQTT_URL: Value error, must be an mqtt:// or mqtts:// URL
    >>> del os.environ["COMMTWIN_MQTT_URL"]
    """
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ENV_PREFIX + "_".join(str(p) for p in first["loc"]).upper()
        raise SettingsError(f"{name}: {first['msg']}") from None
