"""Local fan-out: which home timelines on this node a new post (or boost) lands in: the
author's (a local author's: a peer's account has no home here), local followers', mentioned local accounts' and those of local accounts following
one of its hashtags (when the post is listed and they may see it).

One INSERT … SELECT per post, whatever the follower count: the database does the loop.
Remote recipients are the federation layer's business (delivery), not this module's.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import BigInteger, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.audience import audience_of
from storage.db import inserting_ignored
from storage.models import Account, Block, Follow, FollowedTag, Mute, Post, PostTag, TimelineEntry

# The statements are built once per dialect, with bound parameters, and run on the session's
# connection (Core): building and caching-keying them for every post, and the ORM's handling of
# a plain INSERT, cost more than the database's work (the inbound benchmark's profile).
_POST = bindparam("post_id", type_=BigInteger)
_AUTHOR = bindparam("author_id", type_=BigInteger)
_COLUMNS = ["account_id", "post_id", "author_id"]


_LOCAL_MENTIONED = select(Account.id).where(Account.id.in_(bindparam("ids", expanding=True)), Account.domain.is_(None))


@cache
def _followers(dialect: str, boost: bool) -> Any:
    local_followers = (
        select(Follow.follower_id, _POST, _AUTHOR)
        .join(Account, Account.id == Follow.follower_id)
        .where(Follow.target_id == _AUTHOR, Follow.state == "accepted", Account.domain.is_(None))
    )
    if boost:
        # A boost does not repeat a post the follower already has at home.
        already = select(TimelineEntry.account_id).where(
            TimelineEntry.post_id == bindparam("reblog_of_id", type_=BigInteger))
        local_followers = local_followers.where(Follow.follower_id.not_in(already))
    return inserting_ignored(dialect, TimelineEntry).from_select(_COLUMNS, local_followers)


@cache
def _tag_followers(dialect: str) -> Any:
    follower = FollowedTag.account_id
    shunned = select(Block.account_id).where(Block.target_id == _AUTHOR).union(
        select(Mute.account_id).where(Mute.target_id == _AUTHOR),
        select(Block.target_id).where(Block.account_id == _AUTHOR),
    )
    tag_followers = (
        select(follower, _POST, _AUTHOR)
        .distinct()
        .join(PostTag, PostTag.tag_id == FollowedTag.tag_id)
        .where(PostTag.post_id == _POST, follower != _AUTHOR, follower.not_in(shunned))
    )
    return inserting_ignored(dialect, TimelineEntry).from_select(_COLUMNS, tag_followers)


async def fan_out_home(
    s: AsyncSession, post: Post, mentioned_ids: Sequence[int], *, followers: bool = True, tagged: bool = True
) -> None:
    """Write home-timeline entries for the author (when local), local followers and mentioned local accounts
    (`tagged=False`: the post has no hashtags, so no tag's followers to look for)."""
    await s.flush()  # the statements below run on the connection: what the session holds goes first
    conn = await s.connection()
    dialect = conn.dialect.name
    ids = {"post_id": post.id, "author_id": post.account_id}
    # The author's own home, when the author is one of ours: a peer's account has no home here
    # (its entries were never read, and cost every inbound post a row and a statement).
    rows = [{"account_id": post.account_id, **ids}] if followers and post.local else []
    if mentioned_ids:
        local_mentioned = (await conn.execute(_LOCAL_MENTIONED, {"ids": list(mentioned_ids)})).scalars()
        rows += [{"account_id": a, **ids} for a in local_mentioned]
    if rows:
        await conn.execute(inserting_ignored(dialect, TimelineEntry), rows)
    if followers and audience_of(post.visibility).rules.to_followers:
        boost = post.reblog_of_id is not None
        await conn.execute(_followers(dialect, boost), ids | ({"reblog_of_id": post.reblog_of_id} if boost else {}))
    if followers and post.reblog_of_id is None and tagged:
        await _fan_out_tags(s, post)


async def _fan_out_tags(s: AsyncSession, post: Post) -> None:
    """Home entries for local accounts following one of the post's tags (stored before this
    runs), as Mastodon: only a listed post a local user may see without following or being
    mentioned, and not for someone who blocks or mutes the author or whom the author blocks."""
    audience = audience_of(post.visibility)
    if not (audience.rules.listed and audience.may_see(
        follower=False, mentioned=False, in_organization=True, local_user=True, local_post=post.local
    )):
        return
    conn = await s.connection()
    await conn.execute(_tag_followers(conn.dialect.name), {"post_id": post.id, "author_id": post.account_id})
