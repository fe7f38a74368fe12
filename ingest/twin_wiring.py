"""Assembles the twin side of ingest: places, the incident book, the alarm stage,
their pipeline hooks and the ticker, from :class:`ingest.policy.TwinOptions`.

>>> wiring = build_twin(TwinOptions())
>>> len(wiring.hooks.after_writes), wiring.hooks.incidents is wiring.book
(2, True)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ingest.alarm_engine import AlarmStage
from ingest.care_stage import CareStage
from ingest.incident_writer import IncidentBook
from ingest.pipeline import PipelineHooks
from ingest.places import Places
from ingest.policy import TwinOptions
from ingest.ticker import Ticker


@dataclass(frozen=True, eq=False)
class TwinWiring:
    options: TwinOptions
    places: Places
    book: IncidentBook
    alarms: AlarmStage
    hooks: PipelineHooks
    care: CareStage | None = None

    def ticker(self, database_url: str, clock: Callable[[], float] = time.time) -> Ticker:
        return Ticker(
            database_url,
            alarms=self.alarms,
            book=self.book,
            places=self.places,
            alarm_every_s=self.options.alarm_tick_s,
            escalate_every_s=self.options.escalate_tick_s,
            clock=clock,
            care=self.care,
            care_baseline_every_s=self.options.care.baseline_every_s,
        )


def build_twin(options: TwinOptions) -> TwinWiring:
    places = Places(max_age_s=options.model_max_age_s)
    # One list for every clock's queries (psycopg sends lists, not tuples, as arrays).
    scope = None if options.communities is None else list(options.communities)
    book = IncidentBook(options.incident_policy(), places, scope)
    alarms = AlarmStage(options.rules, places, book, scope)
    care = CareStage(options.care, alarms, book, scope) if options.care.enabled else None
    # The care stage runs under the alarm stage's lock: its commit and rollback
    # come first, before the alarm stage's give the lock back.
    hooks = PipelineHooks(
        before_writes=[alarms.prepare],
        after_writes=[alarms.hook, *([care.hook] if care else [])],
        after_commit=[*([care.commit] if care else []), alarms.commit],
        after_rollback=[*([care.rollback] if care else []), alarms.rollback],
        incidents=book,
        locate_positions=places.locate_positions,
    )
    return TwinWiring(options, places, book, alarms, hooks, care)
