"""Who may do what at the round table, as FastAPI dependencies.

* reading (topics, tables, votes, results, decisions, the KPI): anyone signed
  in to the community, or an API key with ``cockpit:read`` for it (the
  cockpit's governance scene);
* raising a topic: a resident or the office (sessions with CSRF), or an admin key;
* running tables, opening and closing votes, decisions, the ledger: the office
  (its session with CSRF) or an admin key for the community;
* opinions and ballots: a resident of a concerned household (the routes check
  the household against the topic's place or the vote's electorate).

Another community's person gets 404 for the community, as keys do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from api.deps import CommunityId, DbConn, authorize
from api.errors import NotFoundError
from api.sessions import check_csrf, find_session
from twin.people.roles import Person, Role


@dataclass(frozen=True, slots=True)
class Caller:
    community_id: str
    person: Person | None  # None: an API key
    admin_key: bool = False  # an API key with the admin scope: acts as the office

    @property
    def is_office(self) -> bool:
        if self.person is None:
            return self.admin_key
        return self.person.role is Role.OFFICE

    @property
    def account_id(self) -> int | None:
        return self.person.account_id if self.person else None


async def _caller(request: Request, cid: str, conn: DbConn, *, changing: bool) -> Caller | None:
    session = await find_session(request, conn)
    if session is None:
        return None
    if session.person.community_id != cid:
        raise NotFoundError("community", cid)
    if changing:
        check_csrf(request, session)
    return Caller(cid, session.person)


async def reader(request: Request, cid: CommunityId, conn: DbConn) -> Caller:
    found = await _caller(request, cid, conn, changing=False)
    if found is not None:
        return found
    key = await authorize(request, cid, "cockpit:read")
    return Caller(cid, None, admin_key=key.grants("admin"))


async def raiser(request: Request, cid: CommunityId, conn: DbConn) -> Caller:
    found = await _caller(request, cid, conn, changing=True)
    if found is not None:
        if found.person is not None and found.person.role not in (Role.RESIDENT, Role.OFFICE):
            raise HTTPException(403, "topics are raised by residents and the office")
        return found
    await authorize(request, cid, "admin")
    return Caller(cid, None, admin_key=True)


async def office(request: Request, cid: CommunityId, conn: DbConn) -> Caller:
    found = await _caller(request, cid, conn, changing=True)
    if found is not None:
        if not found.is_office:
            raise HTTPException(403, "only the community office runs the round table")
        return found
    await authorize(request, cid, "admin")
    return Caller(cid, None, admin_key=True)


async def resident(request: Request, cid: CommunityId, conn: DbConn) -> Person:
    found = await _caller(request, cid, conn, changing=True)
    if found is None:
        raise HTTPException(401, "sign in first (no valid session cookie)")
    if found.person is None or found.person.household is None:
        raise HTTPException(403, "only residents, for their household, give opinions and vote")
    return found.person


Reader = Annotated[Caller, Depends(reader)]
Raiser = Annotated[Caller, Depends(raiser)]
Office = Annotated[Caller, Depends(office)]
Resident = Annotated[Person, Depends(resident)]
