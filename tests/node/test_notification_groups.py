"""Group keys as Mastodon 4.3 gives them (node/notification_groups.py): likes of one post within
twelve hours of the group's start share a key, a later one starts a new group, other posts and
other kinds are groups of their own; and what a person keeps out (a blocked domain, a post they
may no longer see) is in no group."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from node import domain_blocks, follows, interactions, notification_groups, posts
from node.audience import Audience
from node.context import NodeContext
from node.notifications import notify
from node.pagination import Page
from node.posts import NewPost
from storage.models import Account

ALL = frozenset(notification_groups.GROUPABLE)


async def _key(ctx: NodeContext, recipient: Account, kind: str, post_id: int | None, at: datetime, n: int) -> str:
    async with ctx.db.session() as s:
        return await notification_groups.group_key(s, recipient.id, kind, post_id, at, n)


async def test_likes_within_twelve_hours_of_the_groups_start_share_its_key(
    ctx: NodeContext, alice: Account, bob: Account, carol: Account
) -> None:
    # Given alice's post liked by bob (a group starting this hour)
    post = await posts.create_post(ctx, alice, NewPost("liked over a day"))
    await interactions.like(ctx, bob, post.id)
    [group] = await notification_groups.page(ctx, alice, Page(), None, ALL)
    start = int(group.key.rsplit("-", 1)[1])
    base = datetime.fromtimestamp(start * 3600, UTC)
    # Then a like eleven hours later joins it; twelve hours later starts a new one
    assert await _key(ctx, alice, "like", post.id, base + timedelta(hours=11, minutes=59), 1) == group.key
    assert await _key(ctx, alice, "like", post.id, base + timedelta(hours=12), 2) == f"favourite-{post.id}-{start + 12}"
    # ... a like of another post, a boost and a mention are other groups
    assert await _key(ctx, alice, "like", post.id + 1, base, 3) == f"favourite-{post.id + 1}-{start}"
    assert await _key(ctx, alice, "boost", post.id, base, 4) == f"reblog-{post.id}-{start}"
    assert await _key(ctx, alice, "mention", post.id, base, 5) == "ungrouped-5"


async def test_a_blocked_domain_and_an_unseeable_post_are_in_no_group(
    ctx: NodeContext, alice: Account, bob: Account, sam_at_sales: Account
) -> None:
    # Given follows of alice by bob and by sam (on sales), and a notification of alice's about
    # bob's followers-only post, which she no longer may see once she stops following him
    await follows.follow(ctx, bob, alice.id)
    async with ctx.db.session() as s:
        await notify(s, alice, "follow", sam_at_sales.id)
    await follows.follow(ctx, alice, bob.id)
    hidden = await posts.create_post(ctx, bob, NewPost("followers only", visibility=Audience.FOLLOWERS))
    async with ctx.db.session() as s:
        await notify(s, alice, "like", bob.id, hidden.id)  # as if about a post she could see then
    await follows.unfollow(ctx, alice, bob.id)
    # When alice blocks sales
    await domain_blocks.block(ctx, alice, sam_at_sales.domain)
    # Then only bob's follow is left: sam's is gone, the like of a post she cannot see is not shown
    groups = await notification_groups.page(ctx, alice, Page(), None, ALL)
    assert [(g.type, g.sample_account_ids) for g in groups] == [("follow", [bob.id])]
    assert await notification_groups.unread_count(ctx, alice, 100, None, ALL) == 1
