"""A community seen as an account, as Mastodon apps see one (they know no communities, only a
`group: true` account, as they see Lemmy's): following it is joining it, and what of it an
anonymous reader of the client API may see is what the open web may (`reachable_by`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from node import communities, follows
from node.context import NodeContext
from storage.errors import NotFound
from storage.models import Account, Community, Follow


async def follow_account(ctx: NodeContext, follower: Account, target_id: int) -> Follow:
    """Follow an account; a community's (here or on a peer) is joined, so a client's follow asks
    the one joining rule (`communities.join`) rather than the account's `locked` flag."""
    async with ctx.db.reader() as s:
        target = await s.get(Account, target_id)
    if target is not None and target.is_group:
        return await communities.join(ctx, follower, target_id)
    return await follows.follow(ctx, follower, target_id)


async def shown(ctx: NodeContext, accounts: Sequence[Account], viewer: Account | None) -> list[Account]:
    """`accounts` less the communities an anonymous reader (`viewer` None: the open web) may not
    see: one of this node's whose audience the policy keeps from the open web, and any peer's
    (its audience is its own node's to judge, and this node does not know it). People, and
    everything for a signed-in person of this node, pass."""
    if viewer is not None or not any(a.is_group for a in accounts):
        return list(accounts)
    ids = [a.id for a in accounts if a.is_group and a.domain is None]
    async with ctx.db.reader() as s:
        rows = {c.account_id: c for c in await s.scalars(select(Community).where(Community.account_id.in_(ids)))}
    return [a for a in accounts if not a.is_group
            or (a.id in rows and communities.reachable_by(ctx, rows[a.id], None).allowed)]


async def check_shown(ctx: NodeContext, account: Account, viewer: Account | None) -> Account:
    """`account`, or 404 (as for a name that does not exist) when `shown` would leave it out."""
    if not await shown(ctx, [account], viewer):
        raise NotFound("Record not found")
    return account
