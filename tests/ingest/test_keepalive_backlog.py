"""A PINGRESP held behind a stream of PUBLISHes does not end the connection.

paho's keep-alive counts only the bytes paho itself reads. The consumer's fast
reader takes the PUBLISH packets, so once paho has sent a PINGREQ it needs its
PINGRESP within the keep-alive; under a district's backlog the broker's
PINGRESP queued behind more PUBLISHes than that, paho closed the link ("Keep
alive timeout") and everything in flight was sent again (bench/RESULTS.md,
issue 25). This broker streams PUBLISHes and answers each PINGREQ 3 keep-alives
late: the connection must stay up and the stream keep flowing.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time

from ingest.consumer import Consumer
from ingest.mqtt_session import MqttConfig
from ingest.mqtt_wire import Delivery
from tests.ingest.publisher import publish_packet
from tests.ingest.test_wire_cuts import CONNACK, PINGRESP, read_packet, suback

KEEPALIVE_S = 1
PINGRESP_LATE_S = 3 * KEEPALIVE_S
STREAM_S = 6.0


class SlowPingBroker:
    def __init__(self) -> None:
        self.connections = 0
        self.pings = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()  # one writer at a time on the socket
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        for conn in self._conns:
            conn.close()

    def _send(self, conn: socket.socket, data: bytes) -> None:
        with self._lock:
            conn.sendall(data)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            self._conns.append(conn)
            assert read_packet(conn)[0] == 0x10  # CONNECT
            conn.sendall(CONNACK)
            subscribe = read_packet(conn)
            conn.sendall(suback(struct.unpack("!H", subscribe[2:4])[0]))
            threading.Thread(target=self._stream, args=(conn,), daemon=True).start()
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _stream(self, conn: socket.socket) -> None:
        end = time.monotonic() + STREAM_S
        mid = 0
        try:
            while time.monotonic() < end and not self._stop.is_set():
                mid = mid % 65535 + 1
                self._send(conn, publish_packet(b"t/a", b"x" * 100, mid))
                time.sleep(0.005)
        except OSError:
            return

    def _answer(self, conn: socket.socket) -> None:
        """Read the client's packets; each PINGREQ is answered late."""
        try:
            while not self._stop.is_set():
                packet = read_packet(conn)
                if packet[:1] == b"\xc0":
                    self.pings += 1
                    threading.Timer(PINGRESP_LATE_S, self._late_pong, args=(conn,)).start()
        except (OSError, IndexError):
            return

    def _late_pong(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            self._send(conn, PINGRESP)


def test_a_late_pingresp_behind_a_stream_keeps_the_connection() -> None:
    deliveries: list[Delivery] = []
    broker = SlowPingBroker()
    config = MqttConfig(
        f"mqtt://127.0.0.1:{broker.port}",
        "keepalive",
        ["t/#"],
        protocol="3.1.1",
        keepalive=KEEPALIVE_S,
    )
    consumer = Consumer(config, deliveries.extend)
    consumer.start()
    try:
        time.sleep(STREAM_S)
        received = len(deliveries)
    finally:
        consumer.stop()
        broker.close()
    assert broker.pings >= 2, "paho sent no PINGREQ: the test proves nothing"
    assert broker.connections == 1, "the late PINGRESP ended the connection"
    assert consumer.generation == 1
    # The stream kept flowing the whole time (~200 messages a second).
    assert received > 0.7 * STREAM_S / 0.005 * 0.5
