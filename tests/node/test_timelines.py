"""Timelines: home, local, organization, hashtag, account; cursor pagination by id."""

from __future__ import annotations

from node import follows, posts, timelines
from node.context import NodeContext
from node.pagination import Page
from node.posts import NewPost
from storage.models import Account, Post
from tests.factory import node_context


async def write(ctx: NodeContext, author: Account, text: str, visibility: str = "public") -> Post:
    return await posts.create_post(ctx, author, NewPost(text, visibility=visibility))


async def ids(posts_: list[Post]) -> list[int]:
    return [p.id for p in posts_]


async def test_home_has_own_posts_followed_posts_and_mentions_newest_first(
    ctx: NodeContext, alice: Account, bob: Account, carol: Account
) -> None:
    await follows.follow(ctx, alice, bob.id)
    a1 = await write(ctx, alice, "mine")
    b1 = await write(ctx, bob, "from someone alice follows", "followers")
    c1 = await write(ctx, carol, "@alice a direct word", "direct")
    await write(ctx, carol, "carol's public musing")  # alice does not follow carol
    assert await ids(await timelines.home(ctx, alice, Page())) == [c1.id, b1.id, a1.id]


async def test_local_timeline(ctx: NodeContext, alice: Account, sam_at_sales: Account, pat_at_partner: Account) -> None:
    pub = await write(ctx, alice, "public")
    await write(ctx, alice, "unlisted", "unlisted")
    await write(ctx, alice, "followers", "followers")
    org = await write(ctx, alice, "org", "organization")
    loc = await write(ctx, alice, "local", "local")
    # local users see the inward posts too; outsiders and anonymous readers only public ones
    assert await ids(await timelines.local(ctx, alice, Page())) == [loc.id, org.id, pub.id]
    assert await ids(await timelines.local(ctx, sam_at_sales, Page())) == [org.id, pub.id]
    assert await ids(await timelines.local(ctx, pat_at_partner, Page())) == [pub.id]
    assert await ids(await timelines.local(ctx, None, Page())) == [pub.id]


async def test_organization_timeline_holds_this_node_and_org_peers_only(
    ctx: NodeContext, alice: Account, sam_at_sales: Account, pat_at_partner: Account
) -> None:
    # Given posts by a local user, an org peer's user, and an outsider (remote posts stored directly)
    mine = await write(ctx, alice, "org news", "organization")
    mine_pub = await write(ctx, alice, "public news")
    async with ctx.db.session() as s:
        from_sales = Post(account_id=sam_at_sales.id, local=False, visibility="organization", source="", content_html="<p>sales</p>", uri="https://sales.acme.test/n/1")
        from_partner = Post(account_id=pat_at_partner.id, local=False, visibility="public", content_html="<p>partner</p>", uri="https://partner.test/n/1")
        s.add_all([from_sales, from_partner])
    # Then members see this node's and the org peer's posts, never the outsider's
    assert await ids(await timelines.organization(ctx, alice, Page())) == [from_sales.id, mine_pub.id, mine.id]
    # and outsiders and anonymous readers get nothing from it
    assert await timelines.organization(ctx, pat_at_partner, Page()) == []
    assert await timelines.organization(ctx, None, Page()) == []


async def test_hashtag_timeline_respects_audience(ctx: NodeContext, alice: Account, pat_at_partner: Account) -> None:
    pub = await write(ctx, alice, "#Release day")
    org = await write(ctx, alice, "#release internal notes", "organization")
    await write(ctx, alice, "#release for followers", "followers")
    await write(ctx, alice, "#release unlisted", "unlisted")
    assert await ids(await timelines.hashtag(ctx, alice, "release", Page())) == [org.id, pub.id]
    assert await ids(await timelines.hashtag(ctx, pat_at_partner, "#RELEASE", Page())) == [pub.id]
    assert await timelines.hashtag(ctx, None, "nothing", Page()) == []


async def test_cursor_pagination_by_id(ctx: NodeContext, alice: Account) -> None:
    written = [await write(ctx, alice, f"post {i}") for i in range(7)]
    newest_first = [p.id for p in reversed(written)]
    page1 = await ids(await timelines.account(ctx, alice, alice.id, Page(limit=3)))
    assert page1 == newest_first[:3]
    page2 = await ids(await timelines.account(ctx, alice, alice.id, Page(max_id=page1[-1], limit=3)))
    assert page2 == newest_first[3:6]
    # since_id: the newest ones above a cursor; min_id: the ones just above it
    assert await ids(await timelines.account(ctx, alice, alice.id, Page(since_id=written[2].id, limit=2))) == newest_first[:2]
    assert await ids(await timelines.account(ctx, alice, alice.id, Page(min_id=written[2].id, limit=2))) == [written[4].id, written[3].id]


def test_page_parse_rejects_garbage() -> None:
    import pytest

    from storage.errors import Invalid

    assert Page.parse(limit="500").limit == 40
    assert Page.parse(max_id="123").max_id == 123
    for bad in ({"max_id": "abc"}, {"limit": "-1"}, {"since_id": "9" * 30}):
        with pytest.raises(Invalid):
            Page.parse(**bad)


async def test_limited_peers_stay_out_of_shared_timelines(db, alice: Account, make_account) -> None:  # type: ignore[no-untyped-def]
    from node.policy import PeerRule, Policy

    # Given a node that trusts one peer as public and another as limited
    policy = Policy(peers=(PeerRule("open.test", "public"), PeerRule("quiet.test", "limited")))
    ctx = node_context(db, "eng.acme.test", policy=policy)
    opened = await make_account("olga", domain="open.test")
    quiet = await make_account("quinn", domain="quiet.test")
    async with db.session() as s:
        a = Post(account_id=opened.id, local=False, visibility="public", content_html="<p>#news open</p>", uri="https://open.test/1")
        b = Post(account_id=quiet.id, local=False, visibility="public", content_html="<p>#news quiet</p>", uri="https://quiet.test/1")
        s.add_all([a, b])
        await s.flush()
        from node.posts import store_tags

        await store_tags(s, a.id, ("news",))
        await store_tags(s, b.id, ("news",))
    # Then the federated and hashtag timelines show the public peer's post only
    assert await ids(await timelines.federated(ctx, alice, Page())) == [a.id]
    assert await ids(await timelines.hashtag(ctx, alice, "news", Page())) == [a.id]
