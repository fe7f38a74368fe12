"""The generated demo community has facilities and paths the services scene can use."""

from __future__ import annotations

import numpy as np

from simulators.community_gen import CommunitySpec, generate_community
from twin.community.file import community_from_json
from twin.model.facilities import FACILITY_TYPES
from twin.services.circle import ServiceCircle


def test_generated_community_has_a_walkable_service_circle() -> None:
    model = generate_community(CommunitySpec(id="svc-demo", name="demo", buildings=24, seed=3))
    community = community_from_json(model)
    assert {f.type for f in community.facilities} == set(FACILITY_TYPES)
    circle = ServiceCircle(community)
    assert circle.has_network
    minutes = circle.all_minutes()
    for kind, m in minutes.items():
        assert np.isfinite(m.minutes).all(), kind
        assert not m.estimate.any(), kind  # every building reaches every facility by path
    # The canteen is in the neighbourhood centre: most homes within 15 minutes;
    # the school 700 m down the street leaves a gap.
    assert (minutes["canteen"].minutes <= 15).mean() > 0.8
    assert (minutes["school"].minutes > 15).any()
