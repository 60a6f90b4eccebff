"""ActivityPub routes: actors, their collections, objects (with authorized fetch), inboxes."""

from __future__ import annotations

import json
from functools import partial

from aiohttp import web

from federation import builders
from federation.vocab import AP_CONTENT_TYPE, CONTEXT
from node import accounts, ap_reads, community_ap, inbound, relationships
from node.actors import group_document, instance_document, served_person_document
from storage.errors import NotFound
from storage.models import Account
from web.client import client_address
from web.keys import CTX
from web.signed import PARSED, signed_reader


def ap_response(doc: dict[str, object], status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(doc), status=status, content_type=AP_CONTENT_TYPE,
                        headers={"Vary": "Accept, Signature"})


async def _local(request: web.Request, *, gated: bool = True) -> Account:
    ctx = request.app[CTX]
    username = request.match_info["username"]
    account = await accounts.get_local(ctx, username)
    if account.disabled or account.suspended:
        raise NotFound("no such user")
    # A community exists only where it may reach: elsewhere, as a name nobody has.
    if gated and not await community_ap.visible_to(ctx, account, partial(signed_reader, request)):
        raise NotFound(f"no such user: {username}")
    return account


async def actor(request: web.Request) -> web.Response:
    # A disabled account's actor stays readable, marked `suspended`, so peers learn of it; a
    # deleted one is a Tombstone, 410 Gone (as Mastodon answers for a deleted account).
    # Organisation-only profile fields: only to a signed fetch from a peer the policy admits
    # for the organisation's audience (node/actors.py).
    ctx = request.app[CTX]
    try:
        account = await accounts.get_local(ctx, request.match_info["username"])
    except NotFound as exc:
        if exc.status != 410:
            raise
        gone = builders.tombstone(ctx.actor_uri(request.match_info["username"]))
        return ap_response({"@context": CONTEXT, **gone, "formerType": "Person"}, status=410)
    if account.is_group:
        group = await _local(request)
        return ap_response(await group_document(ctx, group))
    return ap_response(await served_person_document(ctx, account, partial(signed_reader, request)))


async def instance_actor(request: web.Request) -> web.Response:
    return ap_response(await instance_document(request.app[CTX]))


async def note(request: web.Request) -> web.Response:
    """A post as a Note. Non-public posts only to a signed request from someone in their
    audience, on a peer the policy admits for that audience (authorized fetch)."""
    ctx = request.app[CTX]
    author = await _local(request)
    try:
        post_id = int(request.match_info["post_id"])
    except ValueError as exc:
        raise NotFound("no such post") from exc
    return ap_response(await ap_reads.note(ctx, author, post_id, partial(signed_reader, request)))


async def outbox(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    author = await _local(request)
    if "page" not in request.query:
        return ap_response(await ap_reads.outbox(ctx, author))
    reader = partial(signed_reader, request)
    return ap_response(await ap_reads.outbox_page(ctx, author, request.query.get("max_id", ""), reader))


async def _count_collection(request: web.Request, which: str) -> web.Response:
    """Followers and following: the count only. Who follows whom stays inside the node."""
    ctx = request.app[CTX]
    account = await _local(request)
    counts = (await relationships.counts(ctx, [account.id]))[account.id]
    total = counts.followers if which == "followers" else counts.following
    return ap_response(builders.ordered_collection(f"{ctx.actor_uri(account.username)}/{which}", total))


async def followers(request: web.Request) -> web.Response:
    return await _count_collection(request, "followers")


async def following(request: web.Request) -> web.Response:
    return await _count_collection(request, "following")


async def featured(request: web.Request) -> web.Response:
    """Pinned posts, each only if the reader may fetch it (node/ap_reads.py)."""
    account = await _local(request)
    return ap_response(await ap_reads.featured(request.app[CTX], account, partial(signed_reader, request)))


async def moderators(request: web.Request) -> web.Response:
    """A community's moderators (Lemmy's `attributedTo`); 404 for anyone else."""
    return ap_response(await community_ap.moderators_collection(request.app[CTX], await _local(request)))


async def inbox(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    if "username" in request.match_info:
        # Not gated: a Follow of a community from a peer it does not reach is answered (Reject).
        await _local(request, gated=False)
    body = await request.read()  # the app's client_max_size caps it (1 MB): 413 beyond
    received = await inbound.receive(ctx, "POST", f"{ctx.base_url}{request.raw_path}", request.headers, body,
                                     client_address(request), request.get(PARSED))
    return web.json_response({"status": received.outcome}, status=202)


GETS = {"/actor": instance_actor, "/users/{username}": actor, "/users/{username}/outbox": outbox,
        "/users/{username}/followers": followers, "/users/{username}/following": following,
        "/users/{username}/collections/featured": featured, "/users/{username}/statuses/{post_id}": note,
        "/users/{username}/collections/moderators": moderators}
INBOXES = ("/users/{username}/inbox", "/inbox", "/actor/inbox")


def setup(app: web.Application) -> None:
    app.router.add_routes([web.get(path, handler) for path, handler in GETS.items()])
    app.router.add_routes([web.post(path, inbox) for path in INBOXES])
