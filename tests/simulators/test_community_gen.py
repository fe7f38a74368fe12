"""The community generator: deterministic, plausible, and valid for the twin's loader."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import Point, shape

from simulators.community_gen import CommunitySpec, GenerationError, generate_community, summary
from simulators.from_model import place_into
from tests.shared_data import DELFT
from twin.community.file import community_from_json, read_community_file
from twin.model.kinds import KINDS


@pytest.fixture(scope="module")
def model() -> dict[str, Any]:
    return generate_community(CommunitySpec())


def test_same_seed_same_bytes_other_seed_other_community() -> None:
    a = json.dumps(generate_community(CommunitySpec(seed=3)), sort_keys=True)
    b = json.dumps(generate_community(CommunitySpec(seed=3)), sort_keys=True)
    c = json.dumps(generate_community(CommunitySpec(seed=4)), sort_keys=True)
    assert a == b
    assert a != c


def test_default_is_a_mid_size_zhejiang_community(model: dict[str, Any]) -> None:
    s = summary(model)
    residential = [b for b in model["buildings"] if b.get("units")]
    assert len(residential) == 20
    assert 3500 <= s["households"] <= 4500
    assert 1700 <= s["devices"] <= 3000  # ~2,700 with the care kit of ~230 elders living alone
    assert 3 <= s["grids"] <= 6
    storeys = [b["storey_count"] for b in residential]
    assert all(6 <= n <= 11 or 18 <= n <= 33 for n in storeys)
    assert sum(n >= 18 for n in storeys) >= 12  # mostly high-rise
    assert model["crs"].startswith("+proj=tmerc +lat_0=30.")
    # Every kind of DESIGN's table is present.
    assert set(KINDS) <= set(s["devices_by_kind"])


def test_units_lie_in_their_building_and_storeys_exist(model: dict[str, Any]) -> None:
    for b in model["buildings"]:
        foot = shape(b["footprint"])
        ids = [u["id"] for u in b.get("units", [])]
        assert len(ids) == len(set(ids))
        for u in b.get("units", []):
            assert 1 <= u["storey"] <= b["storey_count"]
            assert foot.buffer(0.01).covers(shape(u["footprint"]))
        per_storey = Counter(u["storey"] for u in b.get("units", []))
        assert all(2 * 2 <= n <= 4 * 4 for n in per_storey.values())  # 2-4 sections x 2-4 homes


def test_grids_cover_the_site_and_have_workers(model: dict[str, Any]) -> None:
    grids = [shape(g["polygon"]) for g in model["grids"]]
    assert all(g["worker"].startswith("w-") and g["worker_name"] for g in model["grids"])
    assert len({g["worker"] for g in model["grids"]}) == len(grids)
    for b in model["buildings"]:
        c = shape(b["footprint"]).centroid
        assert sum(g.covers(c) for g in grids) >= 1, b["id"]
    for d in model["devices"]:
        if "position" in d:
            p = Point(d["position"]["x"], d["position"]["y"])
            assert any(g.covers(p) for g in grids), d["id"]


def test_devices_are_placed_on_real_storeys_and_homes(model: dict[str, Any]) -> None:
    buildings = {b["id"]: b for b in model["buildings"]}
    ids = [d["id"] for d in model["devices"]]
    assert len(ids) == len(set(ids))
    for d in model["devices"]:
        if d["kind"] in KINDS:
            assert tuple(d["metrics"]) == KINDS[d["kind"]].metric_names
        if "position" in d:
            continue
        b = buildings[d["building"]]
        assert d["storey"] == -1 or 1 <= d["storey"] <= b["storey_count"]
        if "unit" in d:
            unit = next(u for u in b["units"] if u["id"] == d["unit"])
            assert unit["storey"] == d["storey"]
    wearables = [d for d in model["devices"] if d["kind"] == "wearable"]
    assert wearables
    assert all(d["mobile"] and "unit" in d for d in wearables)
    parking = [d for d in model["devices"] if d["kind"] == "parking"]
    assert parking
    assert all("position" in d and d["attributes"]["capacity"] > 0 for d in parking)


def test_twin_loader_accepts_generated_models(tmp_path: Path) -> None:
    for spec in (CommunitySpec(), CommunitySpec(buildings=2, seed=9, id="tiny")):
        model = generate_community(spec)
        path = tmp_path / f"{spec.id}.json"
        path.write_text(json.dumps(model, ensure_ascii=False))
        community = read_community_file(path)
        assert community.id == spec.id
        assert len(community.devices) == len(model["devices"])
        assert len(community.buildings) == len(model["buildings"])
        b = next(b for b in community.buildings if b.id == "b01")
        assert b.storey(-1) is not None or b.storey(1) is not None


@pytest.mark.parametrize(
    "spec",
    [CommunitySpec(buildings=0), CommunitySpec(id="Bad_Id"), CommunitySpec(grids=11)],
)
def test_bad_parameters_are_refused(spec: CommunitySpec) -> None:
    with pytest.raises(GenerationError):
        generate_community(spec)


def _delft() -> Path:
    if not DELFT.exists():
        pytest.fail(f"the shared 3D BAG file is missing: {DELFT}")
    return DELFT


def test_devices_go_into_the_real_3dbag_buildings(tmp_path: Path) -> None:
    source = _delft()
    out = tmp_path / "delft.json"
    model = place_into(source, out, cid="delft", name="Delft", seed=2)
    out.write_text(json.dumps(model))
    # Building ids computed independently from the CityJSON itself.
    city = json.loads(source.read_text())
    building_ids = {k for k, o in city["CityObjects"].items() if o["type"] == "Building"}
    placed = {d["building"] for d in model["devices"] if "building" in d}
    assert placed
    assert placed <= building_ids
    # Motion sensors go only into homes with a known household (units): none here.
    assert {d["kind"] for d in model["devices"]} >= set(KINDS) - {"motion"}
    community = read_community_file(out)  # the twin resolves the geometry reference
    assert len(community.buildings) == len(building_ids)
    by_id = community.buildings_by_id()
    for d in community.devices:
        if d.placement.building is not None:
            assert by_id[d.placement.building].storey(d.placement.storey or 1) is not None


def test_devices_go_into_an_existing_model_file(tmp_path: Path) -> None:
    base = generate_community(CommunitySpec(buildings=3, seed=5))
    base["devices"] = []
    src = tmp_path / "bare.json"
    src.write_text(json.dumps(base, ensure_ascii=False))
    out = tmp_path / "placed.json"
    model = place_into(src, out, cid=None, name=None, seed=1)
    assert model["id"] == base["id"]
    assert model["buildings"] == base["buildings"]
    assert len(model["devices"]) > 50
    community_from_json(model, base_dir=tmp_path)  # valid for the twin


def test_place_into_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text("[1, 2]")
    with pytest.raises(GenerationError, match="neither"):
        place_into(bad, tmp_path / "o.json", cid="x", name=None, seed=1)
    with pytest.raises(GenerationError, match="cannot read"):
        place_into(tmp_path / "missing.json", tmp_path / "o.json", cid="x", name=None, seed=1)
