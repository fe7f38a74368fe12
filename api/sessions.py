"""People's sessions: an HttpOnly cookie, a CSRF token, and who is signed in.

The cookie holds a random token (only its SHA-256 is stored) and is
``HttpOnly; Secure; SameSite=Strict``: scripts cannot read it and other sites'
pages do not send it. Every change made with a session also carries the
session's CSRF token in ``X-CSRF-Token`` (a cross-site form cannot set a
header), compared digest to digest in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response

from api.db import Conn
from api.deps import DbConn, State
from api.queries.people import delete_session, insert_session, person_of, session_account
from twin.people.roles import Person

COOKIE = "commtwin_session"
CSRF_HEADER = "x-csrf-token"
LIFETIME = timedelta(hours=12)


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


@dataclass(frozen=True, slots=True)
class Session:
    person: Person
    login: str
    token_digest: bytes
    csrf_digest: bytes


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str
    csrf_token: str
    expires_at: datetime


async def open_session(conn: Conn, account_id: int, response: Response) -> NewSession:
    """A new session for ``account_id``, its cookie set on ``response``."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + LIFETIME
    await insert_session(conn, token_digest(token), account_id, token_digest(csrf), expires)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(LIFETIME.total_seconds()),
        path="/",
        secure=True,
        httponly=True,
        samesite="strict",
    )
    return NewSession(token, csrf, expires)


async def close_session(conn: Conn, session: Session, response: Response) -> None:
    await delete_session(conn, session.token_digest)
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")


async def find_session(request: Request, conn: Conn) -> Session | None:
    token = request.cookies.get(COOKIE)
    if not token or len(token) > 200:
        return None
    digest = token_digest(token)
    row = await session_account(conn, digest)
    if row is None:
        return None
    return Session(person_of(row), row["login"], digest, bytes(row["csrf_digest"]))


def check_csrf(request: Request, session: Session) -> None:
    """403 unless the request echoes the session's CSRF token."""
    sent = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(token_digest(sent), session.csrf_digest):
        raise HTTPException(403, "missing or wrong X-CSRF-Token for this session")


async def current_session(request: Request, conn: DbConn) -> Session:
    session = await find_session(request, conn)
    if session is None:
        raise HTTPException(401, "sign in first (no valid session cookie)")
    return session


async def changing_session(
    request: Request, session: Annotated[Session, Depends(current_session)]
) -> Session:
    check_csrf(request, session)
    return session


async def briefly_changing_session(request: Request, state: State) -> Session:
    """The session (CSRF checked) on a connection held only while it is looked up.

    For routes that then wait without needing the database: an ingestor's
    commit, a photo's check. Holding the request's connection through such a
    wait ran the pool dry under load (bench/bench_people.py: 503s). Such a
    route takes its connections from the pool one at a time, never two at once.
    """
    async with state.pool.connection() as conn:
        session = await find_session(request, conn)
    if session is None:
        raise HTTPException(401, "sign in first (no valid session cookie)")
    check_csrf(request, session)
    return session


SignedIn = Annotated[Session, Depends(current_session)]
SignedInChanging = Annotated[Session, Depends(changing_session)]
# Without a connection held for the request: see briefly_changing_session.
SignedInChangingBriefly = Annotated[Session, Depends(briefly_changing_session)]
