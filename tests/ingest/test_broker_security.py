"""The shipped security examples work: TLS with client certificates (mqtts://),
password file, and the ACL that keeps each community's devices in their community."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.ingest.helpers import IngestProcess, add_community, scalar, wait_for_value
from tests.services import ROOT, Broker, free_port, wait_for_port

DEPLOY = ROOT / "deploy" / "mosquitto"
pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certs(d: Path) -> None:
    """A throwaway CA, a server certificate for 127.0.0.1 and a client certificate."""
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=commtwin-test-ca",
        cwd=d,
    )
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    for name in ("server", "client"):
        _openssl(
            "req",
            *ec,
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            "-subj",
            f"/CN={'127.0.0.1' if name == 'server' else 'commtwin-ingest'}",
            cwd=d,
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.crt",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            cwd=d,
        )


@pytest.fixture
def secure_broker() -> Iterator[tuple[Broker, int, Path]]:
    # Mosquitto started as root drops to its own user: the files must be
    # readable by it, which pytest's private tmp_path is not.
    tmp_path = Path(tempfile.mkdtemp(prefix="commtwin-tls-"))
    tmp_path.chmod(0o755)
    make_certs(tmp_path)
    for f in tmp_path.iterdir():
        f.chmod(0o644)  # throwaway test keys
    tls_port = free_port()
    secure = (DEPLOY / "secure.conf.example").read_text()
    secure = secure.replace("listener 1883 127.0.0.1\n", "")  # the Broker adds its own
    secure = secure.replace("listener 8883 0.0.0.0", f"listener {tls_port} 127.0.0.1")
    secure = secure.replace("/etc/commtwin/mosquitto/passwd", str(DEPLOY / "passwd.example"))
    secure = secure.replace("/etc/commtwin/mosquitto/acl", str(DEPLOY / "acl.example"))
    secure = secure.replace("/etc/commtwin/tls", str(tmp_path))
    conf = tmp_path / "mosquitto.conf"
    conf.write_text((DEPLOY / "mosquitto.conf").read_text() + "\n" + secure)
    broker = Broker(conf)
    try:
        broker.start()
        wait_for_port(tls_port)
        yield broker, tls_port, tmp_path
    finally:
        broker.close()
        shutil.rmtree(tmp_path, ignore_errors=True)


def _device(port: int, certs: Path, user: str, password: str, client_id: str) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
    c.username_pw_set(user, password)
    c.tls_set(
        ca_certs=str(certs / "ca.crt"),
        certfile=str(certs / "client.crt"),
        keyfile=str(certs / "client.key"),
    )
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def test_tls_client_certs_password_and_acl(
    secure_broker: tuple[Broker, int, Path], ingest_db: str, tmp_path: Path
) -> None:
    _, tls_port, certs = secure_broker
    add_community(ingest_db, "north")
    ingestor = IngestProcess(
        ingest_db,
        f"mqtts://commtwin-ingest:demo-ingest@127.0.0.1:{tls_port}",
        tmp_path,
        client_id="tls-ingest",
        extra=("--group", "secure"),
        env={
            "COMMTWIN_MQTT_CA_FILE": str(certs / "ca.crt"),
            "COMMTWIN_MQTT_CERT_FILE": str(certs / "client.crt"),
            "COMMTWIN_MQTT_KEY_FILE": str(certs / "client.key"),
        },
    )
    ingestor.wait_connected()
    time.sleep(0.3)
    device = _device(tls_port, certs, "lanting", "demo-lanting", "smoke-1")
    ts = int(time.time() * 1000)
    allowed = "commtwin/v1/lanting/devices/smoke-1/telemetry"
    denied = [
        "commtwin/v1/north/devices/smoke-1/telemetry",  # another community
        "commtwin/v1/lanting/devices/smoke-2/telemetry",  # another device
    ]
    for topic in denied:
        device.publish(topic, f'{{"ts": {ts}, "values": {{"t": 1}}}}', qos=1).wait_for_publish(5)
    device.publish(allowed, f'{{"ts": {ts}, "values": {{"t": 2}}}}', qos=1).wait_for_publish(5)
    assert wait_for_value(lambda: scalar(ingest_db, "SELECT count(*) FROM readings"), 1, 20) == 1
    time.sleep(0.5)  # a wrongly delivered message would have landed by now
    device.loop_stop()
    device.disconnect()
    assert ingestor.terminate() == 0, ingestor.log
    assert scalar(ingest_db, "SELECT string_agg(id, ',') FROM devices") == "smoke-1"
    assert scalar(ingest_db, "SELECT value FROM readings") == 2.0
    # A wrong password is refused outright.
    outcomes: list[bool] = []
    intruder = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="smoke-9")
    intruder.username_pw_set("lanting", "guess")
    intruder.tls_set(
        ca_certs=str(certs / "ca.crt"),
        certfile=str(certs / "client.crt"),
        keyfile=str(certs / "client.key"),
    )
    intruder.on_connect = lambda c, u, flags, reason, props: outcomes.append(reason.is_failure)
    intruder.connect("127.0.0.1", tls_port)
    intruder.loop_start()
    assert wait_for_value(lambda: outcomes[:1], [True], 10) == [True]
    intruder.loop_stop()
