"""The realistic feed's MQTT connections (aiomqtt): one per gateway, plus app/lte/bad.

A gateway connection carries its last will: a retained ``{"online": false}``
on the gateway's status topic. :meth:`Link.drop` ends the TCP connection
without an MQTT DISCONNECT, as a gateway losing power or uplink would, so
the broker publishes that will; :meth:`Link.open` reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from dataclasses import dataclass, field

import aiomqtt

from simulators.broker import BrokerConfig

RECONNECT_PAUSE = 1.0  # seconds between attempts after the broker went away


class LinkError(Exception):
    """The broker cannot be reached (one line for the operator)."""


@dataclass
class Link:
    broker: BrokerConfig
    name: str
    will: aiomqtt.Will | None = None
    client: aiomqtt.Client | None = None
    inflight: set[asyncio.Task[bool]] = field(default_factory=set)
    _next_attempt: float = 0.0
    _opening: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def identifier(self) -> str:
        return f"sim-{self.name}-{os.getpid()}"

    async def open(self) -> None:
        if self.client is not None:
            return
        async with self._opening:  # concurrent publishers share one connection
            if self.client is None:
                await self._connect()

    async def _connect(self) -> None:
        pause = self._next_attempt - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
        client = self.broker.aiomqtt_client(self.identifier, will=self.will)
        # Many publishes await acknowledgement at once by design: no warnings.
        client.pending_calls_threshold = 1 << 30
        try:
            await client.__aenter__()
        except aiomqtt.MqttError as exc:
            self._next_attempt = time.monotonic() + RECONNECT_PAUSE
            raise LinkError(
                f"cannot connect to the MQTT broker at {self.broker.host}:{self.broker.port}: {exc}"
            ) from None
        self.client = client

    async def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> bool:
        """Publish at QoS 1 and wait for the broker's acknowledgement; False on failure."""
        try:
            await self.open()
            assert self.client is not None
            await self.client.publish(topic, payload, qos=1, retain=retain)
        except (aiomqtt.MqttError, LinkError):
            self._lost()
            return False
        return True

    def _lost(self) -> None:
        # The connection broke under us: forget it; the next publish reconnects.
        client, self.client = self.client, None
        if client is not None:
            _seen(client)
        self._next_attempt = time.monotonic() + RECONNECT_PAUSE

    async def drain(self) -> None:
        if self.inflight:
            await asyncio.wait(set(self.inflight))

    async def drop(self) -> None:
        """Lose the connection without DISCONNECT: the broker publishes the will."""
        await self.drain()
        client, self.client = self.client, None
        if client is None:
            return
        # aiomqtt offers no abortive close; its paho client exposes the socket.
        sock = client._client.socket()
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + 2.0
        while not client._disconnected.done() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        _seen(client)

    async def close(self) -> None:
        """Graceful end: wait for acknowledgements, then DISCONNECT (no will)."""
        await self.drain()
        client, self.client = self.client, None
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError, OSError):
                await client.__aexit__(None, None, None)
            _seen(client)


def _seen(client: aiomqtt.Client) -> None:
    """Mark a lost connection's error as handled (asyncio logs unretrieved ones)."""
    if client._disconnected.done() and not client._disconnected.cancelled():
        client._disconnected.exception()
