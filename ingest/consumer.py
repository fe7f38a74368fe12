"""The MQTT side: a paho-mqtt 2 client on its own network thread, acking on request.

QoS 1, persistent session (MQTT v5 ``clean_start=False`` + session expiry, or
3.1.1 ``clean_session=False``), manual acknowledgements: a message is acked
only when :meth:`Consumer.ack` is called, which the committer does after the
transaction holding it committed. Reconnects follow :class:`~ingest.backoff.Backoff`.

Speed (issue: >= 12,000 messages/s on 2 shared cores). Stock paho reads each
packet with three ``recv`` calls and sends each PUBACK with its own ``send``,
and builds an MQTTMessage, a v5 Properties object and a topic-matcher pass
per message. Beside paho, on its public API only (``socket()``, ``loop_read``,
``loop_write``, ``want_write``, ``loop_misc``), :class:`~ingest.mqtt_client.PublishReader`
decodes the PUBLISH packets at the head of the socket in bulk and
:class:`~ingest.mqtt_client.AckWriter` sends a batch's acks in one write;
paho reads everything else and keeps the session (see ``ingest/mqtt_client.py``).

Every delivery is a tuple ``(topic, payload, received_us, mid, generation)``.
``generation`` counts sockets: after a reconnect the broker re-sends every
unacknowledged message, so acks of an older generation are dropped. A packet id
names a message only on its connection: a broker with a backlog of more than
65,535 messages for us holds two with the same id (Mosquitto numbers them as it
queues them), and a stale ack can take away one we never received. The
generation therefore changes when a new socket is made, not at its CONNACK:
acks flushed in between once went out on the new connection, and a district
backlog cut by reconnects lost readings (tests/ingest/test_link_cuts_backlog.py,
bench/RESULTS.md). ``unacked`` counts what this connection holds unacknowledged.
"""

from __future__ import annotations

import contextlib
import logging
import random
import select
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.subscribeoptions import SubscribeOptions

from ingest.backoff import Backoff
from ingest.mqtt_client import AckWriter, ProtocolError, PublishReader, Turn
from ingest.mqtt_session import MqttConfig, new_client, open_session, safe_url
from ingest.mqtt_wire import Delivery

log = logging.getLogger(__name__)

_READ_BURST: Final = 512  # packets decoded between two looks at acks/backpressure
_HANDOVER_WAIT_S: Final = 0.002  # the longest a decoded message waits for company


class Consumer:
    """Runs the network thread; hands deliveries to ``sink``; acks when told."""

    def __init__(
        self,
        config: MqttConfig,
        sink: Callable[[list[Delivery]], None],
        *,
        paused: Callable[[], bool] = lambda: False,
        on_reconnect: Callable[[int], None] = lambda generation: None,
        backoff: Backoff | None = None,
        rand: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._sink = sink
        self._paused = paused
        self._on_reconnect = on_reconnect
        self._backoff = backoff or Backoff(0.2, 30.0)
        self._rand = rand
        self._clock = clock
        self.generation = 0
        # How often paho reads a packet itself, so that its keep-alive sees the
        # link alive while the fast reader takes the rest (ingest/mqtt_client.py).
        self._paho_every_s = min(5.0, max(0.1, config.keepalive / 4))
        self.connected = threading.Event()
        self.idle = threading.Event()  # set while paused: not reading the socket
        self.acked = 0  # messages acknowledged to the broker
        self.unacked = 0  # sent to us on this connection, not acknowledged yet
        self._session_up = False  # this connection got its CONNACK
        self._acks: deque[tuple[int, list[int]]] = deque()
        self._stop = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._thread: threading.Thread | None = None
        self._inbox: list[Delivery] = []
        self._now_us = 0  # the receive stamp of this turn's deliveries
        self._client = self._make_client()
        self._reader = PublishReader(self._client, config.protocol == "5")
        self._writer = AckWriter(self._client)
        self.session_present: bool | None = None

    # -- public API ---------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mqtt", daemon=True)
        self._thread.start()

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Acknowledge (thread-safe); deliveries of older connections are skipped."""
        if not deliveries:
            return
        gen = self.generation
        mids = [d[3] for d in deliveries if d[4] == gen and d[3]]
        if mids:
            self._acks.append((gen, mids))
            self._wake()

    def stop(self, timeout: float = 10.0) -> None:
        """Send pending acks, disconnect cleanly (the session stays), join the thread."""
        self._stop.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout)
        self._wake_r.close()
        self._wake_w.close()

    # -- network thread -----------------------------------------------------
    def _wake(self) -> None:
        # A full buffer means a wake-up is already pending; closed means stopping.
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def _make_client(self) -> mqtt.Client:
        client = new_client(self.config)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        return client

    def _connect(self) -> None:
        open_session(self._client, self.config)

    def _on_connect(
        self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any = None
    ) -> None:
        self._reader.packet_done()
        if reason.is_failure:
            log.error("mqtt connect refused reason=%s", reason)
            return
        self._session_up = True
        self.session_present = bool(flags.session_present)
        if not self.session_present:
            log.warning(
                "mqtt broker had no session for client_id=%s: a new one starts now",
                self.config.client_id,
            )
        if self.config.protocol == "5":
            # retainHandling=1: retained messages only when the subscription is new.
            opts = SubscribeOptions(qos=1, retainHandling=1)
            client.subscribe([(t, opts) for t in self.config.topics])
        else:
            client.subscribe([(t, 1) for t in self.config.topics])
        self.connected.set()
        log.info(
            "mqtt connected url=%s client_id=%s generation=%d session_present=%s topics=%s",
            safe_url(self.config.url),
            self.config.client_id,
            self.generation,
            self.session_present,
            ",".join(self.config.topics),
        )

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, reasons: Any, _p: Any) -> None:
        self._reader.packet_done()
        refused = [r for r in reasons if r.is_failure]
        if refused:
            # E.g. an ACL without read access: nothing will arrive; say so loudly.
            log.error("mqtt subscription refused reasons=%s", ",".join(map(str, refused)))
            return
        log.info("mqtt subscribed generation=%d", self.generation)

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connected.clear()
        if not self._stop.is_set():
            log.warning("mqtt disconnected reason=%s", reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        # The hot path: no parsing here, just hand over.
        try:
            topic = msg.topic
        except UnicodeDecodeError:  # brokers refuse these; keep it anyway
            topic = repr(msg._topic)
        # Only for what the fast path leaves to paho: TLS, and paho reading on
        # after a packet cut short (see ingest/mqtt_client.py).
        payload = bytes(msg.payload)
        self._inbox.append((topic, payload, self._now_us, msg.mid, self.generation))
        self._reader.packet_done()

    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                self._connect()
            except (OSError, ssl.SSLError, ValueError) as exc:
                delay = self._backoff.delay(attempt, self._rand())
                attempt += 1
                log.warning("mqtt connect failed: %s; retry in %.1fs", exc, delay)
                self._stop.wait(delay)
                continue
            # A new socket is a new generation from its first byte, not from its
            # CONNACK: acks of the connection before, flushed in between, once
            # went out on the new one.
            self.generation += 1
            self.unacked = 0
            self._session_up = False
            self._on_reconnect(self.generation)  # what the old socket left queued is stale
            clean = self._pump()
            if clean:
                return
            # A session that got as far as CONNACK resets the backoff.
            attempt = 0 if self._session_up else attempt + 1
            self.connected.clear()
            if not self._stop.is_set():
                delay = self._backoff.delay(attempt, self._rand())
                log.info("mqtt reconnecting in %.1fs", delay)
                self._stop.wait(delay)
        self._client.disconnect()

    def _pump(self) -> bool:
        """Serve one connection; True when it ended by stop(), False when lost."""
        client, writer = self._client, self._writer
        last_misc = 0.0
        while True:
            if self._stop.is_set():
                return self._close_gracefully()
            sock = client.socket()
            if sock is None:
                return False
            self._reader.attach(sock)
            writer.attach(sock)
            self._flush_acks()
            # paho's own packets first (a SUBSCRIBE queued inside on_connect
            # would otherwise wait for the socket to run dry), then our acks.
            if (
                client.want_write()
                and not writer.pending
                and client.loop_write() != mqtt.MQTT_ERR_SUCCESS
            ):
                return False
            if not writer.write():
                return False
            self._now_us = int(self._clock() * 1_000_000)
            reading = not self._paused()
            if reading:
                self.idle.clear()
            else:
                self.idle.set()  # nothing more will be handed over until resumed
            try:
                alive = self._turn(sock, reading)
            except ProtocolError as exc:
                log.error("mqtt protocol error, dropping the connection: %s", exc)
                alive = False
            except OSError as exc:
                # A broker killed with bytes unread resets the link (ECONNRESET
                # from our peek) instead of closing it: lost, not fatal. This
                # once ended the network thread, and the ingestor never came back.
                log.warning("mqtt connection lost: %s", exc)
                alive = False
            self._deliver()
            if not alive:
                return False
            now = time.monotonic()
            # paho's housekeeping may write (PINGREQ): never between our acks' bytes.
            if now - last_misc >= 0.5 and not writer.pending:
                last_misc = now
                if client.loop_misc() != mqtt.MQTT_ERR_SUCCESS:
                    return False

    def _turn(self, sock: Any, reading: bool) -> bool:
        """Read what is there, or wait on the socket once; False if the link broke.

        At most a burst per turn: a socket that never runs dry (a backlog at
        the broker) must not keep us from handing over, seeing backpressure and
        flushing acks. Without this bound one turn once queued 220,000 messages
        over a 40,000 limit and stayed away from the socket long enough for a
        keep-alive timeout.
        """
        client, reader, writer = self._client, self._reader, self._writer
        turn = Turn.IDLE
        if reading and reader.fast:
            paho_turn = time.monotonic() - reader.paho_read_at >= self._paho_every_s
            turn = reader.read(
                self._inbox,
                _READ_BURST,
                self._now_us,
                self.generation,
                not writer.pending,
                paho_turn=paho_turn,
            )
            if turn is Turn.AGAIN:
                return True
            if turn is Turn.LOST:
                return False
        elif reading and _tls_pending(sock):
            return self._paho_read(sock)  # decrypted bytes select() cannot see
        rlist: list[Any] = [self._wake_r]
        if reading and turn is not Turn.BLOCKED:
            rlist.append(sock)
        wlist = [sock] if client.want_write() or writer.pending else []
        # Holding deliveries, wait only a moment for more to join them: long
        # enough to batch a busy feed, short enough that a lone message is not
        # held until the next one (or the idle timeout) arrives.
        timeout = _HANDOVER_WAIT_S if self._inbox else 0.25
        try:
            readable, writable, _ = select.select(rlist, wlist, [], timeout)
        except (OSError, ValueError):
            return False
        if self._wake_r in readable:
            self._drain_wake()
        if (
            sock in writable
            and client.want_write()
            and client.loop_write() != mqtt.MQTT_ERR_SUCCESS
        ):
            return False
        if sock in readable and not reader.fast:
            return self._paho_read(sock)
        return True  # the fast path reads it next turn

    def _paho_read(self, sock: Any) -> bool:
        """paho's own read, a burst of packets (TLS keeps decrypted ones inside ssl)."""
        for _ in range(_READ_BURST):
            if self._client.loop_read() != mqtt.MQTT_ERR_SUCCESS:
                return False
            if len(self._inbox) >= _READ_BURST or not _tls_pending(sock):
                break
        return True

    def _deliver(self) -> None:
        if self._inbox:
            inbox, self._inbox = self._inbox, []
            # All of this socket: a lost one's are handed over before it is replaced.
            self.unacked += len(inbox)
            self._sink(inbox)

    def _drain_wake(self) -> None:
        with contextlib.suppress(OSError):
            while self._wake_r.recv(4096):
                pass

    def _flush_acks(self) -> None:
        if not self._acks:
            return
        batch: list[int] = []
        while self._acks:
            gen, mids = self._acks.popleft()
            if gen == self.generation:
                batch.extend(mids)
        if batch:
            self._writer.queue(batch)  # one write for the whole batch (see module doc)
            self.acked += len(batch)
            self.unacked -= len(batch)

    def _close_gracefully(self) -> bool:
        client, writer = self._client, self._writer
        writer.attach(client.socket())
        self._flush_acks()
        deadline = time.monotonic() + 5.0
        while (
            (writer.pending or client.want_write())
            and client.socket() is not None
            and time.monotonic() < deadline
        ):
            if client.want_write():  # paho's packet first: it was on the wire before ours
                if client.loop_write() != mqtt.MQTT_ERR_SUCCESS:
                    break
            elif not writer.write():
                break
            time.sleep(0.001)
        client.disconnect()
        client.loop_write()
        return True


def _tls_pending(sock: Any) -> bool:
    return isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
