"""Late, out-of-order and duplicate readings in the rule engine (randomised).

Rules evaluate in event time per device and metric: a reading not newer than
the last one evaluated for its device and metric is stored by ingest, but the
engine gives it no effect, so it cannot flip an alarm back, and a duplicate
changes nothing. Hence the outcome of any arrival order equals that of the
readings that were newest on arrival, fed alone in the same order.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.twin.test_rules_properties import (
    VALUES,
    Op,
    Tick,
    canon,
    fresh,
    operations,
    run,
)
from twin.rules.engine import ReadingBatch

Reading = tuple[int, int, float, float]


def newest_on_arrival(ops: list[Op]) -> list[Op]:
    """The reference: drop each reading not newer than one already arrived for its
    device and metric (ticks stay)."""
    newest: dict[tuple[int, int], float] = {}
    kept: list[Op] = []
    for op in ops:
        if isinstance(op, Tick):
            kept.append(op)
            continue
        dev, metric, ts, _ = op
        if ts <= newest.get((dev, metric), float("-inf")):
            continue
        newest[(dev, metric)] = ts
        kept.append(op)
    return kept


@st.composite
def arrivals(draw: st.DrawFn) -> list[Op]:
    """Readings in event time, then delivered late: some moved later, some redelivered."""
    ops = draw(operations())
    out = list(ops)
    for _ in range(draw(st.integers(0, 12))):
        readings = [i for i, op in enumerate(out) if not isinstance(op, Tick)]
        if not readings:
            break
        i = draw(st.sampled_from(readings))
        j = draw(st.integers(i, len(out)))
        if draw(st.booleans()):
            out.insert(j, out[i])  # a duplicate, delivered again later
        else:
            out.insert(j, out.pop(i))  # a late delivery
    return out


@settings(max_examples=80, deadline=None)
@given(ops=arrivals(), cuts=st.sets(st.integers(0, 100)))
def test_any_arrival_order_acts_like_the_readings_newest_on_arrival(
    ops: list[Op], cuts: set[int]
) -> None:
    got = run(fresh(), ops, cuts)
    want = run(fresh(), newest_on_arrival(ops), set())
    assert canon(got) == canon(want)


@settings(max_examples=60, deadline=None)
@given(ops=operations(), data=st.data())
def test_an_older_reading_flips_no_alarm_and_a_duplicate_changes_nothing(
    ops: list[Op], data: st.DataObject
) -> None:
    engine = fresh()
    run(engine, ops, set())
    before = engine.active()
    seen = [op for op in ops if not isinstance(op, Tick)]
    late: list[Reading] = []
    picked = data.draw(st.lists(st.sampled_from(seen), max_size=8)) if seen else []
    for dev, metric, ts, _ in picked:
        older = ts - data.draw(st.sampled_from([0.0, 1.0, 60.0, 3600.0]))
        late.append((dev, metric, older, data.draw(st.sampled_from(VALUES[metric]))))
    late += [op for op in seen[-3:] if isinstance(op, tuple)]  # plain duplicates
    # Each is at or before its device's newest reading of that metric.
    newest: dict[tuple[int, int], float] = {}
    for dev, metric, ts, _ in seen:
        newest[(dev, metric)] = max(ts, newest.get((dev, metric), ts))
    late = [r for r in late if r[2] <= newest[(r[0], r[1])]]
    if late:
        assert engine.step(ReadingBatch.from_rows(late)) == []
    assert engine.active() == before
