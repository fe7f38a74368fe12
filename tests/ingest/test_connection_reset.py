"""A broker that resets the link (RST, not FIN) mid-packet: the consumer reconnects.

Mosquitto killed while our socket holds bytes it has not read answers the
next read with ECONNRESET. That error once ended the consumer's network
thread: the ingestor stayed up, connected to nothing, and never came back
(tests/ingest/test_cli_and_restarts.py saw it as a missing reconnect).
"""

from __future__ import annotations

import socket
import struct
import threading
import time

from ingest.consumer import Consumer
from ingest.mqtt_session import MqttConfig
from ingest.mqtt_wire import Delivery
from tests.ingest.publisher import publish_packet
from tests.ingest.test_wire_cuts import CONNACK, read_packet, suback

CONNACK_SESSION = b"\x20\x02\x01\x00"


class ResettingBroker:
    """First connection: a publish cut short, then a reset; second: one whole publish."""

    def __init__(self) -> None:
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _handshake(self, conn: socket.socket, connack: bytes) -> None:
        assert read_packet(conn)[0] == 0x10  # CONNECT
        conn.sendall(connack)
        subscribe = read_packet(conn)
        conn.sendall(suback(struct.unpack("!H", subscribe[2:4])[0]))

    def _serve(self) -> None:
        conn, _ = self._listener.accept()
        self.connections += 1
        self._handshake(conn, CONNACK)
        packet = publish_packet(b"t/a", b"x" * 4000, 1)
        conn.sendall(packet[: len(packet) // 2])
        time.sleep(0.2)
        # Linger 0: close() sends RST, and the peer's reads fail with ECONNRESET.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
        conn, _ = self._listener.accept()
        self.connections += 1
        self._listener.close()
        self._handshake(conn, CONNACK_SESSION)
        conn.sendall(publish_packet(b"t/b", b"after the reset", 2))
        conn.settimeout(10)
        try:
            while read_packet(conn):
                pass
        except (OSError, IndexError):
            conn.close()


def test_a_reset_connection_is_lost_and_reconnected_not_fatal() -> None:
    deliveries: list[Delivery] = []
    broker = ResettingBroker()
    consumer = Consumer(
        MqttConfig(f"mqtt://127.0.0.1:{broker.port}", "reset", ["t/#"], protocol="3.1.1"),
        deliveries.extend,
    )
    consumer.start()
    try:
        deadline = time.monotonic() + 20
        while not deliveries and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [(t, p) for t, p, *_ in deliveries] == [("t/b", b"after the reset")]
        assert broker.connections == 2
        assert consumer.generation == 2
        assert consumer.session_present
    finally:
        consumer.stop()
