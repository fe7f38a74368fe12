"""docker-compose.yml validates with Debian's docker-compose (v1, no engine needed)
and describes the deployment: TimescaleDB, Mosquitto with the project's
config, two shared-subscription ingestors with stable client ids, API,
simulator, health checks and volumes."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from commtwin.cli import build_parser
from tests.services import ROOT


def compose(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail(
            "docker-compose is not installed: `apt-get install docker-compose` (scripts/setup.sh "
            "installs it when run as root); this test validates docker-compose.yml with it"
        )
    return subprocess.run(
        [binary, "--project-directory", str(ROOT), "-f", str(ROOT / "docker-compose.yml"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    checked = compose("config", "-q")
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout == ""
    resolved = compose("config")
    assert resolved.returncode == 0, resolved.stderr
    data = yaml.safe_load(resolved.stdout)
    assert isinstance(data, dict)
    return data


def single_node(services: dict[str, Any]) -> set[str]:
    return {name for name, svc in services.items() if "cluster" not in svc.get("profiles", [])}


def test_the_services_are_there(config: dict[str, Any]) -> None:
    assert single_node(config["services"]) == {
        "timescaledb",
        "mosquitto",
        "migrate",
        "ingest-1",
        "ingest-2",
        "api",
        "simulator",
        "cli",
    }
    assert config["services"]["timescaledb"]["image"].startswith("timescale/timescaledb:")
    assert config["services"]["mosquitto"]["image"].startswith("eclipse-mosquitto:2")
    assert {"pgdata", "mosquitto-data"} <= set(config["volumes"])


def test_two_ingestors_share_one_subscription_with_stable_client_ids(
    config: dict[str, Any],
) -> None:
    ingestors = [config["services"][f"ingest-{n}"] for n in (1, 2)]
    ids = set()
    for service in ingestors:
        command = service["command"]
        assert command[:3] == ["ingest", "--group", "commtwin-ingest"]
        ids.add(service["environment"]["COMMTWIN_MQTT_CLIENT_ID"])
        assert service["environment"]["COMMTWIN_MQTT_URL"] == "mqtt://mosquitto:1883"
    assert ids == {"commtwin-ingest-1", "commtwin-ingest-2"}


def test_every_long_running_service_but_the_feed_has_a_health_check(
    config: dict[str, Any],
) -> None:
    services = config["services"]
    for name in ("timescaledb", "mosquitto", "ingest-1", "ingest-2", "api"):
        test = services[name]["healthcheck"]["test"]
        assert test[0] in ("CMD", "CMD-SHELL"), name
    assert "9108/metrics" in " ".join(services["ingest-1"]["healthcheck"]["test"])
    assert "8000/readyz" in " ".join(services["api"]["healthcheck"]["test"])
    # Services start once what they need is healthy or done.
    assert services["migrate"]["depends_on"]["timescaledb"]["condition"] == "service_healthy"
    for name in ("ingest-1", "ingest-2", "api", "simulator"):
        migrate = services[name]["depends_on"]["migrate"]["condition"]
        assert migrate == "service_completed_successfully", name


def test_mosquitto_runs_the_projects_config(config: dict[str, Any]) -> None:
    mosquitto = config["services"]["mosquitto"]
    conf = ROOT / "deploy" / "mosquitto" / "mosquitto.conf"
    assert f"{conf}:/etc/commtwin/mosquitto.conf:ro" in mosquitto["volumes"]
    script = " ".join(mosquitto["entrypoint"])
    assert "cat /etc/commtwin/mosquitto.conf" in script
    assert "listener 1883 0.0.0.0" in script
    assert "persistence_location /mosquitto/data/" in script
    directives = [line.split()[0] for line in conf.read_text().splitlines() if line.strip()]
    assert "listener" not in directives, (
        "the shared config must stay without a listener (tests, demo and compose add their own)"
    )


def test_commands_use_real_cli_options(config: dict[str, Any]) -> None:
    """Every `commtwin ...` in the file parses with the real command line."""
    parser = build_parser()
    services = config["services"]
    argvs = [services[n]["command"] for n in ("migrate", "ingest-1", "ingest-2", "api")]
    feed = services["simulator"]["command"][0]
    argvs += [part.replace("exec ", "").split()[1:] for part in feed.split(" && ")]
    for argv in argvs:
        parser.parse_args(argv)  # argparse exits (a failure here) on an unknown option


def test_environment_can_change_ports_and_password() -> None:
    out = compose(
        "config",
        env={"POSTGRES_PASSWORD": "s3cret", "COMMTWIN_API_PORT": "9000"},
    )
    assert out.returncode == 0, out.stderr
    data = yaml.safe_load(out.stdout)
    api = data["services"]["api"]
    assert api["ports"][0]["published"] == 9000
    assert ":s3cret@timescaledb:" in api["environment"]["COMMTWIN_DATABASE_URL"]
    assert data["services"]["timescaledb"]["environment"]["POSTGRES_PASSWORD"] == "s3cret"


def test_the_image_leaves_out_what_it_does_not_need() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for path in (".venv", "web/node_modules", ".git", "tests"):
        assert path in ignored
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("commtwin", "ingest", "twin", "api", "simulators", "schemas"):
        assert f"COPY {package} ./{package}" in dockerfile
    assert Path(ROOT / "web" / "package-lock.json").is_file()


@pytest.fixture(scope="module")
def cluster() -> dict[str, Any]:
    checked = compose("--profile", "cluster", "config", "-q")
    assert checked.returncode == 0, checked.stderr
    resolved = compose("--profile", "cluster", "config")
    assert resolved.returncode == 0, resolved.stderr
    data = yaml.safe_load(resolved.stdout)
    assert isinstance(data, dict)
    return data


def test_cluster_profile_has_a_two_node_emqx_three_ingestors_and_two_apis(
    cluster: dict[str, Any],
) -> None:
    services = cluster["services"]
    members = {n for n, s in services.items() if "cluster" in s.get("profiles", [])}
    assert members == {"emqx-1", "emqx-2", "ingest-c1", "ingest-c2", "ingest-c3",
                       "api-c1", "api-c2", "proxy"}  # fmt: skip
    nodes = [services[n] for n in ("emqx-1", "emqx-2")]
    names = {node["environment"]["EMQX_NODE__NAME"] for node in nodes}
    assert names == {"emqx@emqx-1.commtwin.cluster", "emqx@emqx-2.commtwin.cluster"}
    for node in nodes:
        env = node["environment"]
        assert node["image"].startswith("emqx/emqx:5.")
        assert env["EMQX_CLUSTER__DISCOVERY_STRATEGY"] == "static"
        assert all(name in env["EMQX_CLUSTER__STATIC__SEEDS"] for name in names)
        # Node names are resolvable by the other node (long names need a dot).
        assert node["hostname"] in node["networks"]["default"]["aliases"]
        # What an ingestor acking after commit needs: wide in-flight window, deep queue.
        assert int(env["EMQX_MQTT__MAX_INFLIGHT"]) >= 20000
        assert int(env["EMQX_MQTT__MAX_MQUEUE_LEN"]) >= 1_000_000
        assert node["healthcheck"]["test"][0] == "CMD"
    # The cluster's ingestors and APIs use the one TimescaleDB, migrated once.
    ids, brokers = set(), set()
    for name in ("ingest-c1", "ingest-c2", "ingest-c3"):
        ingestor = services[name]
        assert ingestor["command"][:3] == ["ingest", "--group", "commtwin-ingest"]
        env = ingestor["environment"]
        ids.add(env["COMMTWIN_MQTT_CLIENT_ID"])
        brokers.add(env["COMMTWIN_MQTT_URL"])
        assert "@timescaledb:5432/" in env["COMMTWIN_DATABASE_URL"]
        assert set(ingestor["depends_on"]) == {"migrate", "emqx-1", "emqx-2"}
    assert len(ids) == 3
    assert brokers == {"mqtt://emqx-1:1883", "mqtt://emqx-2:1883"}
    for name in ("api-c1", "api-c2"):
        assert services[name]["command"][0] == "api"
        assert "8000/readyz" in " ".join(services[name]["healthcheck"]["test"])
    parser = build_parser()
    for name in ("ingest-c1", "api-c1"):
        parser.parse_args(services[name]["command"])


def test_cluster_proxy_spreads_http_and_mqtt_over_both_replicas(cluster: dict[str, Any]) -> None:
    proxy = cluster["services"]["proxy"]
    assert proxy["image"].startswith("nginx:")
    conf = ROOT / "deploy" / "nginx" / "cluster.conf"
    assert f"{conf}:/etc/nginx/nginx.conf:ro" in proxy["volumes"]
    assert {p["target"] for p in proxy["ports"]} == {8000, 1883}
    assert set(proxy["depends_on"]) == {"api-c1", "api-c2", "emqx-1", "emqx-2"}
    text = conf.read_text()
    for upstream in ("api-c1:8000", "api-c2:8000", "emqx-1:1883", "emqx-2:1883"):
        assert f"server {upstream}" in text
    assert "proxy_buffering off" in text  # /stream's events are not held back
