"""Posts: write (with mentions, hashtags, replies, content warnings), edit with history,
delete, read with the viewer's rights, thread context."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, insert, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from node import text
from node.audience import Audience
from node.context import NodeContext
from node.domains import canonical_domain
from node.events import Event
from node.fanout import fan_out_home
from node.federate import queue_fanout
from node.notifications import notify
from node.queues import PostCreated, PostDeleted, PostEdited, Unboosted
from node.visibility import can_view
from storage.db import insert_ignoring_conflicts
from storage.errors import Forbidden, Invalid, NotFound
from storage.ids import new_id
from storage.models import Account, Follow, Mention, Post, PostEdit, PostTag, Tag, utcnow

MAX_SUMMARY = 500
THREAD_LIMIT = 500


@dataclass(frozen=True)
class NewPost:
    text: str
    visibility: str = Audience.PUBLIC
    summary: str = ""
    sensitive: bool = False
    in_reply_to_id: int | None = None
    language: str | None = None


def _check(ctx: NodeContext, body: str, summary: str) -> None:
    if not body.strip():
        raise Invalid("a post needs some text")
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


async def store_tags(s: AsyncSession, post_id: int, names: tuple[str, ...]) -> None:
    names = tuple(n[:255] for n in names[:30])
    if not names:
        return
    await s.execute(insert_ignoring_conflicts(s, Tag).values([{"id": new_id(), "name": n} for n in names]))
    tag_ids = (await s.scalars(select(Tag.id).where(Tag.name.in_(names)))).all()
    await s.execute(
        insert_ignoring_conflicts(s, PostTag).values([{"post_id": post_id, "tag_id": t} for t in tag_ids])
    )


async def follows(s: AsyncSession, follower_id: int, target_id: int) -> bool:
    return bool(
        await s.scalar(
            select(Follow.id).where(
                Follow.follower_id == follower_id,
                Follow.target_id == target_id,
                Follow.state == "accepted",
            )
        )
    )


async def is_mentioned(s: AsyncSession, post_id: int, account_id: int) -> bool:
    return bool(
        await s.scalar(
            select(Mention.post_id).where(Mention.post_id == post_id, Mention.account_id == account_id)
        )
    )


async def author_suspended(s: AsyncSession, post: Post) -> bool:
    # The author is usually loaded with the post (joined); a post made in this session is not.
    author = inspect(post).attrs.account.loaded_value
    if isinstance(author, Account):
        return author.suspended
    return bool(await s.scalar(select(Account.suspended).where(Account.id == post.account_id)))


async def viewable(ctx: NodeContext, s: AsyncSession, viewer: Account | None, post: Post) -> bool:
    if await author_suspended(s, post):  # staff moderation (node/moderation.py)
        return False
    if viewer is not None and viewer.id == post.account_id:
        return True
    return can_view(
        viewer,
        post,
        follows_author=viewer is not None and await follows(s, viewer.id, post.account_id),
        mentioned=viewer is not None and await is_mentioned(s, post.id, viewer.id),
        org_domains=ctx.org_domains(),
    )


async def load_visible(ctx: NodeContext, s: AsyncSession, viewer: Account | None, post_id: int) -> Post:
    """The post if the viewer may see it; otherwise NotFound, so existence is not revealed."""
    post = await s.get(Post, post_id)
    if post is None or not await viewable(ctx, s, viewer, post):
        raise NotFound("no such post")
    return post


async def get_post(ctx: NodeContext, viewer: Account | None, post_id: int) -> Post:
    async with ctx.db.reader() as s:
        return await load_visible(ctx, s, viewer, post_id)


async def create_post(ctx: NodeContext, author: Account, new: NewPost) -> Post:
    if author.domain is not None:
        raise Forbidden("only local accounts post through this node")
    if author.disabled:
        raise Forbidden("this account is disabled")
    asked = Audience.parse(new.visibility)
    _check(ctx, new.text, new.summary)
    parsed = text.parse(new.text)
    async with ctx.db.session() as s:
        visibility = asked
        parent: Post | None = None
        if new.in_reply_to_id is not None:
            parent = await load_visible(ctx, s, author, new.in_reply_to_id)
            if parent.reblog_of_id is not None:
                raise Invalid("reply to the boosted post, not to the boost")
            # A reply to an inward-facing post never reaches further than its parent did.
            visibility = Audience(parent.visibility).reply_audience(visibility)
        mentioned = await _resolve_mentions(ctx, s, parsed.mentions)
        post_id = new_id()
        post = Post(
            id=post_id,
            account_id=author.id,
            local=True,
            uri=ctx.post_uri(author.username, post_id),
            url=ctx.post_url(author.username, post_id),
            source=new.text,
            content_html=_render(ctx, new.text, mentioned),
            summary=new.summary,
            sensitive=new.sensitive or bool(new.summary),
            visibility=visibility,
            language=new.language,
            in_reply_to_id=parent.id if parent else None,
            in_reply_to_uri=parent.uri if parent else None,
            in_reply_to_account_id=parent.account_id if parent else None,
            thread_id=(parent.thread_id or parent.id) if parent else post_id,
            replies_count=0,
            likes_count=0,
            boosts_count=0,
            created_at=utcnow(),
        )
        s.add(post)
        await s.flush()
        mentioned_accounts = {a.id: a for a in mentioned.values() if a.id != author.id}
        if mentioned_accounts:
            await s.execute(
                insert(Mention), [{"post_id": post_id, "account_id": a} for a in mentioned_accounts]
            )
        await store_tags(s, post_id, parsed.tags)
        if parent is not None:
            await s.execute(
                update(Post).where(Post.id == parent.id).values(replies_count=Post.replies_count + 1)
            )
        await fan_out_home(s, post, list(mentioned_accounts))
        replied_to = parent.account if parent is not None else None
        if replied_to is not None and replied_to.id != author.id and await viewable(ctx, s, replied_to, post):
            await notify(s, replied_to, "reply", author.id, post_id)
        for account in mentioned_accounts.values():
            if replied_to is None or account.id != replied_to.id:
                await notify(s, account, "mention", author.id, post_id)
        if visibility.federates:
            await queue_fanout(s, PostCreated(post_id))
    ctx.events.publish(Event("post", post_id=post.id))
    return post


async def edit_post(
    ctx: NodeContext,
    editor: Account,
    post_id: int,
    new_text: str,
    *,
    summary: str | None = None,
    sensitive: bool | None = None,
) -> Post:
    """Change a post's text (and content warning), keeping the previous version in its history."""
    _check(ctx, new_text, summary or "")
    parsed = text.parse(new_text)
    async with ctx.db.session() as s:
        post = await s.get(Post, post_id)
        if post is None or post.account_id != editor.id:
            raise NotFound("no such post of yours")
        if post.reblog_of_id is not None:
            raise Invalid("a boost cannot be edited")
        s.add(
            PostEdit(
                post_id=post.id,
                source=post.source,
                content_html=post.content_html,
                summary=post.summary,
                sensitive=post.sensitive,
                created_at=post.edited_at or post.created_at,
            )
        )
        mentioned = await _resolve_mentions(ctx, s, parsed.mentions)
        before = set((await s.scalars(select(Mention.account_id).where(Mention.post_id == post.id))).all())
        added = {a.id: a for a in mentioned.values() if a.id != editor.id and a.id not in before}
        if added:
            await s.execute(insert(Mention), [{"post_id": post.id, "account_id": a} for a in added])
            await fan_out_home(s, post, list(added), followers=False)
            for account in added.values():
                await notify(s, account, "mention", editor.id, post.id)
        await s.execute(delete(PostTag).where(PostTag.post_id == post.id))
        await store_tags(s, post.id, parsed.tags)
        post.source = new_text
        post.content_html = _render(ctx, new_text, mentioned)
        if summary is not None:
            post.summary = summary
        if sensitive is not None or summary is not None:
            post.sensitive = bool(sensitive) or bool(post.summary)
        post.edited_at = utcnow()
        if Audience(post.visibility).federates:
            await queue_fanout(s, PostEdited(post.id))
    ctx.events.publish(Event("edit", post_id=post.id))
    return post


async def history(ctx: NodeContext, viewer: Account | None, post_id: int) -> list[PostEdit]:
    """Earlier versions, oldest first (the current version is the post itself)."""
    async with ctx.db.reader() as s:
        await load_visible(ctx, s, viewer, post_id)
        rows = await s.scalars(select(PostEdit).where(PostEdit.post_id == post_id).order_by(PostEdit.id))
        return list(rows)


async def delete_post(ctx: NodeContext, actor: Account, post_id: int) -> Post:
    """Delete a post: its author may, and so may the node's moderators and admins."""
    async with ctx.db.session() as s:
        post = await s.get(Post, post_id)
        if post is None:
            raise NotFound("no such post")
        is_staff = actor.domain is None and actor.role in ("moderator", "admin")
        if post.account_id != actor.id and not is_staff:
            raise NotFound("no such post of yours")
        if post.in_reply_to_id is not None:
            await s.execute(
                update(Post)
                .where(Post.id == post.in_reply_to_id, Post.replies_count > 0)
                .values(replies_count=Post.replies_count - 1)
            )
        if post.reblog_of_id is not None:
            await s.execute(
                update(Post)
                .where(Post.id == post.reblog_of_id, Post.boosts_count > 0)
                .values(boosts_count=Post.boosts_count - 1)
            )
            if post.local:
                await queue_fanout(s, Unboosted(post.account_id, post.reblog_of_id, post.uri or ""))
        elif post.local and Audience(post.visibility).federates:
            mention_ids = (await s.scalars(select(Mention.account_id).where(Mention.post_id == post.id))).all()
            await queue_fanout(s, PostDeleted(post.uri or "", post.account_id, post.visibility, tuple(mention_ids)))
        await s.delete(post)
    ctx.events.publish(Event("delete", post_id=post.id, deleted=post))
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
