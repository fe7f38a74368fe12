"""Cockpit status of a building or storey: the rule lives in :mod:`twin.status`."""

from __future__ import annotations

from twin.status import SEVERITIES, Severity, Status, status_of, worst

__all__ = ["SEVERITIES", "Severity", "Status", "status_of", "worst"]
