"""What the community pages read (node/community_pages.py): the directory searched by name and
description, an unlisted community found only by those it knows, a viewer's standing, the
communities one is in, and a community's posts newest first, only those the viewer may see."""

from __future__ import annotations

import pytest

from node import blocks, communities, community_pages, posts
from node.context import NodeContext
from node.pagination import Page
from node.posts import NewPost
from storage.errors import NotFound
from storage.models import Account


async def test_the_directory_finds_by_name_and_description_and_keeps_unlisted_ones_to_those_it_knows(
    ctx: NodeContext, alice: Account, bob: Account, carol: Account
) -> None:
    # Given an open organisation community with two members, and an unlisted one of alice's
    guild = await communities.create_community(ctx, "guild", audience="organization", creator=alice,
                                               display_name="Platform Guild", description="CI, tooling and deploys")
    await communities.join(ctx, bob, guild.id)
    hidden = await communities.create_community(ctx, "quiet", audience="unlisted", creator=alice,
                                                description="tooling for the few")
    # When carol searches by a word of a description, in other letters
    found = await community_pages.directory(ctx, carol, "TOOLING")
    # Then she finds the listed one, with its member count, and not the unlisted one
    assert [(c.account.id, c.members) for c in found] == [(guild.id, 2)]
    assert not found[0].standing.member
    # And alice, who made the unlisted one, finds both, largest first, standing as a moderator
    mine = await community_pages.directory(ctx, alice, "tooling")
    assert [c.account.id for c in mine] == [guild.id, hidden.id]
    assert all(c.standing.member and c.standing.moderator for c in mine)
    # And browsing, bob's "more communities" leave out the one he is in
    assert hidden.id not in [c.account.id for c in await community_pages.directory(ctx, bob, others=True)]
    assert guild.id not in [c.account.id for c in await community_pages.directory(ctx, bob, others=True)]
    assert [c.account.id for c in await community_pages.directory(ctx, carol, others=True)] == [guild.id]
    # And a word in no name or description finds nothing; % is a letter, not a wildcard
    assert await community_pages.directory(ctx, carol, "payroll") == []
    assert await community_pages.directory(ctx, carol, "%") == []


async def test_standing_and_your_communities(ctx: NodeContext, alice: Account, bob: Account, carol: Account) -> None:
    asking = await communities.create_community(ctx, "asking", audience="local", mode="approval", creator=alice)
    closed = await communities.create_community(ctx, "closed", audience="local", mode="invite", creator=alice)
    await communities.join(ctx, bob, asking.id)
    await communities.invite(ctx, alice, closed.id, carol.id)
    assert (await community_pages.card(ctx, bob, "asking")).standing.requested
    assert (await community_pages.card(ctx, carol, "closed")).standing.invited
    assert [c.account.id for c in await community_pages.yours(ctx, bob)] == [asking.id]  # a request is listed
    # The moderator is told how many requests wait; no one else is
    assert [(c.account.id, c.waiting) for c in await community_pages.yours(ctx, alice)] == [(asking.id, 1), (closed.id, 0)]
    assert (await community_pages.card(ctx, alice, "asking")).waiting == 1
    assert (await community_pages.card(ctx, bob, "asking")).waiting == 0
    assert [c.account.id for c in await community_pages.yours(ctx, carol)] == []
    roster = await community_pages.roster(ctx, closed.id)
    assert [a.id for a in roster.invited] == [carol.id] and roster.moderator_ids == {alice.id}


async def test_a_communitys_posts_are_newest_first_and_only_those_the_viewer_may_see(
    ctx: NodeContext, alice: Account, bob: Account, carol: Account
) -> None:
    # Given a local community, bob and alice writing to it, and a post of alice's elsewhere
    group = await communities.create_community(ctx, "guild", audience="local", creator=alice)
    await communities.join(ctx, bob, group.id)
    first = await posts.create_post(ctx, bob, NewPost("first", community_id=group.id))
    second = await posts.create_post(ctx, alice, NewPost("second", community_id=group.id))
    await posts.create_post(ctx, alice, NewPost("not to the community"))
    # Then its page reads its two posts, newest first (not the community's re-shares)
    assert [p.id for p in await community_pages.posts(ctx, carol, group.id, Page())] == [second.id, first.id]
    # And a visitor not signed in (the open web) sees nothing of a `local` community, not even its page
    assert await community_pages.posts(ctx, None, group.id, Page()) == []
    with pytest.raises(NotFound):
        await community_pages.card(ctx, None, "guild")
    # And a reader who blocks bob does not see his post there
    await blocks.block(ctx, carol, bob.id)
    assert [p.id for p in await community_pages.posts(ctx, carol, group.id, Page())] == [second.id]
