"""ActivityPub routes: actors, their collections, objects (with authorized fetch), inboxes."""

from __future__ import annotations

import json

from aiohttp import web
from sqlalchemy import func, select

from federation import builders
from federation.addresses import FetchError
from federation.addressing import NotFederated
from federation.parsing import InvalidActivity
from federation.signatures import SignatureError, load_public_key_pem, parse_signature, verify_request
from federation.vocab import AP_CONTENT_TYPE, CONTEXT
from node import accounts, admission, audit, inbound, remote
from node.actors import account_uri, instance_document, person_document
from node.audience import Audience
from node.context import NodeContext
from node.outbox import note_document, post_text
from node.posts import viewable
from storage.errors import AtriumError, NotFound
from storage.models import Account, Follow, Post
from web.client import client_address
from web.keys import CTX

PAGE_SIZE = 20


def ap_response(doc: dict[str, object], status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(doc), status=status, content_type=AP_CONTENT_TYPE,
                        headers={"Vary": "Accept, Signature"})


async def _local(request: web.Request) -> Account:
    account = await accounts.get_local(request.app[CTX], request.match_info["username"])
    if account.disabled or account.suspended:
        raise NotFound("no such user")
    return account


async def actor(request: web.Request) -> web.Response:
    # A disabled account's actor stays readable, marked `suspended`, so peers learn of it.
    account = await accounts.get_local(request.app[CTX], request.match_info["username"])
    return ap_response(await person_document(request.app[CTX], account))


async def instance_actor(request: web.Request) -> web.Response:
    return ap_response(await instance_document(request.app[CTX]))


async def _signed_viewer(request: web.Request, ctx: NodeContext) -> Account | None:
    """The remote actor a signed GET comes from, verified; None for an unsigned request. A
    signer the policy does not admit was refused with 403 before the handler ran (web.signed);
    asked again here so that no key is ever fetched from it, whoever calls this."""
    if "Signature" not in request.headers and "Signature-Input" not in request.headers:
        return None
    try:
        parsed = parse_signature(request.headers)
    except SignatureError:
        return None  # an unusable signature is no signature: the request is anonymous
    await admission.admit_signer(ctx, parsed.key_id, f"signed {request.method} {request.path}")
    try:
        signer = await remote.actor_by_key_id(ctx, parsed.key_id)
        try:
            verify_request("GET", f"{ctx.base_url}{request.raw_path}", request.headers, None,
                           load_public_key_pem(signer.public_key_pem or ""))
        except SignatureError:
            # The peer may have rotated its key (same key id): re-fetch it once, as the inbox does.
            signer = await remote.actor_by_key_id(ctx, parsed.key_id, refresh=True)
            verify_request("GET", f"{ctx.base_url}{request.raw_path}", request.headers, None,
                           load_public_key_pem(signer.public_key_pem or ""))
    except (SignatureError, AtriumError, FetchError, InvalidActivity, ValueError):
        return None  # an unusable signature is no signature: the request is anonymous
    return signer


async def note(request: web.Request) -> web.Response:
    """A post as a Note. Non-public posts only to a signed request from someone in their
    audience, on a peer the policy admits for that audience (authorized fetch)."""
    ctx = request.app[CTX]
    author = await _local(request)
    try:
        post_id = int(request.match_info["post_id"])
    except ValueError as exc:
        raise NotFound("no such post") from exc
    async with ctx.db.reader() as s:
        post = await s.get(Post, post_id)
        if post is None or post.account_id != author.id or post.reblog_of_id is not None or not Audience(post.visibility).federates:
            raise NotFound("no such post")
        viewer = await _signed_viewer(request, ctx)
        # The same policy function as delivery: what could not be sent to a peer cannot be
        # fetched by it either (an unsigned request counts as the open web).
        if viewer is not None and viewer.domain is None:
            viewer = None
        decision = ctx.policy().outbound(post.visibility, viewer.domain if viewer else None, post_text(post))
        if not decision.allowed or (not Audience(post.visibility).rules.anyone_may_see and (
            viewer is None or not await viewable(ctx, s, viewer, post)
        )):
            if viewer is not None and not decision.allowed:
                await audit.record_now(ctx.db, direction="out", peer=viewer.domain or "", obj=post.uri or "",
                                       decision="refused", rule=decision.rule, reason=f"fetch: {decision.reason}")
            raise NotFound("no such post")
        try:
            doc = await note_document(ctx, s, post, author)
        except NotFederated as exc:
            raise NotFound("no such post") from exc
    return ap_response({"@context": CONTEXT, **doc})


async def outbox(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    author = await _local(request)
    base = f"{ctx.actor_uri(author.username)}/outbox"
    public = (Post.account_id == author.id, Post.visibility == Audience.PUBLIC, Post.reblog_of_id.is_(None))
    async with ctx.db.reader() as s:
        if "page" not in request.query:
            total = await s.scalar(select(func.count()).select_from(Post).where(*public))
            return ap_response(builders.ordered_collection(base, int(total or 0), f"{base}?page=true"))
        stmt = select(Post).where(*public).order_by(Post.id.desc()).limit(PAGE_SIZE)
        max_id = request.query.get("max_id", "")
        if max_id.isascii() and max_id.isdigit() and len(max_id) <= 19:
            stmt = stmt.where(Post.id < int(max_id))
        rows = list((await s.scalars(stmt)).unique())
        viewer = await _signed_viewer(request, ctx)
        reader = viewer.domain if viewer is not None else None
        items = []
        for post in rows:
            if not ctx.policy().outbound(post.visibility, reader, post_text(post)).allowed:
                continue  # e.g. a content rule keeps it from this reader
            doc = await note_document(ctx, s, post, author)
            items.append(builders.activity("Create", f"{post.uri}/activity", account_uri(ctx, author), doc,
                                           to=doc["to"], cc=doc["cc"], published=post.created_at))  # type: ignore[arg-type]
    next_page = f"{base}?page=true&max_id={rows[-1].id}" if len(rows) == PAGE_SIZE else None
    page_id = f"{base}?page=true" + (f"&max_id={max_id}" if max_id.isascii() and max_id.isdigit() and len(max_id) <= 19 else "")
    return ap_response(builders.collection_page(page_id, base, items, next_page))


async def _count_collection(request: web.Request, which: str) -> web.Response:
    """Followers and following: the count only. Who follows whom stays inside the node."""

    ctx = request.app[CTX]
    account = await _local(request)
    col = Follow.target_id if which == "followers" else Follow.follower_id
    async with ctx.db.reader() as s:
        total = await s.scalar(select(func.count()).select_from(Follow).where(col == account.id, Follow.state == "accepted"))
    return ap_response(builders.ordered_collection(f"{ctx.actor_uri(account.username)}/{which}", int(total or 0)))


async def followers(request: web.Request) -> web.Response:
    return await _count_collection(request, "followers")


async def following(request: web.Request) -> web.Response:
    return await _count_collection(request, "following")


async def featured(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    account = await _local(request)
    doc = builders.ordered_collection(f"{ctx.actor_uri(account.username)}/collections/featured", 0)
    doc["orderedItems"] = []
    return ap_response(doc)


async def inbox(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    if "username" in request.match_info:
        await _local(request)
    body = await request.read()  # the app's client_max_size caps it (1 MB): 413 beyond
    received = await inbound.receive(ctx, "POST", f"{ctx.base_url}{request.raw_path}", request.headers, body,
                                     client_address(request))
    return web.json_response({"status": received.outcome}, status=202)


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/actor", instance_actor)
    r.add_get("/users/{username}", actor)
    r.add_get("/users/{username}/outbox", outbox)
    r.add_get("/users/{username}/followers", followers)
    r.add_get("/users/{username}/following", following)
    r.add_get("/users/{username}/collections/featured", featured)
    r.add_get("/users/{username}/statuses/{post_id}", note)
    r.add_post("/users/{username}/inbox", inbox)
    r.add_post("/inbox", inbox)
    r.add_post("/actor/inbox", inbox)
