"""Which MQTT broker the demo uses, and how to start it when it must.

``COMMTWIN_MQTT_URL`` set: that broker, as configured. Otherwise a private
``mosquitto`` with the project's config (deploy/mosquitto/mosquitto.conf) plus
a listener on 127.0.0.1 and persistence in the data directory, when the binary
exists; else the pure-Python amqtt broker (``commtwin.demo_amqtt``), which
speaks MQTT 3.1.1 only, so ingest and simulator are told to use 3.1.1.
"""

from __future__ import annotations

import enum
import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from commtwin.demo_processes import ChildSpec

PROJECT_MOSQUITTO_CONF = (
    Path(__file__).resolve().parent.parent / "deploy" / "mosquitto" / "mosquitto.conf"
)
MOSQUITTO_FALLBACKS = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


class BrokerKind(enum.Enum):
    CONFIGURED = "configured"
    MOSQUITTO = "mosquitto"
    AMQTT = "amqtt"


@dataclass(frozen=True, slots=True)
class BrokerPlan:
    kind: BrokerKind
    url: str
    protocol: str  # what ingest and simulator must speak
    binary: str | None = None  # mosquitto only


def find_mosquitto() -> str | None:
    """The mosquitto binary on PATH, else in the sbin directories a non-root
    user's PATH often lacks (Debian installs it in /usr/sbin)."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((p for p in MOSQUITTO_FALLBACKS if os.access(p, os.X_OK)), None)


def plan_broker(
    configured_url: str | None, configured_protocol: str, mosquitto: str | None, port: int
) -> BrokerPlan:
    """Choose the broker.

    >>> plan_broker(None, "5", "/usr/sbin/mosquitto", 1884).kind.value
    'mosquitto'
    >>> p = plan_broker(None, "5", None, 1884)
    >>> (p.kind.value, p.url, p.protocol)
    ('amqtt', 'mqtt://127.0.0.1:1884', '3.1.1')
    >>> plan_broker("mqtt://broker:1883", "5", None, 1884).url
    'mqtt://broker:1883'
    """
    if configured_url is not None:
        return BrokerPlan(BrokerKind.CONFIGURED, configured_url, configured_protocol)
    url = f"mqtt://127.0.0.1:{port}"
    if mosquitto is not None:
        return BrokerPlan(BrokerKind.MOSQUITTO, url, configured_protocol, mosquitto)
    return BrokerPlan(BrokerKind.AMQTT, url, "3.1.1")


def mosquitto_conf(project_conf: str, port: int, persistence_dir: Path, as_root: bool) -> str:
    """The project's config plus what a private broker needs.

    >>> print(mosquitto_conf("max_inflight_messages 20000", 1884, Path("/d"), False))
    max_inflight_messages 20000
    <BLANKLINE>
    # commtwin demo
    listener 1884 127.0.0.1
    persistence true
    persistence_location /d/
    <BLANKLINE>
    """
    lines = [
        project_conf.rstrip("\n"),
        "",
        "# commtwin demo",
        f"listener {port} 127.0.0.1",
        "persistence true",
        f"persistence_location {persistence_dir}/",
    ]
    if as_root:
        # Started as root, Mosquitto switches to user `mosquitto`, which cannot
        # write the demo's persistence under root's home: keep the demo's user.
        lines.append("user root")
    return "\n".join(lines) + "\n"


def broker_child(plan: BrokerPlan, data_dir: Path, port: int, env: Mapping[str, str]) -> ChildSpec:
    """How to run the private broker of ``plan`` (not for CONFIGURED)."""
    logs = data_dir / "logs"
    if plan.kind is BrokerKind.MOSQUITTO:
        assert plan.binary is not None
        if not PROJECT_MOSQUITTO_CONF.is_file():
            raise FileNotFoundError(f"the project's Mosquitto config {PROJECT_MOSQUITTO_CONF}")
        persistence = data_dir / "mosquitto"
        persistence.mkdir(parents=True, exist_ok=True)
        conf = persistence / "mosquitto.conf"
        conf.write_text(
            mosquitto_conf(
                PROJECT_MOSQUITTO_CONF.read_text("utf-8"), port, persistence, os.geteuid() == 0
            )
        )
        return ChildSpec("mosquitto", (plan.binary, "-c", str(conf)), env, logs / "mosquitto.log")
    argv = (sys.executable, "-m", "commtwin.demo_amqtt", "--port", str(port))
    return ChildSpec("amqtt", argv, env, logs / "amqtt.log")


def redact(url: str) -> str:
    """The URL without its password (the banner is often copied around).

    >>> redact("mqtts://ingest:secret@broker:8883")
    'mqtts://ingest:***@broker:8883'
    >>> redact("mqtt://127.0.0.1:1883")
    'mqtt://127.0.0.1:1883'
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def describe(plan: BrokerPlan) -> str:
    """One line for the banner.

    >>> describe(BrokerPlan(BrokerKind.AMQTT, "mqtt://127.0.0.1:1884", "3.1.1"))
    'mqtt://127.0.0.1:1884 (embedded amqtt broker, MQTT 3.1.1)'
    """
    what = {
        BrokerKind.CONFIGURED: "COMMTWIN_MQTT_URL",
        BrokerKind.MOSQUITTO: "private mosquitto",
        BrokerKind.AMQTT: "embedded amqtt broker",
    }[plan.kind]
    return f"{redact(plan.url)} ({what}, MQTT {plan.protocol})"
