"""Follows (with approval), likes, boosts and the notifications they cause."""

from __future__ import annotations

import pytest

from node import follows, interactions, notifications, posts, timelines
from node.context import NodeContext
from node.pagination import Page
from node.posts import NewPost
from storage.errors import Invalid, NotFound
from storage.models import Account


async def kinds(ctx: NodeContext, account: Account) -> list[str]:
    return [n.type for n in await notifications.list_notifications(ctx, account.id, Page())]


async def test_follow_an_open_account_is_immediate_and_notifies(ctx: NodeContext, alice: Account, bob: Account) -> None:
    f = await follows.follow(ctx, bob, alice.id)
    assert f.state == "accepted"
    assert await kinds(ctx, alice) == ["follow"]
    assert await follows.relationship(ctx, bob, alice.id) == {"following": True, "requested": False, "followed_by": False}
    assert [a.id for a in await follows.followers(ctx, alice.id, Page())] == [bob.id]
    assert [a.id for a in await follows.following(ctx, bob.id, Page())] == [alice.id]


async def test_following_twice_is_one_follow(ctx: NodeContext, alice: Account, bob: Account) -> None:
    first = await follows.follow(ctx, bob, alice.id)
    second = await follows.follow(ctx, bob, alice.id)
    assert first.id == second.id and await kinds(ctx, alice) == ["follow"]


async def test_locked_account_approves_followers(ctx: NodeContext, make_account, bob: Account, carol: Account) -> None:  # type: ignore[no-untyped-def]
    # Given a locked account with a followers-only post
    lena = await make_account("lena", locked=True)
    private = await posts.create_post(ctx, lena, NewPost("for followers", visibility="followers"))
    # When bob and carol ask to follow
    assert (await follows.follow(ctx, bob, lena.id)).state == "pending"
    await follows.follow(ctx, carol, lena.id)
    # Then lena is asked, and until she approves nobody sees the post
    assert await kinds(ctx, lena) == ["follow_request", "follow_request"]
    assert {a.id for a in await follows.follow_requests(ctx, lena, Page())} == {bob.id, carol.id}
    with pytest.raises(NotFound):
        await posts.get_post(ctx, bob, private.id)
    # When she approves bob and rejects carol
    await follows.approve(ctx, lena, bob.id)
    await follows.reject(ctx, lena, carol.id)
    # Then bob sees the post (and has it at home), carol does not
    assert (await posts.get_post(ctx, bob, private.id)).id == private.id
    assert [p.id for p in await timelines.home(ctx, bob, Page())] == [private.id]
    with pytest.raises(NotFound):
        await posts.get_post(ctx, carol, private.id)
    assert await follows.follow_requests(ctx, lena, Page()) == []
    with pytest.raises(NotFound):
        await follows.approve(ctx, lena, carol.id)


async def test_cannot_follow_yourself(ctx: NodeContext, alice: Account) -> None:
    with pytest.raises(Invalid):
        await follows.follow(ctx, alice, alice.id)


async def test_unfollow_removes_posts_from_home(ctx: NodeContext, alice: Account, bob: Account) -> None:
    await follows.follow(ctx, bob, alice.id)
    p = await posts.create_post(ctx, alice, NewPost("hello followers"))
    assert [x.id for x in await timelines.home(ctx, bob, Page())] == [p.id]
    await follows.unfollow(ctx, bob, alice.id)
    assert await timelines.home(ctx, bob, Page()) == []
    later = await posts.create_post(ctx, alice, NewPost("after the unfollow"))
    assert later.id not in [x.id for x in await timelines.home(ctx, bob, Page())]


async def test_like_counts_once_and_notifies(ctx: NodeContext, alice: Account, bob: Account) -> None:
    p = await posts.create_post(ctx, alice, NewPost("like me"))
    await interactions.like(ctx, bob, p.id)
    await interactions.like(ctx, bob, p.id)
    assert (await posts.get_post(ctx, bob, p.id)).likes_count == 1
    assert await kinds(ctx, alice) == ["like"]
    await interactions.unlike(ctx, bob, p.id)
    assert (await posts.get_post(ctx, bob, p.id)).likes_count == 0


async def test_cannot_like_what_you_cannot_see(ctx: NodeContext, alice: Account, bob: Account) -> None:
    p = await posts.create_post(ctx, alice, NewPost("secret", visibility="followers"))
    with pytest.raises(NotFound):
        await interactions.like(ctx, bob, p.id)


async def test_boost_reaches_the_boosters_followers_and_notifies(ctx: NodeContext, alice: Account, bob: Account, carol: Account) -> None:
    # Given carol follows bob (not alice)
    await follows.follow(ctx, carol, bob.id)
    p = await posts.create_post(ctx, alice, NewPost("worth sharing"))
    # When bob boosts alice's post (twice: still one boost)
    boost = await interactions.boost(ctx, bob, p.id)
    again = await interactions.boost(ctx, bob, p.id)
    # Then carol's home shows the boost, alice is notified once, the count is one
    assert boost.id == again.id and boost.reblog_of_id == p.id
    assert [x.id for x in await timelines.home(ctx, carol, Page())] == [boost.id]
    assert "boost" in await kinds(ctx, alice)
    assert (await posts.get_post(ctx, alice, p.id)).boosts_count == 1
    # When he takes it back, it leaves carol's home
    await interactions.unboost(ctx, bob, p.id)
    assert await timelines.home(ctx, carol, Page()) == []
    assert (await posts.get_post(ctx, alice, p.id)).boosts_count == 0


@pytest.mark.parametrize("visibility", ["followers", "direct"])
async def test_private_posts_cannot_be_boosted(ctx: NodeContext, alice: Account, bob: Account, visibility: str) -> None:
    await follows.follow(ctx, bob, alice.id)
    p = await posts.create_post(ctx, alice, NewPost("@bob between us", visibility=visibility))
    with pytest.raises(Invalid, match="cannot be boosted"):
        await interactions.boost(ctx, bob, p.id)


async def test_boost_keeps_an_inward_audience(ctx: NodeContext, alice: Account, bob: Account) -> None:
    p = await posts.create_post(ctx, alice, NewPost("team news", visibility="local"))
    boost = await interactions.boost(ctx, bob, p.id)
    assert boost.visibility == "local"


async def test_mentions_and_replies_notify_once_each(ctx: NodeContext, alice: Account, bob: Account, carol: Account) -> None:
    root = await posts.create_post(ctx, alice, NewPost("question for the room"))
    await posts.create_post(ctx, bob, NewPost("@alice @carol answer", in_reply_to_id=root.id))
    assert await kinds(ctx, alice) == ["reply"]
    assert await kinds(ctx, carol) == ["mention"]
    assert await kinds(ctx, bob) == []  # nobody is told of their own doing


async def test_notifications_can_be_dismissed_and_cleared(ctx: NodeContext, alice: Account, bob: Account) -> None:
    await follows.follow(ctx, bob, alice.id)
    p = await posts.create_post(ctx, alice, NewPost("x"))
    await interactions.like(ctx, bob, p.id)
    listed = await notifications.list_notifications(ctx, alice.id, Page())
    assert [n.type for n in listed] == ["like", "follow"]
    only_likes = await notifications.list_notifications(ctx, alice.id, Page(), types=("like",))
    assert [n.type for n in only_likes] == ["like"]
    with pytest.raises(NotFound):
        await notifications.dismiss(ctx, bob.id, listed[0].id)  # not bob's to dismiss
    await notifications.dismiss(ctx, alice.id, listed[0].id)
    assert await kinds(ctx, alice) == ["follow"]
    await notifications.clear(ctx, alice.id)
    assert await kinds(ctx, alice) == []
