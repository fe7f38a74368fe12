"""Key administration (admin scope, on a key not restricted to communities)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path

from api.deps import AdminKey, DbConn, State
from api.keys import ApiKey
from api.models.common import problems
from api.models.keys import KeyCreate, KeyCreated, KeyPublic, KeysPublic
from api.queries.keys import create_key, list_keys, revoke_key


def _global_admin(key: AdminKey) -> ApiKey:
    # A community-restricted admin could otherwise mint keys for other communities.
    if not key.unrestricted:
        raise HTTPException(403, "key administration needs an admin key for all communities")
    return key


GlobalAdmin = Annotated[ApiKey, Depends(_global_admin)]
router = APIRouter(prefix="/v1/keys", tags=["keys"])


@router.get("", responses=problems(401, 403, 429))
async def keys(admin: GlobalAdmin, conn: DbConn, include_revoked: bool = False) -> KeysPublic:
    data = await list_keys(conn, include_revoked=include_revoked)
    return KeysPublic(count=len(data), data=data)


@router.post("", status_code=201, responses=problems(400, 401, 403, 413, 429))
async def create(admin: GlobalAdmin, conn: DbConn, body: KeyCreate) -> KeyCreated:
    """The response holds the key text; it is not stored and cannot be shown again."""
    return await create_key(
        conn, list(body.scopes), body.communities, body.name, districts=body.districts
    )


@router.delete("/{kid}", responses=problems(401, 403, 404, 429))
async def revoke(
    admin: GlobalAdmin,
    state: State,
    conn: DbConn,
    kid: Annotated[str, Path(pattern=r"^([0-9]{1,18}|[0-9a-f]{12})$", description="id or prefix")],
) -> KeyPublic:
    revoked = await revoke_key(conn, kid)
    # Effective at once in this process; other processes within the cache TTL.
    state.keys.discard_where(lambda k: k.id == revoked.id)
    return revoked
