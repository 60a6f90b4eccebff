"""Remote actors: find them by URI, key id or handle, fetch and cache their documents.

A public key changes only by a fetch from the actor's own origin (never from what another
server says), and a key that fails verification is re-fetched at most once a minute. Every
fetch goes through the node's outbound gate, which asks the trust policy about each host
first — the WebFinger host, then the host its `href` names (node.contact).
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from urllib.parse import quote, urldefrag

from sqlalchemy import func, or_, select

from federation.fetch import FetchBudget, Fetcher
from federation.gate import Purpose
from federation.parsing import IncomingActor, InvalidActivity, host_of, origin, parse_actor
from node import avatars, node_names, profile_fields
from node.context import NodeContext
from node.domains import canonical_domain
from node.media_remote import cache_if_chosen
from node.sanitize import sanitize_html
from node.trust import Trust
from storage import batches
from storage.errors import AtriumError, Invalid, NotFound
from storage.models import Account, ActorType, utcnow

REFETCH_AFTER = timedelta(days=1)
KEY_REFRESH_MIN_INTERVAL = timedelta(minutes=1)


class PeerUnavailable(AtriumError):
    status = 502


def _fetcher(ctx: NodeContext) -> Fetcher:
    if ctx.fetcher is None:
        raise PeerUnavailable("this node does not federate (no fetcher configured)")
    return ctx.fetcher


def domain_of(uri: str) -> str:
    return canonical_domain(host_of(uri), uri.split(":", 1)[0])


async def upsert_actor(ctx: NodeContext, actor: IncomingActor) -> Account:
    """Store or refresh a remote account from its (already checked) actor document."""
    domain = domain_of(actor.id)
    if domain == ctx.domain:
        raise Invalid("a remote actor cannot live on this node's own domain")
    async with ctx.db.session() as s:
        account = await s.scalar(select(Account).where(Account.actor_uri == actor.id))
        if account is None:
            # A new URI for a known handle (the peer re-created the account): the handle moves.
            account = await s.scalar(
                select(Account).where(
                    func.lower(Account.username) == actor.username.lower(), Account.domain == domain
                )
            )
        if account is not None and account.deleted_at is not None:
            # Its own node deleted it (node/account_deletion.py): a document served again
            # since changes nothing, and its activities stay refused.
            return account
        if account is None:
            account = Account(username=actor.username[:64], domain=domain, role="user", credentials_version=0)
            s.add(account)
        account.actor_uri = actor.id
        account.username = actor.username[:64]
        account.display_name = actor.name[:255]
        account.bio = sanitize_html(actor.summary_html)  # remote HTML never reaches a page raw
        account.url = actor.url
        account.inbox_uri = actor.inbox
        account.shared_inbox_uri = actor.shared_inbox
        account.followers_uri = actor.followers
        account.locked = actor.locked
        # A peer's community is a Group (FEP-1b12): members join it, write to it, and its boosts re-share.
        account.actor_type = actor.type if actor.type in {t.value for t in ActorType} else ActorType.PERSON
        account.discoverable = actor.discoverable
        account.key_id = actor.key_id
        account.public_key_pem = actor.public_key_pem
        account.disabled = actor.suspended  # its own server disabled it: so do we
        account.fetched_at = utcnow()
        await s.flush()
        await profile_fields.store_remote(s, account, actor.fields)
        await cache_if_chosen(ctx, s, await avatars.record_remote_pictures(s, account, actor.icon, actor.image))
    ctx.signers.forget_actor(actor.id)  # a new key is used from the next request on
    await node_names.learn_from_actor(ctx, actor)  # a peer's instance actor names the peer
    return account


async def fetch_actor(
    ctx: NodeContext, uri: str, budget: FetchBudget | None = None, *, purpose: Purpose = Purpose.ACTOR
) -> Account:
    document = await _fetcher(ctx).fetch_object(uri, purpose=purpose, budget=budget)
    return await actor_from_document(ctx, uri, document)


async def actor_from_document(ctx: NodeContext, uri: str, document: dict[str, object]) -> Account:
    """Store the actor `document`, just fetched from `uri`, if it is a usable actor of that URI."""
    try:
        actor = parse_actor(document)
    except InvalidActivity as exc:
        raise PeerUnavailable(f"{uri} is not a usable actor: {exc.reason}") from exc
    if actor.id != urldefrag(uri)[0]:
        raise PeerUnavailable(f"{uri} describes another actor")
    return await upsert_actor(ctx, actor)


async def actor_by_uri(ctx: NodeContext, uri: str, *, fetch: bool = True, budget: FetchBudget | None = None) -> Account:
    async with ctx.db.reader() as s:
        account = await s.scalar(select(Account).where(Account.actor_uri == uri))
    if account is not None and account.fetched_at and utcnow() - account.fetched_at < REFETCH_AFTER:
        return account
    if not fetch:
        if account is None:
            raise NotFound(f"unknown actor {uri}")
        return account
    try:
        return await fetch_actor(ctx, uri, budget)
    except PeerUnavailable:
        if account is not None:
            return account  # a stale copy beats none while the peer is away
        raise


async def actor_by_key_id(ctx: NodeContext, key_id: str, *, refresh: bool = False) -> Account:
    """The actor owning `key_id`, from cache, else fetched from the key's own origin."""
    async with ctx.db.reader() as s:
        account = await s.scalar(
            select(Account).where(or_(Account.key_id == key_id, Account.actor_uri == urldefrag(key_id)[0]))
        )
    if account is not None and account.public_key_pem and not refresh:
        return account
    if account is not None and refresh:
        pending = ctx.key_refreshing.get(key_id)
        if pending is not None:
            # Another request signed with the same new key is re-fetching it: its answer serves
            # this one too. (Refused by the rate limit instead, it got a 401 for a good signature.)
            return await asyncio.shield(pending)
        last = ctx.key_refreshes.get(key_id)
        now = time.monotonic()
        if last is not None and now - last < KEY_REFRESH_MIN_INTERVAL.total_seconds():
            return account  # rate limit: a flood of bad signatures must not become a flood of fetches
        # Before the fetch's own task, which would not see a batch this task holds; and before
        # the rate limit counts a fetch that did not happen.
        batches.deferred(f"{Purpose.KEY} {key_id}")
        ctx.key_refreshes[key_id] = now
        fetching = asyncio.ensure_future(_fetch_key(ctx, key_id))
        ctx.key_refreshing[key_id] = fetching

        def finished(done: asyncio.Future[Account]) -> None:
            if ctx.key_refreshing.get(key_id) is done:
                del ctx.key_refreshing[key_id]
            if not done.cancelled():
                done.exception()  # retrieved here: the requests waiting on it get it raised

        fetching.add_done_callback(finished)
        return await asyncio.shield(fetching)
    return await _fetch_key(ctx, key_id)


async def _fetch_key(ctx: NodeContext, key_id: str) -> Account:
    """The actor owning `key_id`, fetched from the key's own origin and stored."""
    fetcher = _fetcher(ctx)
    document = await fetcher.fetch_object(urldefrag(key_id)[0], purpose=Purpose.KEY)
    if document.get("type") not in ("Person", "Service", "Application", "Group", "Organization"):
        owner = document.get("owner")
        if not isinstance(owner, str) or origin(owner) != origin(key_id):
            raise PeerUnavailable(f"key {key_id} names no owner on its own origin")
        document = await fetcher.fetch_object(owner, purpose=Purpose.KEY)
    try:
        actor = parse_actor(document)
    except InvalidActivity as exc:
        raise PeerUnavailable(f"key {key_id}: {exc.reason}") from exc
    if actor.key_id != key_id:
        raise PeerUnavailable(f"{actor.id} does not hold the key {key_id}")
    return await upsert_actor(ctx, actor)


def _split_handle(handle: str) -> tuple[str, str]:
    """(user, canonical domain) of `user@domain[:port]` (a leading `@` allowed)."""
    handle = handle.strip().lstrip("@")
    user, sep, host = handle.partition("@")
    if not sep or not user or not host:
        raise Invalid(f"not a handle: {handle!r} (expected user@domain)")
    return user, canonical_domain(host)


async def known_handle(ctx: NodeContext, handle: str) -> Account | None:
    """The account `user@domain[:port]` names as this node already stores it (a local user
    for this node's own domain), however old the copy; None when it is not known. Contacts
    no one: what an anonymous visitor's lookup may use."""
    user, domain = _split_handle(handle)
    where = Account.domain.is_(None) if domain == ctx.domain else Account.domain == domain
    async with ctx.db.reader() as s:
        return await s.scalar(select(Account).where(func.lower(Account.username) == user.lower(), where))


async def resolve_handle(ctx: NodeContext, handle: str) -> Account:
    """`user@domain[:port]` → the account, looked up by WebFinger when not known yet.

    Only for a signed-in person or the node's own work: an anonymous visitor gets what
    `known_handle` finds. The gate asks the policy about the handle's host, about any host a
    WebFinger redirect leads to, and about the host of the actor the answer points at."""
    user, domain = _split_handle(handle)
    known = await known_handle(ctx, handle)
    if domain == ctx.domain:
        if known is None:
            raise NotFound(f"no such user: {user}")
        return known
    if known is not None and known.fetched_at and utcnow() - known.fetched_at < REFETCH_AFTER:
        return known
    scheme = "http" if ctx.scheme == "http" else "https"
    url = f"{scheme}://{domain}/.well-known/webfinger?resource=" + quote(f"acct:{user}@{domain}")
    # Signed (by the instance actor) to a node of the organisation only: it answers for a name
    # it shows the organisation alone — an `organization` community — by the signer's trust.
    # Anywhere else a look-up stays anonymous, as Mastodon's are.
    in_organization = ctx.policy().trust_of(domain)[0] is Trust.ORGANIZATION
    jrd = await _fetcher(ctx).fetch_json(
        url, purpose=Purpose.WEBFINGER, accept="application/jrd+json, application/json", cross_origin_redirects=True,
        signed=in_organization,
    )
    links = jrd.get("links")
    href = None
    if isinstance(links, list):
        for link in links:
            if (
                isinstance(link, dict)
                and link.get("rel") == "self"
                and isinstance(link.get("href"), str)
                and str(link.get("type", "")).startswith(("application/activity+json", "application/ld+json"))
            ):
                href = link["href"]
                break
    if href is None:
        raise NotFound(f"{user}@{domain} has no ActivityPub actor")
    return await fetch_actor(ctx, href)
