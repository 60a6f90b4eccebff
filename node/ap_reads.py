"""What peers may read of a local account over ActivityPub (web/activitypub.py serves it): a
post as a Note, with authorized fetch, and the account's outbox, each asked of the trust
policy as a delivery would be.

The reader is the verified signer of the request, or None for an unsigned one (the open
web). It is passed as a callable and asked only once the post or page exists, so a request
for nothing fetches no key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation import builders
from federation.addressing import NotFederated
from federation.vocab import CONTEXT
from node import audit
from node.actors import account_uri
from node.audience import Audience, audience_of
from node.communities import community_of, reachable_by
from node.context import NodeContext
from node.media_out import NONE, Outgoing, judged_text, outgoing, outgoing_many, without_media
from node.outbox import note_document, post_text
from node.pins import pinned_posts
from node.posts import viewable
from storage.errors import NotFound
from storage.models import Account, Post

PAGE_SIZE = 20
Reader = Callable[[], Awaitable[Account | None]]  # the request's verified remote signer, if any


async def note(ctx: NodeContext, author: Account, post_id: int, reader: Reader) -> dict[str, object]:
    """A post as a Note. Non-public posts only to a signed request from someone in their
    audience, on a peer the policy admits for that audience (authorized fetch); NotFound
    otherwise, a refusal by the policy audited."""
    once = asked_once(reader)
    async with ctx.db.reader() as s:
        post = await s.get(Post, post_id)
        if post is None or post.account_id != author.id or post.reblog_of_id is not None:
            raise NotFound("no such post")
        media = await outgoing(ctx.base_url, s, post.id)
        if not await may_fetch(ctx, s, post, once, media):
            raise NotFound("no such post")
        try:
            doc = await note_document(ctx, s, post, author, media)
        except NotFederated as exc:
            raise NotFound("no such post") from exc
    viewer = await once()
    if viewer is not None and viewer.domain and not ctx.policy().media_out(viewer.domain).allowed:
        doc = without_media(doc)  # withhold_media: the text, not the attachments
    return {"@context": CONTEXT, **doc}


def asked_once(reader: Reader) -> Reader:
    """The reader, verified at most once however often it is asked."""
    asked: list[Account | None] = []

    async def once() -> Account | None:
        if not asked:
            asked.append(await reader())
        return asked[0]

    return once


async def may_fetch(
    ctx: NodeContext, s: AsyncSession, post: Post, reader: Reader, media: Outgoing | None = None
) -> bool:
    """Whether the request's reader may fetch this post (or what belongs to it, its media:
    node/media_access.py) from this node: the rule of authorized fetch, one home. The reader is
    asked only for a post that leaves the node at all; a refusal by the policy is audited."""
    audience = audience_of(post.visibility)
    if not audience.federates:
        return False
    viewer = await reader()
    # The same policy function as delivery: what could not be sent to a peer cannot be
    # fetched by it either (an unsigned request counts as the open web).
    if viewer is not None and viewer.domain is None:
        viewer = None
    # Content rules read the attachments' alt text and file names with the text.
    media = await outgoing(ctx.base_url, s, post.id) if media is None else media
    decision = ctx.policy().outbound(
        post.visibility, viewer.domain if viewer else None, judged_text(post_text(post), media)
    )
    if decision.allowed and (
        audience.rules.anyone_may_see or (viewer is not None and await viewable(ctx, s, viewer, post))
    ):
        return True
    if viewer is not None and not decision.allowed:
        await audit.record_now(
            ctx.db,
            direction="out",
            peer=viewer.domain or "",
            obj=post.uri or "",
            decision="refused",
            rule=decision.rule,
            reason=f"fetch: {decision.reason}",
        )
    return False


def _outbox_posts(author: Account) -> tuple[ColumnElement[bool], ...]:
    # What an outbox lists: the account's own public posts (boosts and narrower audiences stay out).
    return (Post.account_id == author.id, Post.visibility == Audience.PUBLIC, Post.reblog_of_id.is_(None))


def outbox_page_statement(author: Account, below: int | None) -> Select[Post]:
    """The posts of one outbox page, newest first, below `below` when given."""
    stmt = select(Post).where(*_outbox_posts(author)).order_by(Post.id.desc()).limit(PAGE_SIZE)
    return stmt if below is None else stmt.where(Post.id < below)


def _page_id(max_id: str) -> int | None:
    return int(max_id) if max_id.isascii() and max_id.isdigit() and len(max_id) <= 19 else None


async def outbox(ctx: NodeContext, author: Account) -> dict[str, object]:
    """The outbox as a collection: its size and the address of its first page."""
    base = f"{ctx.actor_uri(author.username)}/outbox"
    async with ctx.db.reader() as s:
        total = await s.scalar(select(func.count()).select_from(Post).where(*_outbox_posts(author)))
    return builders.ordered_collection(base, int(total or 0), f"{base}?page=true")


async def outbox_page(ctx: NodeContext, author: Account, max_id: str, reader: Reader) -> dict[str, object]:
    """One page of the outbox, newest first, below `max_id` (ignored unless a decimal id): each
    post as the Create a delivery would carry, if the policy lets this reader have it."""
    base = f"{ctx.actor_uri(author.username)}/outbox"
    below = _page_id(max_id)
    async with ctx.db.reader() as s:
        rows = list((await s.scalars(outbox_page_statement(author, below))).unique())
        viewer = await reader()
        domain = viewer.domain if viewer is not None else None
        items = []
        withhold = domain is not None and not ctx.policy().media_out(domain).allowed
        media_of = await outgoing_many(ctx.base_url, s, [post.id for post in rows])
        for post in rows:
            media = media_of.get(post.id, NONE)
            if not ctx.policy().outbound(post.visibility, domain, judged_text(post_text(post), media)).allowed:
                continue  # e.g. a content rule keeps it from this reader
            doc = await note_document(ctx, s, post, author, NONE if withhold else media)
            create = builders.activity(
                "Create",
                f"{post.uri}/activity",
                account_uri(ctx, author),
                doc,
                to=doc["to"],  # type: ignore[arg-type]
                cc=doc["cc"],  # type: ignore[arg-type]
                published=post.created_at,
            )
            items.append(create)
    next_page = f"{base}?page=true&max_id={rows[-1].id}" if len(rows) == PAGE_SIZE else None
    page_id = f"{base}?page=true" + (f"&max_id={max_id}" if below is not None else "")
    return builders.collection_page(page_id, base, items, next_page)


async def featured(ctx: NodeContext, owner: Account, reader: Reader) -> dict[str, object]:
    """The actor's `featured` collection (Mastodon's pinned posts, a community's pins too):
    each pinned post listed only if this reader may fetch it (`may_fetch`, as the note itself),
    so an organisation post is never named to a partner. A community the reader may not reach
    at all is NotFound, as its actor is (`communities.reachable_by`)."""
    once = asked_once(reader)
    base = f"{ctx.actor_uri(owner.username)}/collections/featured"
    items: list[object] = []
    async with ctx.db.reader() as s:
        if owner.is_group and (community := await community_of(s, owner.id)) is not None:
            viewer = await once()
            if not reachable_by(ctx, community, viewer.domain if viewer is not None else None).allowed:
                raise NotFound("no such user")
        for post in await pinned_posts(s, owner.id):
            media = await outgoing(ctx.base_url, s, post.id)
            if not await may_fetch(ctx, s, post, once, media):
                continue
            if post.account.domain is not None:
                items.append(post.uri)  # a peer member's post in a community: its origin serves it
                continue
            try:
                doc = await note_document(ctx, s, post, post.account, media)
            except NotFederated:
                continue
            items.append(doc)
    viewer = await once()
    if viewer is not None and viewer.domain and not ctx.policy().media_out(viewer.domain).allowed:
        items = [without_media(i) if isinstance(i, dict) else i for i in items]
    collection = builders.ordered_collection(base, len(items))
    collection["orderedItems"] = items
    return collection
