"""The demo's one-off steps before anything runs: schema, community, cockpit key.

Each step is idempotent, so a second run over the same data only checks:
migrations already applied are skipped, the generated model (the same bytes
for the same seed) imports as "no change", and the stored key is reused while
the database still accepts it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import psycopg

from api.cockpit import DEFAULT_WEB_DIR, VENDOR_DIRS
from api.community_store import import_community
from api.db import run_once
from api.errors import ApiError
from api.queries.keys import authenticate, create_key
from commtwin import db
from simulators.community_gen import CommunitySpec, generate_community, summary
from twin.community.file import community_from_json
from twin.errors import ModelError

COMMUNITY = "demo"
SEED = 1
KEY_NAME = "commtwin demo"


class DemoSetupError(Exception):
    """A setup step failed; the message says which and why."""


@dataclass(frozen=True, slots=True)
class CommunityReady:
    id: str
    name: str
    buildings: int
    devices: int
    changed: bool  # False: the database already held exactly this model


def upgrade_schema(url: str, retention_days: int | None) -> str:
    """Apply pending migrations; returns the storage mode."""
    try:
        return db.upgrade(url, retention_days=retention_days).mode
    except db.DatabaseError as exc:
        raise DemoSetupError(f"database: {exc}") from None


def write_model(path: Path) -> dict[str, object]:
    """The generated demo community (as ``simulate community --id demo --seed 1``)."""
    model = generate_community(CommunitySpec(seed=SEED, id=COMMUNITY))
    text = json.dumps(model, ensure_ascii=False, indent=1)
    if not path.is_file() or path.read_text("utf-8") != text:
        path.write_text(text, "utf-8")
    return model


def import_model(url: str, path: Path, model: dict[str, object]) -> CommunityReady:
    try:
        community = community_from_json(model, base_dir=path.parent, source=path.name)
        with db.connect(url) as conn:
            report = import_community(conn, community)
    except ModelError as exc:
        raise DemoSetupError(f"demo model: {exc}") from None
    except (psycopg.Error, db.DatabaseError) as exc:
        raise DemoSetupError(f"importing the demo community: {exc}") from None
    counts = summary(model)
    return CommunityReady(
        community.id,
        community.name,
        int(counts.get("buildings", len(community.buildings))),
        int(counts.get("devices", len(community.devices))),
        report.changed,
    )


def cockpit_key(url: str, stored: str | None) -> tuple[str, bool]:
    """``(key, reused)``: the stored key if it still opens the demo community,
    else a new ``cockpit:read`` key for it."""
    try:
        if stored is not None:
            found = run_once(url, lambda conn: authenticate(conn, stored))
            if (
                found is not None
                and "cockpit:read" in found.scopes
                and (not found.communities or COMMUNITY in found.communities)
            ):
                return stored, True
        created = run_once(
            url, lambda conn: create_key(conn, ["cockpit:read"], [COMMUNITY], KEY_NAME)
        )
    except (ApiError, psycopg.Error) as exc:
        raise DemoSetupError(f"making the cockpit key: {exc}") from None
    return created.key, False


def missing_page_assets(web_dir: Path = DEFAULT_WEB_DIR) -> list[str]:
    """npm packages the cockpit page loads that ``scripts/setup.sh`` has not
    installed (the demo still runs; the page cannot draw without them)."""
    return [name for name in VENDOR_DIRS if not (web_dir / "node_modules" / name).is_dir()]
