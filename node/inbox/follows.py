"""Inbound Follow, Accept, Reject."""

from __future__ import annotations

from sqlalchemy import select

from federation.parsing import IncomingActivity
from federation.vocab import id_of
from node.accounts import find_local
from node.context import NodeContext
from node.follows import answer_remote
from node.notifications import notify
from node.trust import Trust
from storage.models import Account, Follow, utcnow


def local_username(ctx: NodeContext, uri: str | None) -> str | None:
    prefix = f"{ctx.base_url}/users/"
    if uri and uri.startswith(prefix):
        rest = uri[len(prefix):]
        if rest and "/" not in rest and "#" not in rest:
            return rest
    return None


async def on_follow(ctx: NodeContext, activity: IncomingActivity, actor: Account) -> str:

    username = local_username(ctx, activity.object_id)
    if username is None:
        return "ignored: the Follow is not for an account on this node"
    trust, _ = ctx.policy().trust_of(actor.domain or "")
    async with ctx.db.session() as s:
        target = await find_local(s, username)
        if target is None or target.disabled:
            return "ignored: no such local account"
        f = await s.scalar(select(Follow).where(Follow.follower_id == actor.id, Follow.target_id == target.id))
        if f is None:
            # `limited` peers' follows always need approval.
            state = "pending" if target.locked or trust is Trust.LIMITED else "accepted"
            f = Follow(follower_id=actor.id, target_id=target.id, state=state, uri=activity.id, created_at=utcnow())
            s.add(f)
            await s.flush()
            await notify(s, target, "follow" if state == "accepted" else "follow_request", actor.id)
        else:
            f.uri = activity.id  # a repeated Follow: answer the newest one
        if f.state == "accepted":
            await answer_remote(ctx, s, f, actor, target, "Accept")
        return "done"


async def _our_follow(ctx: NodeContext, activity: IncomingActivity, actor: Account) -> Follow | None:
    """The Follow this node sent to `actor` that an Accept or Reject answers."""
    follow_id = activity.object_id
    async with ctx.db.reader() as s:
        f = None
        if follow_id:
            f = await s.scalar(select(Follow).where(Follow.uri == follow_id, Follow.target_id == actor.id))
        if f is None and activity.object is not None:
            # Some servers answer with a Follow object of their own shape: match by the pair.
            follower = local_username(ctx, id_of(activity.object.get("actor")))
            if follower:

                local = await find_local(s, follower)
                if local is not None:
                    f = await s.scalar(select(Follow).where(Follow.follower_id == local.id, Follow.target_id == actor.id))
    return f


async def _settle(ctx: NodeContext, activity: IncomingActivity, actor: Account, *, accepted: bool) -> str:
    """An Accept or Reject of a Follow this node sent: the follow is now on, or is gone."""
    f = await _our_follow(ctx, activity, actor)
    if f is None:
        return "ignored: it answers no Follow this node sent to that actor"
    async with ctx.db.session() as s:
        row = await s.get(Follow, f.id)
        if row is not None and accepted:
            row.state = "accepted"
        elif row is not None:
            await s.delete(row)
    return "done"


async def on_accept(ctx: NodeContext, activity: IncomingActivity, actor: Account) -> str:
    return await _settle(ctx, activity, actor, accepted=True)


async def on_reject(ctx: NodeContext, activity: IncomingActivity, actor: Account) -> str:
    return await _settle(ctx, activity, actor, accepted=False)
