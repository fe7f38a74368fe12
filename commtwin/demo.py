"""``commtwin demo``: everything on one machine, from nothing but Python.

Starts what is not configured (embedded PostgreSQL, a private mosquitto or
the amqtt fallback), prepares the database (schema, the generated ``demo``
community, a cockpit key), then runs ingest, API and the realistic simulator
as child processes, prints the cockpit URL and supervises them until Ctrl-C
(or SIGTERM). Stopping: the children get SIGTERM together (ingest drains),
stragglers SIGKILL, then the broker, then the embedded PostgreSQL.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from commtwin import demo_history, demo_setup
from commtwin.demo_banner import Banner, url_host
from commtwin.demo_broker import (
    BrokerKind,
    BrokerPlan,
    broker_child,
    describe,
    find_mosquitto,
    plan_broker,
)
from commtwin.demo_history import HistoryWritten
from commtwin.demo_os import (
    DemoError,
    StopRequestedError,
    check_port_free,
    data_dir_lock,
    free_port,
    no_interrupts,
    port_open,
    stop_signals,
)
from commtwin.demo_people import ensure_people
from commtwin.demo_postgres import EmbeddedPostgres, EmbeddedPostgresError
from commtwin.demo_processes import Child, ChildSpec, start_child, stop_children, tail
from commtwin.demo_readings import ReadingsWritten
from commtwin.demo_ready import ApiProbe
from commtwin.demo_state import (
    DemoState,
    DemoStateError,
    clock_reached,
    history_windows,
    load_state,
    save_state,
    simulation_start,
)
from commtwin.settings import Settings

__all__ = ["Demo", "DemoError", "DemoOptions", "run_demo"]

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0


@dataclass(frozen=True, slots=True)
class DemoOptions:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8000
    mqtt_port: int = 0  # 0: a free port
    speed: float = 30.0
    # Simulated time raced through before the feed reaches the present. Kept
    # under the rules' 60-minute no-data window: readings older than that
    # would raise a "no data" alarm for every device until the feed caught up.
    catch_up_s: float = 45 * 60.0
    event_rate: float = 20.0
    incidents_per_day: float = 200.0
    # Residents' reports of the month before the first start (the closed loop's
    # 30-day figures need a month); a later run fills only the gap since the last.
    incident_history_s: float = 30 * 86400.0
    simulator: bool = True
    broker: str = "auto"  # auto | mosquitto | amqtt (when COMMTWIN_MQTT_URL is not set)


class Demo:
    """One run of the demo; :meth:`run` returns the exit status."""

    def __init__(self, options: DemoOptions, settings: Settings, out: IO[str]) -> None:
        self.options = options
        self.settings = settings
        self.out = out
        self.children: list[Child] = []
        self.t0 = time.monotonic()
        self.sim_start: float | None = None  # simulated start and real start of the simulator
        self.sim_started_at = 0.0
        self.port = options.port
        self.state = DemoState()
        self._state_lock = threading.Lock()  # the history thread updates it too
        self._stopping = False

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def run(self) -> int:
        o = self.options
        o.data_dir.mkdir(parents=True, exist_ok=True)
        check_port_free(o.host, o.port, "API", "--port")
        self.port = o.port or free_port(o.host)
        try:
            with stop_signals(), ExitStack() as stack:
                stack.enter_context(data_dir_lock(o.data_dir))
                try:
                    return self._run(stack)
                except (KeyboardInterrupt, StopRequestedError):
                    self.say("\nstopping ...")
                    return 0
                finally:
                    self._stopping = True
                    with no_interrupts():
                        self._stop_children()
                        stack.close()  # broker already stopped with the children; then PostgreSQL
                        self.say("demo stopped")
        except (KeyboardInterrupt, StopRequestedError):
            return 0

    def _run(self, stack: ExitStack) -> int:
        o, s = self.options, self.settings
        try:
            state = load_state(o.data_dir)
        except DemoStateError as exc:
            raise DemoError(str(exc)) from None
        database_url, database_text = self._database(stack)
        self.say(f"database: {database_text}")
        mode = demo_setup.upgrade_schema(database_url, s.retention_days)
        model_path = o.data_dir / "demo-community.json"
        model = demo_setup.write_model(model_path)
        community = demo_setup.import_model(database_url, model_path, model)
        self.say(
            f"community {community.id!r}: {community.buildings} buildings, "
            f"{community.devices} devices ({'imported' if community.changed else 'unchanged'}; "
            f"storage {mode})"
        )
        missing = demo_setup.missing_page_assets()
        if missing:
            self.say(
                f"warning: the cockpit page's npm packages are missing ({', '.join(missing)}); "
                "run scripts/setup.sh (needs Node.js 20 and npm) for the 3D view"
            )
        key, reused = demo_setup.cockpit_key(database_url, state.key_for(database_url))
        state = state.with_key(database_url, key)
        password, people = ensure_people(database_url, key)
        # Whole seconds, as passed on the command line, so clock_reached() agrees.
        start = float(int(simulation_start(time.time(), state.simulated_until, o.catch_up_s)))
        if o.simulator:
            pending = state.history_pending
            windows = history_windows(start, state.simulated_until, pending, o.incident_history_s)
            state = state.with_history_pending(windows)
        save_state(o.data_dir, state)
        self.state = state
        plan = self._broker()
        env = self._child_env(database_url, plan)
        self._start_services(plan, env, model_path, start, key)
        if o.simulator and state.history_pending:
            history = threading.Thread(
                target=self._write_history, args=(database_url, model_path), daemon=True
            )
            history.start()
        api = f"http://{url_host(o.host, for_probe=False)}:{self.port}"
        probe_url = f"http://{url_host(o.host, for_probe=True)}:{self.port}"
        probe = ApiProbe(probe_url, demo_setup.COMMUNITY, key)
        self._wait("the API", probe.ready)
        logs = o.data_dir / "logs"
        banner = Banner(
            api,
            demo_setup.COMMUNITY,
            key,
            reused,
            describe(plan),
            database_text,
            logs,
            people,
            password,
        )
        self.say(banner.text())
        if o.simulator:
            online = self._wait("devices online", lambda: (probe.devices_online() or 0) > 0)
            self.say(f"ready in {online:.1f} s: devices are online; the cockpit is live")
        else:
            self.say(
                f"ready in {time.monotonic() - self.t0:.1f} s (no simulator: publish to "
                f"{plan.url} under {s.topic_root}/demo/...)"
            )
        try:
            return self._supervise()
        finally:
            if self.sim_start is not None:
                reached = clock_reached(self.sim_start, self.sim_started_at, time.time(), o.speed)
                with self._state_lock:
                    save_state(o.data_dir, self.state.with_simulated_until(reached))

    def _database(self, stack: ExitStack) -> tuple[str, str]:
        if "database_url" in self.settings.model_fields_set:
            return self.settings.database_url, "COMMTWIN_DATABASE_URL"
        pg = EmbeddedPostgres(self.options.data_dir / "pg")
        try:
            stack.enter_context(pg)
        except EmbeddedPostgresError as exc:
            raise DemoError(str(exc)) from None
        return pg.url, f"embedded PostgreSQL {pg.version} in {pg.pgdata}"

    def _broker(self) -> BrokerPlan:
        s, o = self.settings, self.options
        configured = s.mqtt_url if "mqtt_url" in s.model_fields_set else None
        port = o.mqtt_port or free_port()
        if configured is None and o.mqtt_port:
            check_port_free("127.0.0.1", port, "MQTT", "--mqtt-port")
        mosquitto = find_mosquitto() if o.broker in ("auto", "mosquitto") else None
        if o.broker == "mosquitto" and mosquitto is None:
            raise DemoError("--broker mosquitto: no mosquitto binary found (PATH, /usr/sbin)")
        return plan_broker(configured, s.mqtt_protocol, mosquitto, port)

    def _child_env(self, database_url: str, plan: BrokerPlan) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            COMMTWIN_DATABASE_URL=database_url,
            COMMTWIN_MQTT_URL=plan.url,
            COMMTWIN_MQTT_PROTOCOL=plan.protocol,
            PYTHONUNBUFFERED="1",
        )
        return env

    def _commtwin(self, *args: str) -> tuple[str, ...]:
        return (sys.executable, "-m", "commtwin", *args)

    def _start_services(
        self,
        plan: BrokerPlan,
        env: dict[str, str],
        model: Path,
        start: float,
        key: str,
    ) -> None:
        o = self.options
        logs = o.data_dir / "logs"
        if plan.kind is not BrokerKind.CONFIGURED:
            port = int(plan.url.rsplit(":", 1)[1])
            self._start(broker_child(plan, o.data_dir, port, env))
            self._wait("the MQTT broker", lambda: port_open("127.0.0.1", port))
        self._start(
            ChildSpec(
                "ingest",
                self._commtwin(
                    "ingest",
                    "--client-id",
                    f"commtwin-demo-{socket.gethostname()}",
                    "--metrics-port",
                    str(free_port()),
                    "--drain-timeout",
                    "10",
                ),
                env,
                logs / "ingest.log",
            )
        )
        self._start(
            ChildSpec(
                "api",
                self._commtwin("api", "--host", o.host, "--port", str(self.port)),
                env,
                logs / "api.log",
            )
        )
        if o.simulator:
            iso = datetime.fromtimestamp(start, UTC).isoformat()
            api = f"http://{url_host(o.host, for_probe=True)}:{self.port}"
            argv = self._commtwin(
                "simulate",
                "run",
                "--model",
                str(model),
                "--seed",
                str(demo_setup.SEED),
                "--speed",
                f"{o.speed:g}",
                "--start",
                iso,
                "--event-rate",
                f"{o.event_rate:g}",
                "--incidents-per-day",
                f"{o.incidents_per_day:g}",
                # The workers' app reads open incidents (alarm-opened ones too) with
                # the demo's read key, passed in the environment.
                "--workers-api",
                api,
            )
            sim_env = {**env, "COMMTWIN_SIMULATE_API_KEY": key}
            self._start(ChildSpec("simulator", argv, sim_env, logs / "simulator.log"))
            self.sim_start, self.sim_started_at = start, time.time()

    def _write_history(self, url: str, model: Path) -> None:
        """The scene devices' readings and the residents' reports of the month before
        the feed (docs/demo.md), in the background; a window leaves the state once
        written in full, so an interrupted one is written again (the same events:
        no-ops) on the next run."""
        try:
            demo_history.write_pending(
                url,
                model,
                self.settings.topic_root,
                self.state.history_pending,
                seed=demo_setup.SEED,
                per_day=self.options.incidents_per_day,
                written=self._history_written,
            )
        except demo_history.HistoryError as exc:
            if not self._stopping:
                self.say(f"warning: {exc}; the next run tries again")

    def _history_written(
        self, window: tuple[float, float], done: HistoryWritten, readings: ReadingsWritten
    ) -> None:
        with self._state_lock:
            left = tuple(w for w in self.state.history_pending if w != window)
            self.state = self.state.with_history_pending(left)
            save_state(self.options.data_dir, self.state)
        self.say(readings.text())
        self.say(done.text())

    def _start(self, spec: ChildSpec) -> None:
        try:
            self.children.append(start_child(spec))
        except OSError as exc:
            raise DemoError(f"cannot start {spec.name}: {exc}") from None

    def _check_children(self) -> None:
        for child in self.children:
            code = child.exited()
            if code is not None:
                raise DemoError(
                    f"{child.name} exited with status {code}; its log "
                    f"({child.spec.log}) ends with:\n{tail(child.spec.log)}"
                )

    def _wait(self, what: str, condition: Callable[[], bool]) -> float:
        """Poll ``condition`` until true; returns seconds since the demo started."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            self._check_children()
            if condition():
                return time.monotonic() - self.t0
            if time.monotonic() > deadline:
                logs = self.options.data_dir / "logs"
                raise DemoError(f"waited {READY_TIMEOUT_S:.0f} s for {what}; logs in {logs}")
            time.sleep(0.25)

    def _supervise(self) -> int:
        while True:
            self._check_children()
            time.sleep(0.5)

    def _stop_children(self) -> None:
        if not self.children:
            return
        # Services first (ingest drains into the database through the broker), broker last.
        brokers = [c for c in self.children if c.name in ("mosquitto", "amqtt")]
        services = [c for c in self.children if c not in brokers]
        stop_children(services, STOP_TIMEOUT_S)
        stop_children(brokers, STOP_TIMEOUT_S)
        self.children.clear()


def run_demo(options: DemoOptions, settings: Settings, out: IO[str] = sys.stdout) -> int:
    return Demo(options, settings, out).run()
