"""Follows between accounts: request, approve (locked accounts), reject, unfollow, lists."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from federation import builders
from node import audit
from node.actors import account_uri
from node.audience import Audience
from node.blocks import is_blocked
from node.context import NodeContext
from node.notifications import notify
from node.outbox import send_one
from node.pagination import Page, accounts_page
from storage.errors import Forbidden, Invalid, NotFound
from storage.ids import new_id
from storage.models import Account, Follow, Post, TimelineEntry, utcnow

# How many of the followed account's recent posts a new follow brings into the home timeline.
BACKFILL = 40


async def backfill_home(s: AsyncSession, follower: Account, target: Account) -> None:
    if follower.domain is not None:
        return
    recent = (
        await s.scalars(
            select(Post.id)
            .where(
                Post.account_id == target.id,
                Post.visibility.in_(Audience.where(lambda a: a.rules.to_followers)),
            )
            .order_by(Post.id.desc())
            .limit(BACKFILL)
        )
    ).all()
    have = set(
        (
            await s.scalars(
                select(TimelineEntry.post_id).where(
                    TimelineEntry.account_id == follower.id, TimelineEntry.post_id.in_(recent)
                )
            )
        ).all()
    )
    for post_id in recent:
        if post_id not in have:
            s.add(TimelineEntry(account_id=follower.id, post_id=post_id, author_id=target.id))


async def follow(ctx: NodeContext, follower: Account, target_id: int) -> Follow:
    """Follow `target_id`: accepted at once, or pending when the target is locked."""
    async with ctx.db.session() as s:
        target = await s.get(Account, target_id)
        if target is None or target.disabled:
            raise NotFound("no such account")
        if target.id == follower.id:
            raise Invalid("you cannot follow yourself")
        if target.is_group and target.domain is None:
            # Joining asks the community's rule (audience, mode, invitation), not `locked`:
            # node/community_accounts.py `follow_account` is the door for any account.
            raise Forbidden("a community is joined, not followed")
        if await is_blocked(s, target.id, follower.id) or await is_blocked(s, follower.id, target.id):
            raise Forbidden("a block stands between these accounts")
        existing = await s.scalar(
            select(Follow).where(Follow.follower_id == follower.id, Follow.target_id == target.id)
        )
        if existing is not None:
            return existing
        if target.domain is None:
            state = "pending" if target.locked else "accepted"
            f = Follow(follower_id=follower.id, target_id=target.id, state=state, created_at=utcnow())
            s.add(f)
            await s.flush()
            if state == "accepted":
                await backfill_home(s, follower, target)
                await notify(s, target, "follow", follower.id)
            else:
                await notify(s, target, "follow_request", follower.id)
            return f
        decision = ctx.policy().outbound(Audience.DIRECT, target.domain)
        if decision.allowed:
            # A remote follow stays pending until the peer's Accept arrives.
            follow_id = new_id()
            f = Follow(
                id=follow_id,
                follower_id=follower.id,
                target_id=target.id,
                state="pending",
                uri=f"{ctx.base_url}/follows/{follow_id}",
                created_at=utcnow(),
            )
            s.add(f)
            await s.flush()
            await send_one(ctx, s, target, _follow_activity(ctx, f, follower, target), follower, f.uri or "")
            return f
        # Refused: audited in this transaction, which commits before the refusal is raised.
        await audit.record(s, direction="out", peer=target.domain, obj=target.actor_uri or "",
                           decision="refused", rule=decision.rule, reason=f"follow: {decision.reason}")
    raise Forbidden(f"this node's policy does not admit {target.domain}")


def _follow_activity(ctx: NodeContext, f: Follow, follower: Account, target: Account) -> dict[str, object]:
    return builders.activity("Follow", f.uri or "", account_uri(ctx, follower), account_uri(ctx, target))


async def unfollow(ctx: NodeContext, follower: Account, target_id: int) -> None:
    """Stop following (or withdraw a request); the target's posts leave the home timeline."""
    async with ctx.db.session() as s:
        f = await s.scalar(select(Follow).where(Follow.follower_id == follower.id, Follow.target_id == target_id))
        target = await s.get(Account, target_id)
        if f is not None and target is not None and target.domain is not None and f.uri:
            follow = _follow_activity(ctx, f, follower, target)
            undo = builders.activity("Undo", f"{f.uri}/undo", account_uri(ctx, follower), follow)
            await send_one(ctx, s, target, undo, follower, f.uri)
        await s.execute(
            delete(Follow).where(Follow.follower_id == follower.id, Follow.target_id == target_id)
        )
        await s.execute(
            delete(TimelineEntry).where(
                TimelineEntry.account_id == follower.id, TimelineEntry.author_id == target_id
            )
        )


async def _pending(s: AsyncSession, target: Account, follower_id: int) -> Follow:
    f = await s.scalar(
        select(Follow).where(
            Follow.follower_id == follower_id,
            Follow.target_id == target.id,
            Follow.state == "pending",
        )
    )
    if f is None:
        raise NotFound("no such follow request")
    return f


async def answer_remote(
    ctx: NodeContext, s: AsyncSession, f: Follow, follower: Account, target: Account, kind: str
) -> None:
    """Send Accept or Reject for a remote account's Follow of a local one."""
    if follower.domain is None or not f.uri:
        return
    follow = builders.activity("Follow", f.uri, account_uri(ctx, follower), account_uri(ctx, target))
    # One answer id per Follow activity, not per follow row: a peer that sends a new Follow (its
    # first answer lost, or re-following) dedupes by id and would drop a reused one unread.
    answer_id = f"{ctx.actor_uri(target.username)}#{kind.lower()}s/{f.id}-{hashlib.sha256(f.uri.encode()).hexdigest()[:16]}"
    answer = builders.activity(kind, answer_id, account_uri(ctx, target), follow)
    await send_one(ctx, s, follower, answer, target, f.uri)


async def approve(ctx: NodeContext, target: Account, follower_id: int) -> Follow:
    async with ctx.db.session() as s:
        f = await _pending(s, target, follower_id)
        f.state = "accepted"
        follower = await s.get(Account, follower_id)
        assert follower is not None
        await backfill_home(s, follower, target)
        await notify(s, target, "follow", follower.id)
        await answer_remote(ctx, s, f, follower, target, "Accept")
        return f


async def reject(ctx: NodeContext, target: Account, follower_id: int) -> None:
    async with ctx.db.session() as s:
        f = await _pending(s, target, follower_id)
        follower = await s.get(Account, follower_id)
        if follower is not None:
            await answer_remote(ctx, s, f, follower, target, "Reject")
        await s.delete(f)


async def remove_follower(ctx: NodeContext, target: Account, follower_id: int) -> None:
    """The followed side ends a follow (Mastodon's "remove from followers")."""
    async with ctx.db.session() as s:
        await s.execute(
            delete(Follow).where(Follow.follower_id == follower_id, Follow.target_id == target.id)
        )
        await s.execute(
            delete(TimelineEntry).where(
                TimelineEntry.account_id == follower_id, TimelineEntry.author_id == target.id
            )
        )


async def relationship(ctx: NodeContext, viewer: Account, other_id: int) -> dict[str, bool]:
    async with ctx.db.reader() as s:
        rows = (
            await s.execute(
                select(Follow.follower_id, Follow.state).where(
                    ((Follow.follower_id == viewer.id) & (Follow.target_id == other_id))
                    | ((Follow.follower_id == other_id) & (Follow.target_id == viewer.id))
                )
            )
        ).all()
    out = {"following": False, "requested": False, "followed_by": False}
    for follower_id, state in rows:
        if follower_id == viewer.id:
            out["following" if state == "accepted" else "requested"] = True
        elif state == "accepted":
            out["followed_by"] = True
    return out


async def followers(ctx: NodeContext, account_id: int, page: Page) -> list[Account]:
    rows = await _people_page(ctx, Follow.follower_id, Follow.target_id, account_id, "accepted", page)
    return [a for _, a in rows]


async def following(ctx: NodeContext, account_id: int, page: Page) -> list[Account]:
    rows = await _people_page(ctx, Follow.target_id, Follow.follower_id, account_id, "accepted", page)
    return [a for _, a in rows]


async def follow_requests(ctx: NodeContext, account: Account, page: Page) -> list[Account]:
    rows = await _people_page(ctx, Follow.follower_id, Follow.target_id, account.id, "pending", page)
    return [a for _, a in rows]


async def _people_page(
    ctx: NodeContext,
    other_col: InstrumentedAttribute[Any],
    self_col: InstrumentedAttribute[Any],
    account_id: int,
    state: str,
    page: Page,
) -> list[tuple[int, Account]]:
    # Page by the follow's id (its creation order), return the accounts on the other side.
    stmt = select(Follow).where(self_col == account_id, Follow.state == state)
    async with ctx.db.reader() as s:
        return await accounts_page(s, stmt, Follow.id, page, lambda f: getattr(f, other_col.key))


async def followers_page(ctx: NodeContext, account_id: int, page: Page) -> list[tuple[int, Account]]:
    """Followers with the id of each follow, the cursor a client pages by."""
    return await _people_page(ctx, Follow.follower_id, Follow.target_id, account_id, "accepted", page)


async def following_page(ctx: NodeContext, account_id: int, page: Page) -> list[tuple[int, Account]]:
    return await _people_page(ctx, Follow.target_id, Follow.follower_id, account_id, "accepted", page)


async def requests_page(ctx: NodeContext, account: Account, page: Page) -> list[tuple[int, Account]]:
    return await _people_page(ctx, Follow.follower_id, Follow.target_id, account.id, "pending", page)
