"""What peers may read of a local account over ActivityPub (web/activitypub.py serves it): a
post as a Note, with authorized fetch, and the account's outbox, each asked of the trust
policy as a delivery would be.

The reader is the verified signer of the request, or None for an unsigned one (the open
web). It is passed as a callable and asked only once the post or page exists, so a request
for nothing fetches no key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation import builders
from federation.addressing import NotFederated
from federation.vocab import CONTEXT
from node import audit
from node.actors import account_uri
from node.audience import Audience, audience_of
from node.context import NodeContext
from node.outbox import note_document, post_text
from node.posts import viewable
from storage.errors import NotFound
from storage.models import Account, Post

PAGE_SIZE = 20
Reader = Callable[[], Awaitable[Account | None]]  # the request's verified remote signer, if any


async def note(ctx: NodeContext, author: Account, post_id: int, reader: Reader) -> dict[str, object]:
    """A post as a Note. Non-public posts only to a signed request from someone in their
    audience, on a peer the policy admits for that audience (authorized fetch); NotFound
    otherwise, a refusal by the policy audited."""
    async with ctx.db.reader() as s:
        post = await s.get(Post, post_id)
        if post is None or post.account_id != author.id or post.reblog_of_id is not None:
            raise NotFound("no such post")
        if not await may_fetch(ctx, s, post, reader):
            raise NotFound("no such post")
        try:
            doc = await note_document(ctx, s, post, author)
        except NotFederated as exc:
            raise NotFound("no such post") from exc
    return {"@context": CONTEXT, **doc}


async def may_fetch(ctx: NodeContext, s: AsyncSession, post: Post, reader: Reader) -> bool:
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
    decision = ctx.policy().outbound(post.visibility, viewer.domain if viewer else None, post_text(post))
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
    stmt = select(Post).where(*_outbox_posts(author)).order_by(Post.id.desc()).limit(PAGE_SIZE)
    if below is not None:
        stmt = stmt.where(Post.id < below)
    async with ctx.db.reader() as s:
        rows = list((await s.scalars(stmt)).unique())
        viewer = await reader()
        domain = viewer.domain if viewer is not None else None
        items = []
        for post in rows:
            if not ctx.policy().outbound(post.visibility, domain, post_text(post)).allowed:
                continue  # e.g. a content rule keeps it from this reader
            doc = await note_document(ctx, s, post, author)
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
