"""The incident closed loop (reported → dispatched → resolved → closed): events,
the record and its replay, dispatch, SLA, escalation, KPIs and their rows.

May import ``twin.model`` and ``twin.errors`` only.
"""
