"""Communities on one node: a name shared with people, the one joining rule, writing to a
community and its re-share, moderation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from node import communities, posts, timelines
from node.communities import Join, join_decision
from node.context import NodeContext
from node.pagination import Page
from node.posts import NewPost
from node.trust import Trust
from storage.errors import Conflict, Forbidden, Invalid
from storage.models import Account, Community, Post
from tests.node.conftest import MakeAccount


async def home_ids(ctx: NodeContext, account: Account) -> list[int]:
    return [p.id for p in await timelines.home(ctx, account, Page())]


async def test_a_community_and_a_person_cannot_share_a_name(ctx: NodeContext, alice: Account) -> None:
    # Given alice, and a community made by her
    await communities.create_community(ctx, "guild", audience="organization", creator=alice)
    # When a community is named like a person, or like the community in other letters
    with pytest.raises(Conflict):
        await communities.create_community(ctx, "Alice", audience="organization")
    with pytest.raises(Conflict):
        await communities.create_community(ctx, "GUILD", audience="organization")


async def test_a_community_takes_only_an_audience_a_boost_keeps(ctx: NodeContext) -> None:
    with pytest.raises(Invalid, match="audience"):
        await communities.create_community(ctx, "secret", audience="followers")
    with pytest.raises(Invalid, match="mode"):
        await communities.create_community(ctx, "odd", audience="public", mode="closed")


async def test_join_decision_asks_the_audience_then_the_mode(ctx: NodeContext, alice: Account, sam_at_sales: Account,
                                                             pat_at_partner: Account) -> None:
    org = Community(account_id=1, audience="organization", mode="open")
    assert join_decision(org, alice, None, invited=False).outcome is Join.ACCEPTED
    assert join_decision(org, sam_at_sales, Trust.ORGANIZATION, invited=False).outcome is Join.ACCEPTED
    assert join_decision(org, pat_at_partner, Trust.PARTNER, invited=True).outcome is Join.REFUSED
    local = Community(account_id=1, audience="local", mode="open")
    assert join_decision(local, sam_at_sales, Trust.ORGANIZATION, invited=True).outcome is Join.REFUSED
    approval = Community(account_id=1, audience="public", mode="approval")
    assert join_decision(approval, pat_at_partner, Trust.PARTNER, invited=False).outcome is Join.PENDING
    assert join_decision(approval, pat_at_partner, Trust.PARTNER, invited=True).outcome is Join.ACCEPTED
    invite = Community(account_id=1, audience="public", mode="invite")
    assert join_decision(invite, alice, None, invited=False).outcome is Join.REFUSED


async def test_a_post_to_a_community_is_reshared_to_its_members(ctx: NodeContext, alice: Account, bob: Account,
                                                                 carol: Account) -> None:
    # Given an organisation community made by alice, joined by bob
    group = await communities.create_community(ctx, "guild", audience="organization", creator=alice)
    assert (await communities.join(ctx, bob, group.id)).state == "accepted"
    # When alice writes to it, asking for a public post
    post = await posts.create_post(ctx, alice, NewPost("hello guild", visibility="public", community_id=group.id))
    # Then the post takes the community's audience, the community boosts it, and bob has it at home
    assert post.visibility == "organization" and post.community_id == group.id
    async with ctx.db.reader() as s:
        reshares = (await s.scalars(select(Post).where(Post.account_id == group.id, Post.reblog_of_id == post.id))).all()
    assert len(reshares) == 1
    assert reshares[0].id in await home_ids(ctx, bob)
    # And carol, not a member, has neither, and may not write to it
    assert not {post.id, reshares[0].id} & set(await home_ids(ctx, carol))
    with pytest.raises(Forbidden, match="join"):
        await posts.create_post(ctx, carol, NewPost("let me in", community_id=group.id))


async def test_approval_and_invitation(ctx: NodeContext, alice: Account, bob: Account, carol: Account,
                                       make_account: MakeAccount) -> None:
    # Given an approval community and an invitation-only one
    asking = await communities.create_community(ctx, "asking", audience="local", mode="approval", creator=alice)
    closed = await communities.create_community(ctx, "closed", audience="local", mode="invite", creator=alice)
    # When bob asks to join the first, and a moderator approves
    assert (await communities.join(ctx, bob, asking.id)).state == "pending"
    assert [a.id for a in await communities.pending(ctx, asking.id)] == [bob.id]
    with pytest.raises(Forbidden):
        await communities.approve(ctx, carol, asking.id, bob.id)  # not a moderator
    await communities.approve(ctx, alice, asking.id, bob.id)
    assert bob.id in [a.id for a in await communities.members(ctx, asking.id)]
    # And carol tries the second uninvited, then invited
    with pytest.raises(Forbidden, match="invitation"):
        await communities.join(ctx, carol, closed.id)
    await communities.invite(ctx, alice, closed.id, carol.id)
    assert (await communities.join(ctx, carol, closed.id)).state == "accepted"
    # An admin moderates every community
    admin = await make_account("root", role="admin")
    await communities.remove_member(ctx, admin, closed.id, carol.id)
    assert carol.id not in [a.id for a in await communities.members(ctx, closed.id)]


async def test_a_moderator_removes_a_post_from_the_community(ctx: NodeContext, alice: Account, bob: Account) -> None:
    group = await communities.create_community(ctx, "guild", audience="organization", creator=alice)
    await communities.join(ctx, bob, group.id)
    post = await posts.create_post(ctx, bob, NewPost("off topic", community_id=group.id))
    with pytest.raises(Forbidden):
        await communities.remove_post(ctx, bob, group.id, post.id)
    await communities.remove_post(ctx, alice, group.id, post.id)
    async with ctx.db.reader() as s:
        left = (await s.scalars(select(Post.id).where((Post.id == post.id) | (Post.reblog_of_id == post.id)))).all()
    assert left == []
    assert post.id not in await home_ids(ctx, alice)
    # A community keeps one moderator
    with pytest.raises(Invalid, match="at least one"):
        await communities.set_moderator(ctx, alice, group.id, alice.id, False)
