"""Inbound Block, Flag (reports to this node's moderators) and Move."""

from __future__ import annotations

import json

from sqlalchemy import select

from federation.gate import Purpose
from federation.parsing import IncomingActivity, InvalidActivity
from federation.vocab import as_list, id_of
from node import follows, remote
from node.accounts import find_local
from node.blocks import sever
from node.context import NodeContext
from node.inbox.follows import local_username
from node.moderation import next_report_number
from storage.errors import Forbidden
from storage.models import Account, Block, Follow, Post, Report, utcnow

MAX_FLAG_OBJECTS = 50  # a report names one account and some of its posts


async def on_block(ctx: NodeContext, activity: IncomingActivity, actor: Account) -> str:

    name = local_username(ctx, activity.object_id)
    if name is None:
        return "ignored: not an account of this node"
    async with ctx.db.session() as s:
        target = await find_local(s, name)
        if target is None:
            return "ignored: no such local account"
        if await s.scalar(select(Block.id).where(Block.account_id == actor.id, Block.target_id == target.id)) is None:
            s.add(Block(account_id=actor.id, target_id=target.id, uri=activity.id, created_at=utcnow()))
        await sever(s, actor.id, target.id)
    return "done"


async def on_flag(ctx: NodeContext, activity: IncomingActivity, actor: Account) -> str:
    """A peer's report (Mastodon's forwarded report: a Flag from its instance actor): kept for
    this node's moderators, about one local account and those of its posts named. A Flag that
    names no account or post of this node is refused; posts of anyone but the reported account,
    and what other nodes hold, are left out."""

    objects = [x for x in (id_of(o) for o in as_list(activity.raw.get("object"))[:MAX_FLAG_OBJECTS]) if x]
    target: Account | None = None
    posts: list[Post] = []
    async with ctx.db.session() as s:
        for uri in objects:
            name = local_username(ctx, uri)
            if name is not None:
                target = target or await find_local(s, name)
                continue
            post = await s.scalar(select(Post).where(Post.uri == uri, Post.local.is_(True)))
            if post is not None:
                posts.append(post)
        if target is None and posts:
            target = await s.get(Account, posts[0].account_id)
        if target is None:
            return "refused: the report names nobody on this node"
        content = activity.raw.get("content")
        s.add(
            Report(
                number=await next_report_number(s),
                reporter_id=actor.id,
                target_id=target.id,
                post_ids=json.dumps([p.id for p in posts if p.account_id == target.id]),
                comment=content[:5000] if isinstance(content, str) else "",
                uri=activity.id,
                resolved=False,
                created_at=utcnow(),
            )
        )
    return "done"


async def on_move(ctx: NodeContext, activity: IncomingActivity, actor: Account) -> str:
    """An account moved: verified by the new account listing the old one in `alsoKnownAs`
    (fetched from the new account's own server), then local followers follow the new one.

    The fetch goes through the outbound gate, so a target on a host the policy does not admit
    is refused (and audited) before any connection; a refused or failed fetch raises a
    FetchError, which the inbox worker records as the activity's refusal (node.inbox)."""

    if activity.object_id != actor.actor_uri:
        raise Forbidden("an actor may move only itself")
    target_uri = id_of(activity.raw.get("target"))
    if target_uri is None:
        raise InvalidActivity("Move names no target")
    fetcher = ctx.fetcher
    if fetcher is None:
        return "ignored: this node does not federate"
    document = await fetcher.fetch_object(target_uri, purpose=Purpose.MOVE_CHECK)
    if actor.actor_uri not in [x for x in as_list(document.get("alsoKnownAs")) if isinstance(x, str)]:
        raise Forbidden("the new account does not list the old one in alsoKnownAs")
    new_account = await remote.actor_from_document(ctx, target_uri, document)
    async with ctx.db.reader() as s:
        follower_ids = (
            await s.scalars(
                select(Follow.follower_id)
                .join(Account, Account.id == Follow.follower_id)
                .where(Follow.target_id == actor.id, Follow.state == "accepted", Account.domain.is_(None))
            )
        ).all()
        locals_ = list(await s.scalars(select(Account).where(Account.id.in_(follower_ids))))
    for follower in locals_:
        await follows.follow(ctx, follower, new_account.id)
        await follows.unfollow(ctx, follower, actor.id)
    return f"done: {len(locals_)} followers moved"
