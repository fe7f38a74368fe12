"""Photos of reports: residents and workers upload them, whoever may see the incident reads them.

Every read and write first asks :func:`twin.people.visibility.may_see` about
the incident (another household's, another grid's, another community's or an
unknown incident answers 404, as keys do). An upload is checked by its
content (``twin.people.photos``) before anything is stored; its two objects
(the clean photo, its thumbnail) are written, then its row, and the objects
are deleted again if the row is not written, so a refused or failed upload
leaves nothing behind. Whoever uploaded a photo may delete it (objects, then row).
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Annotated, Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request, Response, UploadFile
from psycopg_pool import AsyncConnectionPool

from api.db import Conn
from api.deps import CommunityRead, DbConn, ObjectId, State
from api.errors import NotFoundError
from api.models.common import problems
from api.models.photos import PhotoPublic, PhotosPublic
from api.object_store import ObjectStore, ObjectStoreError
from api.queries import photos as q
from api.queries.people_reports import incident_scope
from api.sessions import SignedIn, SignedInChangingBriefly
from twin.people.photos import MAX_BYTES, CheckedPhoto, PhotoError, check_photo
from twin.people.roles import Person, Role
from twin.people.visibility import ReportScope, may_handle, may_see

log = logging.getLogger(__name__)
router = APIRouter(tags=["photos"])

# The one route whose body may be a photo (api/body_limit.py lets it be larger).
UPLOAD_PATH: Final = re.compile(r"/v1/me/incidents/[^/]+/photos")
MAX_PER_STAGE: Final = {"report": 3, "work": 10}
_STATUS: Final = {"empty": 400, "too_large": 413, "bad_type": 415, "animated": 415}
_SERVED: Final = {
    # Private: a shared cache must never hand one household's photo to another.
    "Cache-Control": "private, max-age=3600",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}

PhotoId = Annotated[int, Path(ge=1, le=2**62)]
ClientId = Annotated[
    str | None,
    Form(pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="the phone's id for this upload"),
]


def store_of(request: Request) -> ObjectStore:
    found: ObjectStore = request.app.state.photo_store
    return found


Store = Annotated[ObjectStore, Depends(store_of)]


async def _visible(conn: Conn, person: Person, incident: str) -> ReportScope:
    scope = await incident_scope(conn, person.community_id, incident)
    if scope is None or not may_see(person, scope):
        raise NotFoundError("incident", incident)
    return scope


def _stage(person: Person, scope: ReportScope, incident: str) -> str:
    """'report' for the reporting household, 'work' for those who handle it."""
    if person.role is Role.RESIDENT:
        return "report"
    if may_handle(person, scope):
        return "work"
    raise NotFoundError("incident", incident)  # pragma: no cover - may_see covers it


def _public(row: dict[str, Any], base: str, person: Person | None = None) -> PhotoPublic:
    """The photo as ``base``'s routes name it; ``person``: whose /v1/me answer it is."""
    url = f"{base}/incidents/{quote(row['incident_id'], safe='')}/photos/{row['id']}"
    return PhotoPublic(
        id=row["id"],
        incident=row["incident_id"],
        stage=row["stage"],
        content_type=row["content_type"],
        width=row["width"],
        height=row["height"],
        bytes=row["bytes"],
        created_at=row["created_at"],
        url=url,
        thumb_url=f"{url}/thumb",
        mine=None if person is None else row["uploaded_by"] == person.account_id,
    )


_ME: Final = "/v1/me"


def _community_base(cid: str) -> str:
    return f"/v1/communities/{cid}"


async def _checked(request: Request, data: bytes) -> CheckedPhoto:
    # A 50 MP photo takes ~150 MB while it is decoded: a few at a time per process.
    checks: asyncio.Semaphore = request.app.state.photo_checks
    try:
        async with checks:
            return await asyncio.to_thread(check_photo, data)
    except PhotoError as exc:
        raise HTTPException(_STATUS.get(exc.reason, 400), str(exc)) from None


async def _forget(store: ObjectStore, *keys: str) -> None:
    """Delete objects whose row was not written; a failure is logged, never raised."""

    def delete_all() -> None:
        for key in keys:
            try:
                store.delete(key)
            except ObjectStoreError as exc:
                log.error("photo object %s left behind: %s", key, exc)

    await asyncio.shield(asyncio.to_thread(delete_all))


def _too_many(stage: str) -> HTTPException:
    return HTTPException(
        409, f"too_many: an incident holds at most {MAX_PER_STAGE[stage]} photos of this kind"
    )


def _unavailable(exc: ObjectStoreError) -> HTTPException:
    log.error("photo store: %s", exc)
    return HTTPException(503, "the photo store is unavailable; try again", {"Retry-After": "5"})


@dataclass(frozen=True, slots=True)
class _Upload:
    person: Person
    incident: str
    stage: str
    client_id: str | None
    checked: CheckedPhoto


async def _store(
    pool: AsyncConnectionPool[Conn], store: ObjectStore, upload: _Upload
) -> tuple[dict[str, Any], bool]:
    """The stored row and whether it is new (False: this client id was already stored).

    A connection is taken only for the row's transaction, after the objects are written.
    """
    person, incident, stage, client_id = (
        upload.person, upload.incident, upload.stage, upload.client_id
    )  # fmt: skip
    checked = upload.checked
    community = person.community_id
    name = f"photos/{community}/{secrets.token_hex(16)}"
    full_key, thumb_key = f"{name}.{checked.extension}", f"{name}-thumb.jpg"
    existing = row = None
    try:
        await asyncio.to_thread(store.put, full_key, checked.data, checked.content_type)
        await asyncio.to_thread(store.put, thumb_key, checked.thumb, checked.thumb_content_type)
        async with pool.connection() as conn, conn.transaction():
            await q.lock_incident(conn, community, incident)
            if client_id is not None:
                existing = await q.by_client_id(conn, community, incident, client_id)
            if existing is None:
                if await q.count(conn, community, incident, stage) >= MAX_PER_STAGE[stage]:
                    raise _too_many(stage)
                row = await q.insert(
                    conn, community=community, incident=incident,
                    account_id=person.account_id, stage=stage, client_id=client_id,
                    checked=checked, object_key=full_key, thumb_key=thumb_key,
                )  # fmt: skip
    except ObjectStoreError as exc:
        await _forget(store, full_key, thumb_key)
        raise _unavailable(exc) from None
    except BaseException:
        await _forget(store, full_key, thumb_key)
        raise
    if row is None:  # a resend raced the first upload: keep the first one's objects only
        await _forget(store, full_key, thumb_key)
        assert existing is not None  # the lock makes the insert's conflict impossible
        return existing, False
    return row, True


def _resent(row: dict[str, Any], person: Person) -> dict[str, Any]:
    if row["uploaded_by"] != person.account_id:
        raise HTTPException(409, "client_id: already used for another person's photo")
    return row


@router.post(
    "/v1/me/incidents/{incident_id}/photos",
    status_code=201,
    responses={200: {"model": PhotoPublic}, **problems(400, 401, 403, 404, 409, 413, 415)},
)
async def upload_photo(
    request: Request,
    session: SignedInChangingBriefly,
    state: State,
    *,
    store: Store,
    incident_id: ObjectId,
    file: UploadFile,
    response: Response,
    client_id: ClientId = None,
) -> PhotoPublic:
    """A photo for an incident: a resident's with their report (at most 3), a worker's
    or the office's while handling it (at most 10). JPEG, PNG, WebP or HEIC up to
    10 MB, stored without metadata. A resend with the same ``client_id`` answers
    200 with the stored photo."""
    person = session.person
    # No connection is held through the check (tenths of a second of CPU, and a
    # wait for a slot): under load that ran the pool dry (bench/bench_people.py).
    async with state.pool.connection() as conn:
        stage = _stage(person, await _visible(conn, person, incident_id), incident_id)
        if client_id is not None:
            stored = await q.by_client_id(conn, person.community_id, incident_id, client_id)
            if stored is not None:
                response.status_code = 200
                return _public(_resent(stored, person), _ME, person)
        if await q.count(conn, person.community_id, incident_id, stage) >= MAX_PER_STAGE[stage]:
            raise _too_many(stage)  # before any work; checked again under the lock
    data = await file.read(MAX_BYTES + 1)
    checked = await _checked(request, data)
    upload = _Upload(person, incident_id, stage, client_id, checked)
    row, new = await _store(state.pool, store, upload)
    if not new:
        response.status_code = 200
        row = _resent(row, person)
    return _public(row, _ME, person)


@router.delete(
    "/v1/me/incidents/{incident_id}/photos/{photo_id}",
    status_code=204,
    response_class=Response,
    responses=problems(401, 403, 404, 503),
)
async def delete_my_photo(
    session: SignedInChangingBriefly,
    state: State,
    store: Store,
    incident_id: ObjectId,
    photo_id: PhotoId,
) -> Response:
    """Delete a photo this person uploaded. Its objects go first, then its row: a 204
    means the bytes are gone from the store (503 if the store cannot be reached,
    and nothing changed). Another person's photo of an incident this person
    sees answers 403; a photo they may not see, 404."""
    person = session.person
    async with state.pool.connection() as conn:
        await _visible(conn, person, incident_id)
        row = await q.photo(conn, person.community_id, incident_id, photo_id)
    if row is None:
        raise NotFoundError("photo", photo_id)
    if row["uploaded_by"] != person.account_id:
        raise HTTPException(403, "only whoever uploaded a photo may delete it")
    try:
        for key in (row["object_key"], row["thumb_key"]):
            await asyncio.to_thread(store.delete, key)  # a missing object is no error
    except ObjectStoreError as exc:
        raise _unavailable(exc) from None
    async with state.pool.connection() as conn:
        await q.delete(conn, person.community_id, incident_id, photo_id)
    return Response(status_code=204)


@router.get("/v1/me/incidents/{incident_id}/photos", responses=problems(401, 404))
async def my_incident_photos(
    session: SignedIn, conn: DbConn, incident_id: ObjectId
) -> PhotosPublic:
    """The photos of an incident this person may see, oldest first."""
    person = session.person
    await _visible(conn, person, incident_id)
    rows = await q.photos_of(conn, person.community_id, incident_id)
    return PhotosPublic(count=len(rows), data=[_public(r, _ME, person) for r in rows])


async def _served(
    conn: Conn, store: ObjectStore, community: str, incident: str, photo_id: int, *, thumb: bool
) -> Response:
    row = await q.photo(conn, community, incident, photo_id)
    if row is None:
        raise NotFoundError("photo", photo_id)
    key = row["thumb_key"] if thumb else row["object_key"]
    try:
        data = await asyncio.to_thread(store.get, key)
    except ObjectStoreError as exc:
        raise _unavailable(exc) from None
    if data is None:
        log.error("photo %s of %s/%s: object %s is missing", photo_id, community, incident, key)
        raise NotFoundError("photo", photo_id)
    media_type = "image/jpeg" if thumb else row["content_type"]
    return Response(data, media_type=media_type, headers=_SERVED)


_BYTES: Final[dict[int | str, dict[str, Any]]] = {
    200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}
}


@router.get(
    "/v1/me/incidents/{incident_id}/photos/{photo_id}",
    response_class=Response,
    responses={**_BYTES, **problems(401, 404)},
)
async def my_photo(
    session: SignedIn, conn: DbConn, store: Store, incident_id: ObjectId, photo_id: PhotoId
) -> Response:
    await _visible(conn, session.person, incident_id)
    return await _served(
        conn, store, session.person.community_id, incident_id, photo_id, thumb=False
    )


@router.get(
    "/v1/me/incidents/{incident_id}/photos/{photo_id}/thumb",
    response_class=Response,
    responses={**_BYTES, **problems(401, 404)},
)
async def my_photo_thumb(
    session: SignedIn, conn: DbConn, store: Store, incident_id: ObjectId, photo_id: PhotoId
) -> Response:
    person = session.person
    await _visible(conn, person, incident_id)
    return await _served(conn, store, person.community_id, incident_id, photo_id, thumb=True)


async def _community_incident(conn: Conn, cid: str, incident: str) -> None:
    if await incident_scope(conn, cid, incident) is None:
        raise NotFoundError("incident", incident)


@router.get("/v1/communities/{cid}/incidents/{iid}/photos", responses=problems(401, 403, 404))
async def incident_photos(cid: CommunityRead, conn: DbConn, iid: ObjectId) -> PhotosPublic:
    """The cockpit's view of an incident's photos (a key with cockpit:read)."""
    await _community_incident(conn, cid, iid)
    rows = await q.photos_of(conn, cid, iid)
    base = _community_base(cid)
    return PhotosPublic(count=len(rows), data=[_public(r, base) for r in rows])


@router.get(
    "/v1/communities/{cid}/incidents/{iid}/photos/{photo_id}",
    response_class=Response,
    responses={**_BYTES, **problems(401, 403, 404)},
)
async def incident_photo(
    cid: CommunityRead, conn: DbConn, store: Store, iid: ObjectId, photo_id: PhotoId
) -> Response:
    await _community_incident(conn, cid, iid)
    return await _served(conn, store, cid, iid, photo_id, thumb=False)


@router.get(
    "/v1/communities/{cid}/incidents/{iid}/photos/{photo_id}/thumb",
    response_class=Response,
    responses={**_BYTES, **problems(401, 403, 404)},
)
async def incident_photo_thumb(
    cid: CommunityRead, conn: DbConn, store: Store, iid: ObjectId, photo_id: PhotoId
) -> Response:
    await _community_incident(conn, cid, iid)
    return await _served(conn, store, cid, iid, photo_id, thumb=True)
