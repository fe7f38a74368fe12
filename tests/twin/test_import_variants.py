"""The shared 3D BAG tile as other producers would write it: every building imports, and
each footprint keeps its area (within 1 %).

The variants are made here by real transformations (``cityjson_variants``:
every face triangulated in its own plane, the whole model tilted onto a
sloping plane, semantics stripped, cjio's 1.1 → 2.0 upgrade and CityJSONSeq
export). With LoD0 kept, the reference is the untouched tile's import; with
LoD0 dropped, footprints come from the solids and the reference is the
untouched solids' import (3D BAG's LoD1.2 ground is a generalised outline,
up to 20 % off LoD0 for a few buildings, so LoD0 is not the reference there).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from tests.shared_data import DELFT
from tests.twin.cityjson_variants import (
    cjio_upgrade_and_seq,
    keep_only,
    strip_semantics,
    tilt,
    triangulate,
)
from twin.geometry.cityjson import read_cityjson_report
from twin.geometry.cityjson_seq import read_cityjson_seq
from twin.geometry.import_report import GeometryReport

Variant = Callable[[dict[str, Any]], dict[str, Any]]


@pytest.fixture(scope="module")
def delft() -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(DELFT.read_bytes())
    return data


@pytest.fixture(scope="module")
def lod0_areas(delft: dict[str, Any]) -> dict[str, float]:
    return areas(read_cityjson_report(delft, DELFT.name, strict=True))


def areas(report: GeometryReport) -> dict[str, float]:
    return {b.id: float(b.footprint.area) for b in report.found.buildings}


def assert_same_buildings(report: GeometryReport, reference: dict[str, float]) -> None:
    assert report.skips == ()
    got = areas(report)
    assert set(got) == set(reference)
    assert len(got) == 443
    ratios = np.array([got[k] / reference[k] for k in reference])
    worst = list(reference)[int(np.argmax(np.abs(ratios - 1)))]
    assert np.abs(ratios - 1).max() <= 0.01, (worst, got[worst], reference[worst])


@pytest.fixture(scope="module")
def reshaped(delft: dict[str, Any]) -> dict[str, Any]:
    """LoD0 and LoD1.2 (1.3/2.2 add nothing here but time), every face triangulated,
    tilted onto a sloping plane, semantics stripped."""
    return strip_semantics(tilt(triangulate(keep_only(delft, lod="1.2"))))


@pytest.mark.parametrize("variant", [tilt, strip_semantics], ids=["tilted", "no-semantics"])
def test_variants_with_lod0_keep_every_footprint(
    delft: dict[str, Any], lod0_areas: dict[str, float], variant: Variant
) -> None:
    changed = variant(keep_only(delft, lod="1.2"))
    assert_same_buildings(read_cityjson_report(changed, "variant", strict=True), lod0_areas)


def test_triangulated_tilted_without_semantics_keeps_every_footprint(
    reshaped: dict[str, Any], lod0_areas: dict[str, float]
) -> None:
    assert_same_buildings(read_cityjson_report(reshaped, "reshaped", strict=True), lod0_areas)


def test_triangulated_sloping_solids_alone_give_the_solids_footprints(
    delft: dict[str, Any], reshaped: dict[str, Any]
) -> None:
    """No LoD0, no semantics, no flat ground face: the plan outline of triangles."""
    solids = keep_only(reshaped, lod0=False)
    vertices = np.asarray(solids["vertices"], dtype=np.float64)
    part = next(o for o in solids["CityObjects"].values() if o["type"] == "BuildingPart")
    shell = part["geometry"][0]["boundaries"][0]
    assert all(len(face) == 1 and len(face[0]) == 3 for face in shell)
    assert "semantics" not in part["geometry"][0]
    lowest = min(shell, key=lambda f: vertices[f[0], 2].max())
    assert np.ptp(vertices[lowest[0], 2]) > 0  # the base slopes
    untouched = keep_only(delft, lod="1.2", lod0=False)
    reference = areas(read_cityjson_report(untouched, "solids", strict=True))
    assert_same_buildings(read_cityjson_report(solids, "reshaped", strict=True), reference)


def tilted_no_semantics(data: dict[str, Any]) -> dict[str, Any]:
    return strip_semantics(tilt(data))


@pytest.mark.parametrize(
    ("lod", "variant"),
    [
        ("1.2", tilt),
        ("1.2", strip_semantics),
        # LoD2.2 solids: roofs of many faces over the same ground.
        ("2.2", tilted_no_semantics),
    ],
    ids=lambda v: v if isinstance(v, str) else v.__name__,
)
def test_variants_without_lod0_derive_the_same_footprints(
    delft: dict[str, Any], lod: str, variant: Variant
) -> None:
    solids = keep_only(delft, lod=lod, lod0=False)
    reference = areas(read_cityjson_report(solids, "solids", strict=True))
    assert_same_buildings(read_cityjson_report(variant(solids), "variant", strict=True), reference)


def test_lod0_derived_footprints_stay_close_to_lod0(
    delft: dict[str, Any], lod0_areas: dict[str, float]
) -> None:
    derived = areas(read_cityjson_report(keep_only(delft, lod0=False), "solids", strict=True))
    ratios = np.array([derived[k] / lod0_areas[k] for k in lod0_areas])
    assert float(np.median(ratios)) == pytest.approx(1.0, abs=0.002)


@pytest.fixture(scope="module")
def cjio_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return cjio_upgrade_and_seq(DELFT, tmp_path_factory.mktemp("cjio"))


def test_cjio_upgrade_to_2_0_imports_the_same(
    cjio_files: tuple[Path, Path], lod0_areas: dict[str, float]
) -> None:
    upgraded = orjson.loads(cjio_files[0].read_bytes())
    assert upgraded["version"] == "2.0"
    report = read_cityjson_report(upgraded, cjio_files[0].name, strict=True)
    assert_same_buildings(report, lod0_areas)


def test_cjio_cityjsonseq_export_streams_the_same(
    cjio_files: tuple[Path, Path], lod0_areas: dict[str, float], delft: dict[str, Any]
) -> None:
    seq = cjio_files[1]
    lines = seq.read_bytes().splitlines()
    assert len(lines) == 444  # the header line and one feature per building
    with seq.open("rb") as stream:
        report = read_cityjson_seq(stream, seq.name, strict=True)
    assert_same_buildings(report, lod0_areas)
    whole = read_cityjson_report(delft, DELFT.name).found
    assert report.found.frame == whole.frame
    streamed = {b.id: b for b in report.found.buildings}
    for b in whole.buildings:
        # cjio writes attributes (h_maaiveld, h_dak_max) rounded to the millimetre.
        assert streamed[b.id].ground_z == pytest.approx(b.ground_z, abs=1e-3)
        assert streamed[b.id].roof_z == pytest.approx(b.roof_z, abs=1e-3)
        assert len(streamed[b.id].storeys) == len(b.storeys)
