"""Where and how the simulators reach the MQTT broker (plain values, no settings).

>>> b = BrokerConfig.from_url("mqtts://dev:secret@broker.example:8884", ca_file="ca.pem")
>>> b.host, b.port, b.tls, b.username, b.password
('broker.example', 8884, True, 'dev', 'secret')
>>> BrokerConfig.from_url("mqtt://127.0.0.1").port
1883
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import aiomqtt
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion


class BrokerConfigError(ValueError):
    """A broker URL or TLS setting that cannot work."""


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None
    protocol: str = "5"  # "5" or "3.1.1"
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        protocol: str = "5",
        ca_file: str | None = None,
        cert_file: str | None = None,
        key_file: str | None = None,
    ) -> BrokerConfig:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise BrokerConfigError(f"broker URL {url!r} must look like mqtt://host[:port]")
        if protocol not in ("5", "3.1.1"):
            raise BrokerConfigError(f"MQTT protocol must be 5 or 3.1.1, not {protocol!r}")
        tls = parts.scheme == "mqtts"
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError as exc:
            raise BrokerConfigError(f"broker URL {url!r}: {exc}") from None
        return cls(
            host=parts.hostname,
            port=port,
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            protocol=protocol,
            ca_file=ca_file,
            cert_file=cert_file,
            key_file=key_file,
        )

    @property
    def v5(self) -> bool:
        return self.protocol == "5"

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        try:
            ctx = ssl.create_default_context(cafile=self.ca_file)
            if self.cert_file:
                ctx.load_cert_chain(self.cert_file, self.key_file)
        except (OSError, ssl.SSLError) as exc:
            raise BrokerConfigError(f"TLS setup failed: {exc}") from None
        return ctx

    def aiomqtt_client(
        self, identifier: str, *, will: aiomqtt.Will | None = None, clean: bool = True
    ) -> aiomqtt.Client:
        """An (unconnected) aiomqtt client for this broker."""
        protocol = aiomqtt.ProtocolVersion.V5 if self.v5 else aiomqtt.ProtocolVersion.V311
        return aiomqtt.Client(
            self.host,
            self.port,
            username=self.username,
            password=self.password,
            identifier=identifier,
            protocol=protocol,
            will=will,
            clean_session=None if self.v5 else clean,
            # paho refuses clean_start on 3.1.1 unless it is left at its default.
            clean_start=clean if self.v5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
            tls_context=self.ssl_context(),
            keepalive=30,
            max_inflight_messages=1000,
            max_queued_outgoing_messages=0,
            timeout=10.0,
        )

    def paho_protocol(self) -> MQTTProtocolVersion:
        return MQTTProtocolVersion.MQTTv5 if self.v5 else MQTTProtocolVersion.MQTTv311

    def paho_client(self, identifier: str) -> mqtt.Client:
        """An (unconnected) paho client; connect with ``connect(host, port)``."""
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=identifier, protocol=self.paho_protocol()
        )
        if self.username is not None:
            client.username_pw_set(self.username, self.password)
        ctx = self.ssl_context()
        if ctx is not None:
            client.tls_set_context(ctx)
        return client
