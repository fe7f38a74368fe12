"""The generated community's LoD2 roofs survive reading the model: flat roofs on
high-rises, gable or hip roofs above the eaves of mid-rises, as roof surfaces."""

from __future__ import annotations

import numpy as np

from simulators.community_gen import CommunitySpec, generate_community
from twin.community.file import community_from_json
from twin.model.mesh import ROOF, WALL


def test_generated_roofs_become_roof_and_wall_surfaces() -> None:
    model = generate_community(CommunitySpec(buildings=20, seed=1, id="roofs"))
    shapes = {b["id"]: b["attributes"]["roof_shape"] for b in model["buildings"]}
    assert {"flat", "gable", "hip"} <= set(shapes.values())
    community = community_from_json(model)
    for b in community.buildings:
        assert b.mesh is not None, b.id
        assert b.mesh.lod == "2"
        top = float(b.mesh.positions[:, 2].max())
        roof = b.mesh.positions[b.mesh.indices[b.mesh.surfaces == ROOF].ravel()]
        assert (b.mesh.surfaces == WALL).any()
        rise = b.attributes["roof_height"]
        if shapes[b.id] == "flat":
            assert np.allclose(roof[:, 2], b.roof_z)
        else:
            # Pitched: from the eaves (the top storey's ceiling) up to the ridge.
            assert isinstance(rise, float)
            assert rise > 1.0
            assert roof[:, 2].min() == b.roof_z
            assert abs(top - (b.roof_z + rise)) < 1e-3
        # Storeys stay below the eaves: a roof never adds a storey.
        assert max(s.top_z for s in b.storeys) <= b.roof_z + 1e-6
