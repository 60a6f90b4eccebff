"""Conversations: the direct posts an account is part of (as their author or mentioned), one
conversation per thread, the one with the newest message first. The web UI's direct messages
page and the client API's `/api/v1/conversations` read the same list.

A conversation is derived from the posts themselves, so it can never show a direct post to
someone its audience leaves out: membership is the one visibility rule (node/visibility.py)
applied to direct posts. All an account keeps of its own is where it read up to and what it
removed from its list (`ConversationState`); a new message brings a removed one back, as
Mastodon does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from node.audience import Audience
from node.context import NodeContext
from node.mutes import hidden_authors
from node.pagination import Page, bounded
from node.visibility import visible_clause
from storage.errors import NotFound
from storage.models import Account, ConversationState, Mention, Post

MESSAGES_LIMIT = 40  # the messages one conversation page shows


@dataclass(frozen=True)
class Conversation:
    id: int  # the thread's root post id
    last: Post  # the newest direct post of the thread the account may see
    others: list[Account]  # who else is in it (the account itself, when it wrote only to itself)
    unread: bool  # its newest message is someone else's, and the account has not read it


def _key() -> ColumnElement[int]:
    """The conversation a post belongs to: its thread (a root is its own thread)."""
    return func.coalesce(Post.thread_id, Post.id)


def _direct(ctx: NodeContext, account: Account) -> ColumnElement[bool]:
    """SQL: the `Post` is a direct post `account` may see, i.e. wrote or is mentioned in, by
    someone it neither blocks nor mutes (as its timelines leave them out)."""
    # Narrowed first to the account's own posts and those naming it (two index scans, not
    # every direct post of the node); the visibility rule still decides.
    theirs = or_(
        Post.account_id == account.id, Post.id.in_(select(Mention.post_id).where(Mention.account_id == account.id))
    )
    return and_(
        Post.visibility == Audience.DIRECT,
        Post.reblog_of_id.is_(None),
        theirs,
        visible_clause(account, ctx.org_domains()),
        Post.account_id.not_in(hidden_authors(account.id)),
    )


def _listed(ctx: NodeContext, account: Account) -> Select[int, int]:
    """(conversation id, newest message id) of each conversation the account has not removed
    since its newest message."""
    key = _key().label("conversation_id")
    grouped = select(key, func.max(Post.id).label("last_id")).where(_direct(ctx, account)).group_by(key).subquery()
    state = and_(
        ConversationState.account_id == account.id, ConversationState.conversation_id == grouped.c.conversation_id
    )
    return (
        select(grouped.c.conversation_id, grouped.c.last_id)
        .outerjoin(ConversationState, state)
        .where(grouped.c.last_id > func.coalesce(ConversationState.removed_up_to, 0))
    )


async def conversations(ctx: NodeContext, account: Account, page: Page) -> list[Conversation]:
    """The account's conversations, paged by the id of each one's newest message."""
    listed = _listed(ctx, account)
    stmt, oldest_first = bounded(listed, listed.selected_columns.last_id, page)
    async with ctx.db.reader() as s:
        rows = [(int(c), int(last)) for c, last in (await s.execute(stmt)).all()]
        if oldest_first:
            rows.reverse()
        return await _build(ctx, s, account, rows)


async def conversation(ctx: NodeContext, account: Account, conversation_id: int) -> Conversation:
    """One of the account's conversations; NotFound when it is not one (or it removed it)."""
    async with ctx.db.reader() as s:
        return await _one(ctx, s, account, conversation_id)


async def _one(ctx: NodeContext, s: AsyncSession, account: Account, conversation_id: int) -> Conversation:
    listed = _listed(ctx, account)
    stmt = listed.where(listed.selected_columns.conversation_id == conversation_id)
    row = (await s.execute(stmt)).first()
    if row is None:
        raise NotFound("no such conversation")
    return (await _build(ctx, s, account, [(int(row[0]), int(row[1]))]))[0]


async def messages(ctx: NodeContext, account: Account, conversation_id: int, page: Page) -> list[Post]:
    """The direct posts of one conversation the account may see, newest first, one page."""
    await conversation(ctx, account, conversation_id)
    stmt, oldest_first = bounded(select(Post).where(_direct(ctx, account), _key() == conversation_id), Post.id, page)
    async with ctx.db.reader() as s:
        found = list((await s.scalars(stmt)).all())
    return found[::-1] if oldest_first else found


async def mark_read(ctx: NodeContext, account: Account, conversation_id: int) -> Conversation:
    """Mark the conversation read up to its newest message."""
    found = await conversation(ctx, account, conversation_id)
    await _save(ctx, account, conversation_id, read_up_to=found.last.id)
    return Conversation(found.id, found.last, found.others, unread=False)


async def remove(ctx: NodeContext, account: Account, conversation_id: int) -> None:
    """Take the conversation off the account's list until a new message comes. The posts stay:
    they are the other participants' too."""
    found = await conversation(ctx, account, conversation_id)
    await _save(ctx, account, conversation_id, read_up_to=found.last.id, removed_up_to=found.last.id)


async def _save(ctx: NodeContext, account: Account, conversation_id: int, **upto: int) -> None:
    for attempt in range(2):
        try:
            async with ctx.db.session() as s:
                row = await s.get(ConversationState, (account.id, conversation_id))
                if row is None:
                    row = ConversationState(
                        account_id=account.id, conversation_id=conversation_id, read_up_to=0, removed_up_to=0
                    )
                    s.add(row)
                for name, value in upto.items():
                    setattr(row, name, max(getattr(row, name), value))
            return
        except IntegrityError:
            # Another request of the same account made the row first: update it instead.
            if attempt:
                raise


async def _build(
    ctx: NodeContext, s: AsyncSession, account: Account, rows: Sequence[tuple[int, int]]
) -> list[Conversation]:
    """The conversations of `rows` (conversation id, newest message id), each with who is in
    it and whether it is unread: a few queries for the whole page."""
    if not rows:
        return []
    keys = [c for c, _ in rows]
    lasts = {p.id: p for p in (await s.scalars(select(Post).where(Post.id.in_([m for _, m in rows])))).all()}
    in_page = and_(_direct(ctx, account), _key().in_(keys))
    people: dict[int, set[int]] = defaultdict(set)
    for key, author in (await s.execute(select(_key(), Post.account_id).where(in_page).distinct())).all():
        people[int(key)].add(int(author))
    named = aliased(Mention)  # the visibility rule's own sub-select reads Mention: keep them apart
    mentioned = select(_key(), named.account_id).join(named, named.post_id == Post.id).where(in_page).distinct()
    for key, who in (await s.execute(mentioned)).all():
        people[int(key)].add(int(who))
    wanted = {a for ids in people.values() for a in ids}
    accounts = {a.id: a for a in (await s.scalars(select(Account).where(Account.id.in_(wanted)))).all()}
    states = select(ConversationState.conversation_id, ConversationState.read_up_to).where(
        ConversationState.account_id == account.id, ConversationState.conversation_id.in_(keys)
    )
    read = {int(key): int(upto) for key, upto in (await s.execute(states)).all()}
    out = []
    for key, last_id in rows:
        last = lasts[last_id]
        others = sorted(people[key] - {account.id}) or [account.id]
        unread = last.account_id != account.id and last_id > read.get(key, 0)
        out.append(Conversation(key, last, [accounts[a] for a in others if a in accounts], unread))
    return out
