"""Cockpit status of a building or storey: the rule lives in :mod:`twin.live.status`."""

from __future__ import annotations

from twin.live.status import SEVERITIES, Severity, Status, status_of, worst

__all__ = ["SEVERITIES", "Severity", "Status", "status_of", "worst"]
