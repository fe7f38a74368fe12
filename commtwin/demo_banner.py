"""What ``commtwin demo`` prints once everything answers: where to look."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

RULE = "=" * 72


@dataclass(frozen=True, slots=True)
class DemoLogin:
    """One of the demo's people: a login, its role and what it is bound to."""

    login: str
    role: str
    what: str


def url_host(host: str, *, for_probe: bool) -> str:
    """The host part of a URL to a server bound to ``host``: the machine's
    name for people when it listens everywhere, loopback for our own probes.

    >>> url_host("127.0.0.1", for_probe=False), url_host("::1", for_probe=True)
    ('127.0.0.1', '[::1]')
    >>> url_host("0.0.0.0", for_probe=True), url_host("::", for_probe=True)
    ('127.0.0.1', '[::1]')
    """
    if host in ("0.0.0.0", "::", ""):
        if not for_probe:
            return socket.gethostname()
        return "[::1]" if host == "::" else "127.0.0.1"
    return f"[{host}]" if ":" in host else host


@dataclass(frozen=True, slots=True)
class Banner:
    api: str  # http://host:port
    community: str
    key: str
    key_reused: bool
    broker: str
    database: str
    logs: Path
    people: tuple[DemoLogin, ...] = ()
    password: str | None = None  # of every demo person

    @property
    def cockpit(self) -> str:
        return f"{self.api}/cockpit/{self.community}?key={self.key}"

    @property
    def phone_app(self) -> str:
        return f"{self.api}/app/{self.community}"

    def people_lines(self) -> list[str]:
        """How to sign in as each demo person on the phone pages.

        >>> b = Banner("http://h:1", "demo", "k", True, "m", "d", Path("/l"),
        ...            (DemoLogin("office", "office", "the office of demo"),), "demo-pw")
        >>> for line in b.people_lines()[:2]:
        ...     print(line)
          Phone app: http://h:1/app/demo (community demo, password demo-pw for everyone)
            office       office    the office of demo
        """
        if not self.people:
            return []
        lines = [
            f"  Phone app: {self.phone_app} (community {self.community}, "
            f"password {self.password} for everyone)"
        ]
        lines += [f"    {p.login:<12} {p.role:<9} {p.what}" for p in self.people]
        return [*lines, ""]

    def text(self) -> str:
        """
        >>> b = Banner("http://h:1", "demo", "ctk_k", True, "mqtt://m", "db", Path("/l"))
        >>> [line for line in b.text().splitlines() if "Cockpit" in line]
        ['  Cockpit:   http://h:1/cockpit/demo?key=ctk_k']
        """
        return "\n".join(
            [
                RULE,
                "  commtwin demo is running",
                "",
                f"  Cockpit:   {self.cockpit}",
                f"  API docs:  {self.api}/docs",
                f"  Key:       {self.key} (cockpit:read, {'reused' if self.key_reused else 'new'})",
                f"  MQTT:      {self.broker}",
                f"  Database:  {self.database}",
                f"  Logs:      {self.logs}",
                "",
                *self.people_lines(),
                "  Press Ctrl-C to stop.",
                RULE,
            ]
        )
