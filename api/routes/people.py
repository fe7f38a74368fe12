"""People: invites and accounts made by the office, joining, signing in and out.

The office is either an office account's session (with its CSRF token) or an
API key with the admin scope for the community; either way another
community's office gets 404, as keys do. Passwords are hashed off the event
loop (argon2 takes tens of milliseconds by design).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response

from api.db import Conn
from api.deps import CommunityId, DbConn, authorize
from api.errors import NotFoundError
from api.models.common import problems
from api.models.people import (
    AccountCreate,
    HouseholdPublic,
    InviteCreate,
    InviteCreated,
    Join,
    LoginRequest,
    PasswordReset,
    PersonPublic,
    SessionCreated,
)
from api.queries import people as q
from api.sessions import (
    NewSession,
    SignedIn,
    SignedInChanging,
    check_csrf,
    close_session,
    find_session,
    open_session,
)
from twin.people import invites
from twin.people.passwords import (
    PasswordError,
    check_policy,
    hash_password,
    verify_password,
)
from twin.people.roles import Household, Person, Role
from twin.people.throttle import LoginThrottle

router = APIRouter(tags=["people"])


@dataclass(frozen=True, slots=True)
class SignInLimits:
    """Failed sign-ins and joins: a few per account, more per address (a shared NAT)."""

    account: LoginThrottle = field(default_factory=LoginThrottle)
    address: LoginThrottle = field(default_factory=lambda: LoginThrottle(free_failures=50))


def limits_of(request: Request) -> SignInLimits:
    found: SignInLimits = request.app.state.sign_in_limits
    return found


Limits = Annotated[SignInLimits, Depends(limits_of)]


async def office(request: Request, cid: CommunityId, conn: DbConn) -> str:
    """The community id, once the caller is its office (a session) or its admin (a key)."""
    session = await find_session(request, conn)
    if session is not None:
        if session.person.community_id != cid or session.person.role is not Role.OFFICE:
            raise NotFoundError("community", cid)
        check_csrf(request, session)
        return cid
    await authorize(request, cid, "admin")
    return cid


Office = Annotated[str, Depends(office)]


def public(person: Person, login: str) -> PersonPublic:
    home = person.household
    return PersonPublic(
        account_id=person.account_id,
        community=person.community_id,
        login=login,
        role=person.role.value,
        household=HouseholdPublic(building_id=home.building_id, unit_id=home.unit_id)
        if home
        else None,
        grids=sorted(person.grids),
    )


def created(person: Person, login: str, session: NewSession) -> SessionCreated:
    return SessionCreated(
        person=public(person, login), csrf_token=session.csrf_token, expires_at=session.expires_at
    )


def _policy(password: str, login: str) -> None:
    try:
        check_policy(password, login=login)
    except PasswordError as exc:
        raise HTTPException(400, str(exc)) from None


@router.post(
    "/v1/communities/{cid}/invites", status_code=201, responses=problems(400, 401, 403, 404)
)
async def create_invite(cid: Office, conn: DbConn, body: InviteCreate) -> InviteCreated:
    """A one-time code binding the account made with it to this household."""
    home = Household(body.building_id, body.unit_id)
    if not await q.household_exists(conn, cid, home):
        raise HTTPException(400, f"no unit {home.unit_id!r} in building {home.building_id!r}")
    code = invites.new_code()
    expires = datetime.now(UTC) + timedelta(days=body.valid_days)
    await q.insert_invite(conn, invites.digest(code), cid, home, expires)
    return InviteCreated(
        code=code, building_id=home.building_id, unit_id=home.unit_id, expires_at=expires
    )


@router.post(
    "/v1/communities/{cid}/accounts", status_code=201, responses=problems(400, 401, 403, 404, 409)
)
async def create_account(cid: Office, conn: DbConn, body: AccountCreate) -> PersonPublic:
    """A worker, property staff or office account (residents join with an invite)."""
    role = Role(body.role)
    if role is Role.OFFICE and body.grids:
        raise HTTPException(400, "an office account is not bound to grids")
    if role is not Role.OFFICE and not body.grids:
        raise HTTPException(400, f"a {role} account is bound to at least one grid")
    missing = await q.grids_missing(conn, cid, body.grids)
    if missing:
        raise HTTPException(400, f"no such grid(s): {', '.join(missing)}")
    _policy(body.password, body.login)
    digest = await asyncio.to_thread(hash_password, body.password)
    row = await q.insert_account(conn, cid, body.login, role, digest, grids=body.grids)
    if row is None:
        raise HTTPException(409, f"login {body.login!r} is taken in this community")
    return public(q.person_of(row), body.login)


@router.put(
    "/v1/communities/{cid}/accounts/{account_id}/password",
    status_code=204,
    responses=problems(400, 401, 403, 404),
)
async def reset_password(
    cid: Office, conn: DbConn, account_id: Annotated[int, Path(ge=1)], body: PasswordReset
) -> None:
    """The office sets a new password; every session of the account ends."""
    login = await q.login_of(conn, cid, account_id)
    if login is None:
        raise NotFoundError("account", account_id)
    _policy(body.password, login)
    digest = await asyncio.to_thread(hash_password, body.password)
    async with conn.transaction():
        if not await q.reset_password(conn, cid, account_id, digest):
            raise NotFoundError("account", account_id)


@router.put(
    "/v1/communities/{cid}/accounts/{account_id}/disabled",
    status_code=204,
    responses=problems(401, 403, 404),
)
async def disable_account(
    cid: Office, conn: DbConn, account_id: Annotated[int, Path(ge=1)]
) -> None:
    """The office disables an account: it cannot sign in, every session of it ends.
    Its reports stay its household's."""
    async with conn.transaction():
        if not await q.set_disabled(conn, cid, account_id, disabled=True):
            raise NotFoundError("account", account_id)


@router.delete(
    "/v1/communities/{cid}/accounts/{account_id}/disabled",
    status_code=204,
    responses=problems(401, 403, 404),
)
async def enable_account(cid: Office, conn: DbConn, account_id: Annotated[int, Path(ge=1)]) -> None:
    """The office enables a disabled account again (with the same password)."""
    if not await q.set_disabled(conn, cid, account_id, disabled=False):
        raise NotFoundError("account", account_id)


@router.post("/v1/session/join", status_code=201, responses=problems(400, 409, 429))
async def join(
    request: Request, response: Response, conn: DbConn, body: Join, limits: Limits
) -> SessionCreated:
    """A resident's account, made with the office's invite code, and signed in."""
    address = request.client.host if request.client else "?"
    _wait(limits.address.wait_s(address, time.monotonic()))
    try:
        digest = invites.digest(body.code)
    except invites.InviteError as exc:
        raise HTTPException(400, str(exc)) from None
    _policy(body.password, body.login)
    password_hash = await asyncio.to_thread(hash_password, body.password)
    async with conn.transaction():
        claimed = await q.claim_invite(conn, digest, body.community)
        if claimed is None:
            limits.address.failed(address, time.monotonic())
            raise HTTPException(400, await _invite_reason(conn, digest, body.community))
        home = Household(claimed["building_id"], claimed["unit_id"])
        row = await q.insert_account(
            conn, body.community, body.login, Role.RESIDENT, password_hash, household=home
        )
        if row is None:  # rolls the claim back: the code still works
            raise HTTPException(409, f"login {body.login!r} is taken in this community")
        await q.set_invite_user(conn, digest, row["id"])
        session = await open_session(conn, row["id"], response)
    return created(q.person_of(row), body.login, session)


async def _invite_reason(conn: Conn, digest: bytes, community: str) -> str:
    row = await q.invite_row(conn, digest)
    invite = (
        invites.Invite(
            row["community_id"],
            Household(row["building_id"], row["unit_id"]),
            row["expires_at"],
            row["used_at"],
        )
        if row
        else None
    )
    try:
        invites.redeemable(invite, community, datetime.now(UTC))
    except invites.InviteError as exc:
        return str(exc)
    return "this invite code cannot be used now; try again"


def _wait(wait: float) -> None:
    if wait > 0:
        raise HTTPException(
            429,
            f"too many failed attempts: try again in {wait:.0f} s",
            headers={"Retry-After": str(max(1, round(wait)))},
        )


@router.post("/v1/session", status_code=201, responses=problems(400, 401, 429))
async def sign_in(
    request: Request, response: Response, conn: DbConn, body: LoginRequest, limits: Limits
) -> SessionCreated:
    """Sign in: a session cookie (HttpOnly, Secure, SameSite=Strict) and its CSRF token."""
    account = f"{body.community}/{body.login}"
    address = request.client.host if request.client else "?"
    now = time.monotonic()
    _wait(max(limits.account.wait_s(account, now), limits.address.wait_s(address, now)))
    row = await q.account_by_login(conn, body.community, body.login)
    stored = row["password_hash"] if row else None
    if not await asyncio.to_thread(verify_password, stored, body.password) or row is None:
        now = time.monotonic()
        limits.account.failed(account, now)
        limits.address.failed(address, now)
        raise HTTPException(401, "wrong community, login or password")
    limits.account.succeeded(account)
    session = await open_session(conn, row["id"], response)
    return created(q.person_of(row), body.login, session)


@router.delete("/v1/session", status_code=204, responses=problems(401, 403))
async def sign_out(session: SignedInChanging, conn: DbConn, response: Response) -> None:
    await close_session(conn, session, response)


@router.get("/v1/me", responses=problems(401))
async def me(session: SignedIn) -> PersonPublic:
    return public(session.person, session.login)
