"""Posts: write (with mentions, hashtags, replies, content warnings), edit with history,
delete, read with the viewer's rights, thread context."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from node import idempotency, post_effects, text
from node.audience import Audience
from node.community_posts import check_community_post, mentioned_community
from node.context import NodeContext
from node.domains import canonical_domain
from node.media import check_media_ids, current
from node.poll_rows import check_poll, poll_row
from node.post_access import load_visible, viewable
from node.post_effects import store_tags
from storage.errors import Forbidden, Invalid, NotFound
from storage.ids import new_id
from storage.models import Account, MediaAttachment, Post, PostEdit, SealCause, utcnow

__all__ = ["NewPost", "check_new", "create_post", "delete_post", "edit_post", "get_post", "load_visible",
           "post_as", "store_tags", "viewable"]

MAX_SUMMARY = 500
THREAD_LIMIT = 500


@dataclass(frozen=True)
class NewPoll:
    """A poll to go with a new post (the client API's `poll[...]`; node/polls.py checks it)."""

    options: tuple[str, ...]
    expires_in: int  # seconds
    multiple: bool = False
    hide_totals: bool = False


@dataclass(frozen=True)
class NewPost:
    text: str
    visibility: str = Audience.PUBLIC
    summary: str = ""
    sensitive: bool = False
    in_reply_to_id: int | None = None
    language: str | None = None
    media_ids: tuple[int, ...] = ()  # the author's uploads to attach, in order (node/media.py)
    community_id: int | None = None  # the community (a Group account) it is written to (node/communities.py)
    poll: NewPoll | None = None


def _check(ctx: NodeContext, body: str, summary: str, *, has_media: bool = False) -> None:
    if not body.strip() and not has_media:
        raise Invalid("a post needs some text or an attachment")
    if len(body) > ctx.max_post_chars:
        raise Invalid(f"post too long: at most {ctx.max_post_chars} characters")
    if len(summary) > MAX_SUMMARY:
        raise Invalid(f"content warning too long: at most {MAX_SUMMARY} characters")
    if "\x00" in body or "\x00" in summary:
        raise Invalid("a post cannot contain NUL characters")


async def _resolve_mentions(
    ctx: NodeContext, s: AsyncSession, refs: tuple[text.MentionRef, ...]
) -> dict[text.MentionRef, Account]:
    found: dict[text.MentionRef, Account] = {}
    for ref in refs[:50]:  # a post naming hundreds of people is spam, not a conversation
        try:
            domain = canonical_domain(ref.domain) if ref.domain else None
        except Invalid:
            continue  # no account is stored under a name that is no domain
        if domain == ctx.domain:
            domain = None
        stmt = select(Account).where(func.lower(Account.username) == ref.username.lower())
        stmt = stmt.where(Account.domain.is_(None) if domain is None else Account.domain == domain)
        account = await s.scalar(stmt)
        if account is not None:
            found[ref] = account
    return found


def _render(ctx: NodeContext, body: str, mentioned: dict[text.MentionRef, Account]) -> str:
    def resolve(ref: text.MentionRef) -> text.MentionTarget | None:
        account = mentioned.get(ref)
        if account is None:
            return None
        url = account.url or (ctx.profile_url(account.username) if account.domain is None else account.actor_uri)
        return text.MentionTarget(url=url or "", handle=f"@{account.username}")

    return text.render(body, resolve_mention=resolve, tag_url=ctx.tag_url)


async def get_post(ctx: NodeContext, viewer: Account | None, post_id: int) -> Post:
    async with ctx.db.reader() as s:
        return await load_visible(ctx, s, viewer, post_id)


async def post_as(ctx: NodeContext, author: Account, new: NewPost, idempotency_key: str | None = None) -> Post:
    """How a person posts, from the client API and the web UI alike: charged to the author's
    posting allowance (node-wide), then made at most once per idempotency key."""
    await ctx.limits.post_by(ctx.db, author.id)
    return await create_post(ctx, author, new, idempotency_key=idempotency_key)


def check_new(ctx: NodeContext, author: Account, new: NewPost) -> None:
    """What a new post must be before anything is written (also asked of a scheduled one)."""
    if author.domain is not None:
        raise Forbidden("only local accounts post through this node")
    if author.disabled or author.deleted_at is not None:
        raise Forbidden("this account is disabled")
    Audience.parse(new.visibility)
    _check(ctx, new.text, new.summary, has_media=bool(check_media_ids(new.media_ids)))
    if new.poll is not None:
        check_poll(new.poll, has_media=bool(new.media_ids))


async def create_post(
    ctx: NodeContext, author: Account, new: NewPost, *, idempotency_key: str | None = None
) -> Post:
    """A new post by a local account. With `idempotency_key`, the key is stored in the post's own
    transaction, so a retry (even one racing the first) gets the first post back, never a second."""
    check_new(ctx, author, new)
    asked = Audience.parse(new.visibility)
    media_ids = check_media_ids(new.media_ids)
    parsed = text.parse(new.text)
    key = idempotency.clean(idempotency_key)
    try:
        async with ctx.db.session() as s:
            if key is not None and (earlier := await idempotency.earlier(s, author.id, key)) is not None:
                return earlier
            visibility = asked
            parent: Post | None = None
            if new.in_reply_to_id is not None:
                parent = await load_visible(ctx, s, author, new.in_reply_to_id)
                if parent.reblog_of_id is not None:
                    raise Invalid("reply to the boosted post, not to the boost")
                # A reply to an inward-facing post never reaches further than its parent did.
                visibility = Audience(parent.visibility).reply_audience(visibility)
            mentioned = await _resolve_mentions(ctx, s, parsed.mentions)
            community_id = new.community_id
            if community_id is None:  # a mention of a community one has joined writes to it
                community_id = await mentioned_community(s, author, mentioned.values(), visibility)
            if community_id is not None:
                _, audience = await check_community_post(s, author, community_id)
                if audience is not None:  # a community of this node decides its posts' audience,
                    # but a reply to an inward-facing post still reaches no further than it did
                    visibility = Audience(parent.visibility).reply_audience(audience) if parent else audience
            post_id = new_id()
            body = post_effects.Body(_render(ctx, new.text, mentioned), new.text, new.summary,
                                     new.sensitive or bool(new.summary), new.language)
            uri, url = ctx.post_uri(author.username, post_id), ctx.post_url(author.username, post_id)
            post = post_effects.new_post(author, uri, visibility, body, post_id=post_id, url=url, parent=parent)
            post.community_id = community_id
            poll = poll_row(post.id, new.poll, post.created_at) if new.poll is not None else None
            change = post_effects.Recorded(post, parent, list(mentioned.values()), parsed.tags, media_ids=media_ids,
                                           poll=poll)
            events = await post_effects.record_posts(ctx, s, [change])
            if key is not None:
                await idempotency.remember(s, author.id, key, post.id)
    except idempotency.KeyTaken:
        # A concurrent request with the same key committed first; this one wrote nothing.
        return await idempotency.made_by(ctx, author.id, key or "")
    post_effects.publish(ctx, events)
    return post


async def edit_post(
    ctx: NodeContext,
    editor: Account,
    post_id: int,
    new_text: str,
    *,
    summary: str | None = None,
    sensitive: bool | None = None,
    media_ids: Sequence[int] | None = None,
) -> Post:
    """Change a post's text (and content warning, and attachments: None keeps them), keeping
    the previous version in its history."""
    kept = None if media_ids is None else check_media_ids(media_ids)
    parsed = text.parse(new_text)
    async with ctx.db.session() as s:
        post = await s.get(Post, post_id)
        if post is None or post.account_id != editor.id:
            raise NotFound("no such post of yours")
        if post.reblog_of_id is not None:
            raise Invalid("a boost cannot be edited")
        if kept is not None:
            has_media = bool(kept)
        else:
            attached = select(MediaAttachment.id).where(current(post.id)).limit(1)
            has_media = await s.scalar(attached) is not None
        _check(ctx, new_text, summary or "", has_media=has_media)
        mentioned = await _resolve_mentions(ctx, s, parsed.mentions)
        new_summary = post.summary if summary is None else summary
        if sensitive is not None or summary is not None:
            new_sensitive = bool(sensitive) or bool(new_summary)
        else:
            new_sensitive = post.sensitive
        body = post_effects.Body(_render(ctx, new_text, mentioned), new_text, new_summary, new_sensitive, post.language)
        change = post_effects.Edited(post, body, utcnow(), list(mentioned.values()), parsed.tags, media_ids=kept)
        events = await post_effects.edit_posts(ctx, s, [change])
    post_effects.publish(ctx, events)
    return post


async def history(ctx: NodeContext, viewer: Account | None, post_id: int) -> list[PostEdit]:
    """Earlier versions, oldest first (the current version is the post itself)."""
    async with ctx.db.reader() as s:
        await load_visible(ctx, s, viewer, post_id)
        rows = await s.scalars(select(PostEdit).where(PostEdit.post_id == post_id).order_by(PostEdit.id))
        return list(rows)


async def _deletable(s: AsyncSession, actor: Account, post_id: int) -> Post:
    """The post, if `actor` may delete it: its author may, and so may the node's moderators
    and admins; NotFound otherwise (whether it exists is not told)."""
    post = await s.get(Post, post_id)
    if post is None:
        raise NotFound("no such post")
    is_staff = actor.domain is None and actor.role in ("moderator", "admin")
    if post.account_id != actor.id and not is_staff:
        raise NotFound("no such post of yours")
    return post


async def deletable(ctx: NodeContext, actor: Account, post_id: int) -> Post:
    """The post `actor` may delete (see `delete_post`), for a page that asks before deleting."""
    async with ctx.db.reader() as s:
        return await _deletable(s, actor, post_id)


async def delete_post(ctx: NodeContext, actor: Account, post_id: int) -> Post:
    """Delete a post: its author may, and so may the node's moderators and admins."""
    async with ctx.db.session() as s:
        post = await _deletable(s, actor, post_id)
        cause = SealCause.AUTHOR_DELETE if post.account_id == actor.id else SealCause.MODERATOR
        events = await post_effects.remove_posts(ctx, s, [post], cause=cause)
    post_effects.publish(ctx, events)
    return post


async def context(
    ctx: NodeContext, viewer: Account | None, post_id: int
) -> tuple[list[Post], list[Post]]:
    """(ancestors oldest first, descendants in thread order) that the viewer may see."""
    async with ctx.db.reader() as s:
        post = await load_visible(ctx, s, viewer, post_id)
        rows = list(
            (
                await s.scalars(
                    select(Post)
                    .where(Post.thread_id == post.thread_id, Post.reblog_of_id.is_(None))
                    .order_by(Post.id)
                    .limit(THREAD_LIMIT)
                )
            ).unique()
        )
        by_id = {p.id: p for p in rows}
        ancestors: list[Post] = []
        cursor = post.in_reply_to_id
        while cursor is not None and cursor in by_id and len(ancestors) < THREAD_LIMIT:
            ancestors.append(by_id[cursor])
            cursor = by_id[cursor].in_reply_to_id
        ancestors.reverse()
        children: dict[int, list[Post]] = {}
        for p in rows:
            if p.in_reply_to_id is not None:
                children.setdefault(p.in_reply_to_id, []).append(p)
        descendants: list[Post] = []
        stack = list(reversed(children.get(post.id, [])))
        while stack:  # depth-first, oldest reply first: the order people read a thread in
            p = stack.pop()
            descendants.append(p)
            stack.extend(reversed(children.get(p.id, [])))
        ancestors = [p for p in ancestors if await viewable(ctx, s, viewer, p)]
        descendants = [p for p in descendants if await viewable(ctx, s, viewer, p)]
    return ancestors, descendants
