"""Followed tags reach home timelines at fan-out (node/fanout.py); trends count only posts the
viewer may see from the organisation (node/trends.py); suggestions (node/suggestions.py);
featured tags and their limit (node/tags.py)."""

from __future__ import annotations

import asyncio

import pytest

from node import blocks, follows, interactions, mutes, post_effects, posts, suggestions, tags, timelines, trends
from node.audience import Audience
from node.context import NodeContext
from node.pagination import Page
from node.policy import PeerRule, Policy
from node.posts import NewPost
from node.trust import Trust
from storage.db import Database
from storage.errors import Invalid
from storage.ids import new_id
from storage.models import Account, Follow, Post
from tests.factory import node_context
from tests.node.conftest import DOMAIN, ORG_PEER, OUTSIDE_PEER, MakeAccount


@pytest.fixture
def ctx(db: Database) -> NodeContext:
    """This node; sales.acme.test trusted as `organization`, partner.test as `partner`."""
    policy = Policy(mode="allowlist", peers=(PeerRule(ORG_PEER, Trust.ORGANIZATION), PeerRule(OUTSIDE_PEER, Trust.PARTNER)))
    return node_context(db, DOMAIN, policy=policy)


async def write(ctx: NodeContext, author: Account, text: str, visibility: str = Audience.PUBLIC) -> Post:
    return await posts.create_post(ctx, author, NewPost(text, visibility=visibility))


async def arrive(ctx: NodeContext, author: Account, html: str, tags_: tuple[str, ...],
                 visibility: str = Audience.PUBLIC) -> Post:
    """A peer's post as the inbox records it (node/post_effects.py, the shared path)."""
    async with ctx.db.session() as s:
        post = post_effects.new_post(author, f"{author.actor_uri}/statuses/{new_id()}", visibility,
                                     post_effects.Body(content_html=html), post_id=new_id(), url=None, parent=None)
        await post_effects.record_posts(ctx, s, [post_effects.Recorded(post, None, [], tags_)])
    return post


async def home_ids(ctx: NodeContext, who: Account) -> set[int]:
    return {p.id for p in await timelines.home(ctx, who, Page(limit=40))}


async def follow_direct(ctx: NodeContext, follower: Account, target: Account) -> None:
    async with ctx.db.session() as s:
        s.add(Follow(follower_id=follower.id, target_id=target.id, state="accepted"))


async def test_followed_tag_posts_land_home_only_when_visible_and_not_shunned(
    ctx: NodeContext, alice: Account, bob: Account, carol: Account, sam_at_sales: Account, pat_at_partner: Account
) -> None:
    # Given alice follows #Launch (any case, with its #) and follows nobody
    assert await tags.follow(ctx, alice, "#Launch") == "launch"
    # When bob posts publicly with the tag, for his followers with it, and sam (an
    # organisation peer) and pat (a partner) post with it
    public = await write(ctx, bob, "we ship #launch")
    private = await write(ctx, bob, "followers only #launch", Audience.FOLLOWERS)
    from_sam = await arrive(ctx, sam_at_sales, "<p>sales #launch</p>", ("launch",), Audience.ORGANIZATION)
    from_pat = await arrive(ctx, pat_at_partner, "<p>partner #launch</p>", ("launch",))
    # and carol, whom alice mutes, posts with it
    await mutes.mute(ctx, alice, carol.id)
    muted = await write(ctx, carol, "muted #launch")
    home = await home_ids(ctx, alice)
    # Then the public and organisation posts are in alice's home; the followers-only one and the muted one are not
    assert {public.id, from_sam.id, from_pat.id} <= home
    assert private.id not in home and muted.id not in home
    # When alice unfollows the tag, the posts already home stay, and new ones no longer arrive
    await tags.unfollow(ctx, alice, "launch")
    later = await write(ctx, bob, "again #launch")
    home = await home_ids(ctx, alice)
    assert public.id in home and later.id not in home
    assert await tags.followed(ctx, alice, Page()) == []


async def test_followed_tags_list_and_hostile_names(ctx: NodeContext, alice: Account) -> None:
    for name in ("one", "two", "Ünïcode_3"):
        await tags.follow(ctx, alice, name)
    assert [n for _, n in await tags.followed(ctx, alice, Page(limit=2))] == ["ünïcode_3", "two"]
    # Names no hashtag could have are refused (422) and nothing is written
    for bad in ("", "#", "a b", "x" * 256, "../x", "a%00", "\x00", "tag!", "<b>"):
        with pytest.raises(Invalid):
            await tags.follow(ctx, alice, bad)
    assert len(await tags.followed(ctx, alice, Page())) == 3


async def test_featured_tags_count_public_posts_and_stop_at_the_limit(ctx: NodeContext, alice: Account) -> None:
    await write(ctx, alice, "one #ops")
    await write(ctx, alice, "two #ops")
    await write(ctx, alice, "hidden #ops", Audience.FOLLOWERS)
    ops = await tags.feature(ctx, alice, "ops")
    assert (ops.name, ops.statuses_count) == ("ops", 2) and ops.last_status_at is not None
    assert await tags.feature_suggestions(ctx, alice) == []
    # When alice tries to feature 500 tags at once
    async def attempt(n: int) -> bool:
        try:
            await tags.feature(ctx, alice, f"t{n}")
            return True
        except Invalid:
            return False
    results = []
    for start in range(0, 500, 500):
        results += await asyncio.gather(*(attempt(n) for n in range(start, start + 500)))
    # Then she has at most MAX_FEATURED, and every other attempt was refused
    assert len(await tags.featured(ctx, alice.id)) == tags.MAX_FEATURED
    assert sum(results) == tags.MAX_FEATURED - 1
    await tags.unfeature(ctx, alice, ops.id)
    assert "ops" not in [f.name for f in await tags.featured(ctx, alice.id)]


async def test_trends_count_only_organisation_posts_the_viewer_may_see(
    ctx: NodeContext, alice: Account, bob: Account, carol: Account, sam_at_sales: Account, pat_at_partner: Account
) -> None:
    # Given carol follows bob (so she may read his followers-only posts), alice does not
    await follows.follow(ctx, carol, bob.id)
    # And posts: bob's public one with a link, bob's followers-only one, sam's (organisation)
    # and pat's (a partner) public ones, all liked
    shown = await write(ctx, bob, "#launch see https://docs.acme.test/launch")
    hidden = await write(ctx, bob, "#launch #secret https://secret.acme.test/plan", Audience.FOLLOWERS)
    from_sam = await arrive(ctx, sam_at_sales, "<p>#launch</p>", ("launch",))
    from_pat = await arrive(
        ctx, pat_at_partner, '<p>#launch #partnertag <a href="https://partner.test/x">x</a></p>', ("launch", "partnertag")
    )
    for post in (shown, hidden, from_sam, from_pat):
        await interactions.like(ctx, carol if post is hidden else alice, post.id) if post.local else None
    async with ctx.db.session() as s:
        for post in (from_sam, from_pat):
            await post_effects.count(s, post.id, "likes_count", 3)
    for viewer in (alice, carol):
        # Then #launch counts bob's public post and sam's: two posts by two people today
        found = await trends.tags(ctx, viewer)
        assert [t.key for t in found] == ["launch"]
        assert (found[0].history[0].uses, found[0].history[0].accounts) == (2, 2)
        assert len(found[0].history) == trends.WINDOW_DAYS and found[0].uses == 2
        # And only those two posts trend, the partner's and the followers-only one never
        assert {p.id for p in await trends.statuses(ctx, viewer)} == {shown.id, from_sam.id}
        # And the only link is bob's public one
        assert [t.key for t in await trends.links(ctx, viewer)] == ["https://docs.acme.test/launch"]
    # And an anonymous reader counts only what anyone may see
    assert [t.key for t in await trends.tags(ctx, None)] == ["launch"]
    # When alice blocks bob, his posts leave her trends
    await blocks.block(ctx, alice, bob.id)
    assert (await trends.tags(ctx, alice))[0].uses == 1
    assert {p.id for p in await trends.statuses(ctx, alice)} == {from_sam.id}


async def test_suggestions_friends_of_friends_and_colleagues(
    ctx: NodeContext, make_account: MakeAccount, alice: Account, bob: Account, carol: Account,
    sam_at_sales: Account, pat_at_partner: Account,
) -> None:
    dave = await make_account("dave")
    # Given alice follows bob, and bob follows carol and pat (a partner's user)
    await follows.follow(ctx, alice, bob.id)
    await follows.follow(ctx, bob, carol.id)
    await follow_direct(ctx, bob, pat_at_partner)
    found = {s.account.username: s.sources for s in await suggestions.suggestions(ctx, alice)}
    # Then carol and pat are friends of friends, carol also a colleague; dave and sam colleagues;
    # never alice herself or bob, whom she follows
    assert found["carol"] == (suggestions.FRIENDS_OF_FRIENDS, suggestions.MOST_FOLLOWED)
    assert found["pat"] == (suggestions.FRIENDS_OF_FRIENDS,)
    assert found["dave"] == found["sam"] == (suggestions.MOST_FOLLOWED,)
    assert "alice" not in found and "bob" not in found
    # When alice blocks carol and dismisses dave, neither is suggested
    await blocks.block(ctx, alice, carol.id)
    await suggestions.dismiss(ctx, alice, dave.id)
    found = {s.account.username: s.sources for s in await suggestions.suggestions(ctx, alice)}
    assert set(found) == {"pat", "sam"}
