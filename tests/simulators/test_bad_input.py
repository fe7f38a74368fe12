"""Bad-input cases get exactly the reason they promise from the ingestor's parser.

Two reasons need the database (is the community known? what state is the
incident in?); the parser must let those two through, and the end-to-end
test checks them against the real ingestor.
"""

from __future__ import annotations

import time

import pytest

from ingest.messages import IncidentEvent, Reason, Rejected, Telemetry
from ingest.parse import parse
from simulators.bad_feed import plan_bad
from simulators.bad_input import BAD_KINDS, bad_case, nth_case
from simulators.wire import MAX_PAYLOAD_BYTES, Wire

W = Wire("commtwin/v1", "lanting")
NEEDS_DATABASE = {"unknown_community", "invalid_transition"}


# The ingestor's last resort when a parsed message still fails to write: no
# well-formed input provokes it on purpose.
NOT_FROM_INPUT = {"write_failed"}


def test_every_dead_letter_reason_of_the_ingestor_is_covered() -> None:
    assert set(BAD_KINDS) == set(Reason.ALL) - NOT_FROM_INPUT


@pytest.mark.parametrize("kind", sorted(set(BAD_KINDS) - NEEDS_DATABASE))
def test_parser_gives_the_expected_reason(kind: str) -> None:
    now = time.time()
    for nonce in (0, 1, 12345):
        case = bad_case(W, kind, nonce, now)
        parsed = parse(case.topic, case.payload, int(now * 1_000_000), W.root)
        assert isinstance(parsed, Rejected), (kind, parsed)
        assert parsed.reason == case.reason == kind, parsed.detail


def test_database_reasons_pass_the_parser() -> None:
    now = time.time()
    unknown = bad_case(W, "unknown_community", 1, now)
    assert isinstance(parse(unknown.topic, unknown.payload, int(now * 1e6), W.root), Telemetry)
    refused = bad_case(W, "invalid_transition", 1, now)
    assert isinstance(parse(refused.topic, refused.payload, int(now * 1e6), W.root), IncidentEvent)


def test_cases_are_distinct_payloads() -> None:
    cases = [nth_case(W, n, 1.8e9) for n in range(3 * len(BAD_KINDS))]
    assert len({(c.topic, c.sha256) for c in cases}) == len(cases)
    assert max(len(c.payload) for c in cases) > MAX_PAYLOAD_BYTES


def test_plan_cycles_kinds_and_refuses_unknown_ones() -> None:
    plan = plan_bad(W, 20, ("bad_json", "ts_future"), 1.8e9)
    assert [c.kind for c in plan[:4]] == ["bad_json", "ts_future"] * 2
    with pytest.raises(ValueError, match="unknown bad-input kind"):
        plan_bad(W, 1, ("nonsense",), 1.8e9)
