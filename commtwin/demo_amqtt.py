"""The demo's fallback MQTT broker: amqtt in its own process (MQTT 3.1.1 only).

``commtwin demo`` runs ``python -m commtwin.demo_amqtt --port N`` when neither
``COMMTWIN_MQTT_URL`` nor a ``mosquitto`` binary is available, so the demo
needs nothing but Python. amqtt keeps sessions in memory only and speaks
3.1.1, so the demo runs ingest and simulator with ``COMMTWIN_MQTT_PROTOCOL=3.1.1``
against it. It stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections.abc import Sequence
from typing import Any


def broker_config(host: str, port: int) -> dict[str, Any]:
    """amqtt's configuration: one TCP listener, anonymous clients, no $SYS chatter.

    >>> broker_config("127.0.0.1", 18830)["listeners"]["default"]["bind"]
    '127.0.0.1:18830'
    """
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        # Persistent sessions (ingest reconnects) are kept a week, as Mosquitto does here.
        "session_expiry_interval": 7 * 24 * 3600,
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }


async def serve(host: str, port: int) -> None:
    """Run the broker until SIGTERM or SIGINT."""
    # Imported here: only this process needs amqtt (and its import-time warnings).
    from amqtt.broker import Broker  # noqa: PLC0415

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    broker = Broker(broker_config(host, port), loop=loop)
    await broker.start()
    logging.getLogger(__name__).info("amqtt broker listening on %s:%d", host, port)
    await stop.wait()
    await broker.shutdown()


def _not_a_probe(record: logging.LogRecord) -> bool:
    """Drop amqtt's error for a connection closed before its first packet: the
    demo's readiness probe (a TCP connect) does exactly that."""
    return "No data to decode MQTT packet" not in record.getMessage()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m commtwin.demo_amqtt", description="amqtt broker for the commtwin demo"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger(__name__).setLevel(logging.INFO)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_not_a_probe)
    asyncio.run(serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
