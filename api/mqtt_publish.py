"""Publishing to the MQTT broker, for incident commands (QoS 1, one connection per call).

Reports and transitions are rare next to polling, so each publish opens its
own short connection: no session state to repair after a broker restart, and
an unreachable broker is simply a 503 with the reason.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from api.errors import ApiError


class BrokerUnavailableError(ApiError):
    status_code = 503


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    url: str  # mqtt://[user:password@]host[:port] or mqtts://...
    protocol: str = "5"
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None


def _client(config: BrokerConfig, timeout: float) -> aiomqtt.Client:
    parts = urlsplit(config.url)
    tls = parts.scheme == "mqtts"
    params = None
    if tls:
        params = aiomqtt.TLSParameters(
            ca_certs=config.ca_file, certfile=config.cert_file, keyfile=config.key_file
        )
    v5 = config.protocol == "5"
    return aiomqtt.Client(
        parts.hostname or "127.0.0.1",
        parts.port or (8883 if tls else 1883),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        identifier=f"commtwin-api-{secrets.token_hex(6)}",
        protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
        clean_session=None if v5 else True,
        tls_params=params,
        timeout=timeout,
    )


async def publish(config: BrokerConfig, topic: str, payload: bytes, timeout: float) -> None:
    """Publish with QoS 1 and return once the broker has acknowledged it.

    MQTT 5 messages carry the user property ``commtwin-source: api`` so the
    ingestor can tell them from apps' own messages.
    """
    props = None
    if config.protocol == "5":
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.UserProperty = ("commtwin-source", "api")
    host = urlsplit(config.url).hostname
    try:
        async with _client(config, timeout) as client:
            await client.publish(topic, payload, qos=1, properties=props, timeout=timeout)
    except (aiomqtt.MqttError, OSError, ValueError) as exc:
        raise BrokerUnavailableError(f"the MQTT broker at {host} is unreachable: {exc}") from None
