"""The people of bench/bench_people.py: a community, its residents and workers, their
sessions, and the phone photos they send.

* The community is the simulators' generated one (20 buildings, ~4,000 homes,
  3-6 grids), imported with ``commtwin community import`` like a real model.
* Residents live in distinct homes. The first ``joins`` come in through the
  real path (the office's invite code, ``POST /v1/session/join``); the rest are
  inserted with ONE argon2id hash computed once here: argon2 costs ~0.1 s of a
  core by design, so 2,000 joins would be minutes of setup measuring nothing the
  bench is asked. Their passwords still verify for real at sign-in.
* Grid workers are made by the office (``POST /v1/communities/{cid}/accounts``)
  and bound to the grids in turn.
* Every session is opened through ``POST /v1/session`` (argon2 verify included).
* Photos: JPEGs of a phone's size (12 MP by default) whose smooth picture
  carries enough noise to weigh ~2 MB at quality 90, so they neither compress
  away nor are cheaper to decode than a real photo of that size.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path

import httpx
import numpy as np
import psycopg
from PIL import Image

from simulators.community_gen import CommunitySpec, generate_community
from twin.people.passwords import hash_password

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench camellia 2026"


@dataclass(frozen=True, slots=True)
class Phone:
    """A signed-in person: the headers that act as their session."""

    login: str
    cookie: str  # the session token
    csrf: str

    def headers(self) -> dict[str, str]:
        return {"Cookie": f"commtwin_session={self.cookie}", "X-CSRF-Token": self.csrf}


def import_community(url: str, path: Path) -> tuple[str, list[str]]:
    """The generated community imported into ``url``: its id and grid ids."""
    model = generate_community(CommunitySpec())
    path.write_text(json.dumps(model, ensure_ascii=False))
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMTWIN_")}
    env["COMMTWIN_DATABASE_URL"] = url
    subprocess.run(
        [sys.executable, "-m", "commtwin", "community", "import", str(path)],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )  # fmt: skip
    return str(model["id"]), sorted(g["id"] for g in model["grids"])


def homes(url: str, cid: str, count: int) -> list[tuple[str, str]]:
    """``count`` homes (building, unit), spread evenly over the community."""
    with psycopg.connect(url, autocommit=True) as conn:
        units = conn.execute(
            "SELECT building_id, id FROM units WHERE community_id = %s ORDER BY building_id, id",
            (cid,),
        ).fetchall()
    if len(units) < count:
        raise SystemExit(f"bench_people: {count} residents asked, the community has {len(units)}")
    step = len(units) / count
    return [(str(units[int(i * step)][0]), str(units[int(i * step)][1])) for i in range(count)]


def session_of(response: httpx.Response, login: str) -> Phone:
    if response.status_code != 201:
        raise RuntimeError(f"{login}: {response.status_code} {response.text[:200]}")
    jar = SimpleCookie(response.headers["set-cookie"])
    return Phone(login, jar["commtwin_session"].value, response.json()["csrf_token"])


def join(http: httpx.Client, admin: dict[str, str], cid: str, login: str,
         home: tuple[str, str]) -> Phone:  # fmt: skip
    """A resident through the real path: the office's invite, then the join."""
    invite = http.post(f"/v1/communities/{cid}/invites", headers=admin,
                       json={"building_id": home[0], "unit_id": home[1]})  # fmt: skip
    invite.raise_for_status()
    body = {"community": cid, "code": invite.json()["code"], "login": login, "password": PASSWORD}
    return session_of(http.post("/v1/session/join", json=body), login)


def insert_residents(url: str, cid: str, people: list[tuple[str, tuple[str, str]]]) -> None:
    """Resident accounts sharing one precomputed argon2id hash (see the module doc)."""
    digest = hash_password(PASSWORD)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO accounts (community_id, login, role, password_hash, building_id, unit_id)"
            " SELECT %s, login, 'resident', %s, b, u"
            " FROM unnest(%s::text[], %s::text[], %s::text[]) AS t(login, b, u)",
            (cid, digest, [p[0] for p in people], [p[1][0] for p in people],
             [p[1][1] for p in people]),
        )  # fmt: skip


def make_worker(http: httpx.Client, admin: dict[str, str], cid: str, login: str,
                grid: str) -> None:  # fmt: skip
    made = http.post(f"/v1/communities/{cid}/accounts", headers=admin,
                     json={"login": login, "role": "worker", "password": PASSWORD,
                           "grids": [grid]})  # fmt: skip
    made.raise_for_status()


def sign_in_all(base: str, cid: str, logins: list[str]) -> tuple[list[Phone], list[float]]:
    """Sessions through ``POST /v1/session``, a few at once; each sign-in's ms."""

    def one(login: str) -> tuple[Phone, float]:
        with httpx.Client(base_url=base, timeout=60) as http:
            started = time.perf_counter()
            r = http.post("/v1/session", json={"community": cid, "login": login,
                                               "password": PASSWORD})  # fmt: skip
            took = (time.perf_counter() - started) * 1000
            return session_of(r, login), took

    with ThreadPoolExecutor(4) as pool:
        done = list(pool.map(one, logins))
    return [d[0] for d in done], [d[1] for d in done]


def phone_photos(count: int, megapixels: float, target_bytes: int) -> list[bytes]:
    """``count`` different 4:3 JPEGs of ``megapixels``, each weighing about ``target_bytes``.

    A smooth gradient (a wall, the sky) plus Gaussian noise (sensor grain,
    texture): the noise's strength is found once on a 1/16 crop, whose bytes
    per pixel match the full picture's closely enough.
    """
    rng = np.random.default_rng(22)
    height = int((megapixels * 1e6 * 3 / 4) ** 0.5)
    width = height * 4 // 3
    low, high = 0.0, 80.0
    for _ in range(7):  # bisect the noise's sigma on the crop
        sigma = (low + high) / 2
        got = len(_jpeg(rng, width // 4, height // 4, sigma, 0)) * 16
        low, high = (sigma, high) if got < target_bytes else (low, sigma)
    return [_jpeg(rng, width, height, (low + high) / 2, seed) for seed in range(count)]


def _jpeg(rng: np.random.Generator, width: int, height: int, sigma: float, seed: int) -> bytes:
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([80 + 100 * x / width, 90 + 80 * y / height,
                     np.full_like(x, 60 + 20 * (seed % 7))], axis=-1)  # fmt: skip
    noisy = base + rng.normal(0, sigma, size=base.shape).astype(np.float32)
    pixels = np.clip(noisy, 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, "JPEG", quality=90)
    return out.getvalue()
