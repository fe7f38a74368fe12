"""``/v1/me/push``: a signed-in person's browser subscribes to Web Push
(docs/people.md "Web Push"; sending is :mod:`api.push`).

``GET`` gives the VAPID public key the browser subscribes with (`enabled` false when Web
Push is off); ``PUT`` keeps the browser's subscription for this account,
``DELETE ?endpoint=`` forgets it. Changes need the session's CSRF token. An
endpoint another account has subscribed is never changed or deleted (409 / 404).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response

from api.deps import DbConn
from api.models.common import problems
from api.models.push import PushServerKey, PushSubscriptionCreate
from api.push_subscription import endpoint_problem, keys_problem
from api.queries.push import subscribe, unsubscribe
from api.sessions import SignedIn, SignedInChanging

if TYPE_CHECKING:
    from api.push import PushSender  # imported by the app only when Web Push is on

router = APIRouter(prefix="/v1/me/push", tags=["people"])


def _sender(request: Request) -> PushSender:
    sender: PushSender | None = getattr(request.app.state, "push", None)
    if sender is None:
        raise HTTPException(404, "Web Push is off on this server (no VAPID key configured)")
    return sender


@router.get("", responses=problems(401))
async def push_key(request: Request, session: SignedIn) -> PushServerKey:
    """The key to pass as ``applicationServerKey`` to ``PushManager.subscribe``;
    ``enabled`` false (and no key) when this server has no Web Push, so a page
    can ask without an error in its console."""
    sender: PushSender | None = getattr(request.app.state, "push", None)
    if sender is None:
        return PushServerKey(enabled=False, application_server_key=None)
    return PushServerKey(enabled=True, application_server_key=sender.public_key)


@router.put("", status_code=204, responses=problems(400, 401, 403, 404, 409))
async def push_subscribe(
    request: Request, session: SignedInChanging, conn: DbConn, body: PushSubscriptionCreate
) -> Response:
    """Keep this browser's subscription: changes of incidents this person may see
    are pushed to it (incident id and status only)."""
    sender = _sender(request)
    problem = endpoint_problem(
        body.endpoint, allow_loopback=sender.config.allow_loopback
    ) or keys_problem(body.keys.p256dh, body.keys.auth)
    if problem is not None:
        raise HTTPException(400, problem)
    person = session.person
    if not await subscribe(
        conn, person.account_id, body.endpoint, body.keys.p256dh, body.keys.auth
    ):
        raise HTTPException(409, "endpoint: subscribed by another account; unsubscribe there")
    sender.watch(person.community_id)
    return Response(status_code=204)


@router.delete("", status_code=204, responses=problems(401, 403, 404))
async def push_unsubscribe(
    request: Request,
    session: SignedInChanging,
    conn: DbConn,
    endpoint: Annotated[str, Query(max_length=2048)],
) -> Response:
    """Forget this browser's subscription (this account's only)."""
    _sender(request)
    if not await unsubscribe(conn, session.person.account_id, endpoint):
        raise HTTPException(404, "no subscription of this account at that endpoint")
    return Response(status_code=204)
