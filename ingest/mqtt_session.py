"""One MQTT session's settings and its paho client: made, connected, named safely.

The consumer (ingest/consumer.py) owns the client's callbacks and its network
thread; here is only what a connection needs: the client with the session
kept (MQTT v5 ``clean_start=False`` with a session expiry and our Receive
Maximum, 3.1.1 ``clean_session=False``), acks sent by hand, TLS for
``mqtts://``.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


@dataclass(frozen=True, slots=True)
class MqttConfig:
    url: str  # mqtt://[user:pass@]host[:1883] or mqtts://...[:8883]
    client_id: str
    topics: Sequence[str]
    protocol: str = "5"  # "5" or "3.1.1"
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    keepalive: int = 30
    session_expiry_s: int = 7 * 24 * 3600
    receive_maximum: int = 20000  # unacked messages the broker may send us (v5)


def new_client(cfg: MqttConfig) -> mqtt.Client:
    """A paho client for ``cfg``'s session, not connected, without callbacks."""
    v5 = cfg.protocol == "5"
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=cfg.client_id,
        clean_session=None if v5 else False,
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        manual_ack=True,
        reconnect_on_failure=False,
    )
    parts = urlsplit(cfg.url)
    if parts.username:
        client.username_pw_set(unquote(parts.username), unquote(parts.password or ""))
    if parts.scheme == "mqtts":
        client.tls_set(
            ca_certs=cfg.ca_file,
            certfile=cfg.cert_file,
            keyfile=cfg.key_file,
            cert_reqs=ssl.CERT_REQUIRED,
        )
    return client


def open_session(client: mqtt.Client, cfg: MqttConfig) -> None:
    """Open a new socket and send CONNECT for the kept session (raises OSError)."""
    parts = urlsplit(cfg.url)
    port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
    if cfg.protocol == "5":
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = cfg.session_expiry_s
        props.ReceiveMaximum = cfg.receive_maximum
        client.connect(
            parts.hostname or "127.0.0.1",
            port,
            keepalive=cfg.keepalive,
            clean_start=False,
            properties=props,
        )
    else:
        client.connect(parts.hostname or "127.0.0.1", port, keepalive=cfg.keepalive)


def safe_url(url: str) -> str:
    """``url`` with its password masked, for logs.

    >>> safe_url("mqtt://ingest:s3cret@broker:1883")
    'mqtt://ingest:***@broker:1883'
    """
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
