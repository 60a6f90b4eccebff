"""Three real nodes on loopback: two departments of one organisation and one partner.

eng (SQLite) and sales (PostgreSQL) trust each other as `organization`; both trust partner as
`partner`; partner trusts both as `public`. Everything between them crosses real HTTP, signed.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from node import follows, interactions, notifications, posts, remote, timelines
from node.pagination import Page
from node.posts import NewPost
from storage.models import Account, Post
from tests.conftest import recreate_pg_database, worker_tag
from tests.federation.nodes import NodeProcess, eventually, serving


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, NodeProcess]]:
    root: Path = tmp_path_factory.mktemp("org")
    pg_name = f"atrium_sales_{worker_tag()}"
    nodes = {
        "eng": NodeProcess("eng", root),
        "sales": NodeProcess("sales", root, recreate_pg_database(pg_name)),
        "partner": NodeProcess("partner", root),
    }
    eng, sales, partner = nodes["eng"], nodes["sales"], nodes["partner"]
    with ThreadPoolExecutor() as pool:  # each step is a CLI process: run the nodes' side by side
        list(pool.map(NodeProcess.init, nodes.values()))
    eng.write_policy(f'mode = "allowlist"\n[peers."{sales.domain}"]\ntrust = "organization"\n[peers."{partner.domain}"]\ntrust = "partner"\n')
    sales.write_policy(f'mode = "allowlist"\n[peers."{eng.domain}"]\ntrust = "organization"\n[peers."{partner.domain}"]\ntrust = "partner"\n')
    partner.write_policy(f'mode = "allowlist"\n[peers."{eng.domain}"]\ntrust = "public"\n[peers."{sales.domain}"]\ntrust = "public"\n')
    with ThreadPoolExecutor() as pool:
        list(pool.map(lambda a: a[0].create_user(a[1]), [(eng, "alice"), (eng, "lena"), (sales, "bob"), (partner, "pat")]))
    with serving(list(nodes.values()), pg_name):
        yield nodes


async def home_texts(node: NodeProcess, username: str) -> list[str]:
    async with node.act() as ctx:
        me = await node.user(ctx, username)
        return [p.content_html for p in await timelines.home(ctx, me, Page(limit=40))]


async def stored(node: NodeProcess, uri: str) -> Post | None:
    async with node.act() as ctx, ctx.db.reader() as s:
        return await s.scalar(select(Post).where(Post.uri == uri))


async def follow_remote(node: NodeProcess, username: str, handle: str) -> None:
    async with node.act() as ctx:
        me = await node.user(ctx, username)
        target = await remote.resolve_handle(ctx, handle)
        await follows.follow(ctx, me, target.id)


async def test_follow_across_nodes_and_posts_reach_the_followers_home(org: dict[str, NodeProcess]) -> None:
    eng, sales = org["eng"], org["sales"]
    # Given bob on sales follows alice on eng by her handle
    await follow_remote(sales, "bob", f"alice@{eng.domain}")

    async def accepted() -> bool:
        async with sales.act() as ctx:
            bob = await sales.user(ctx, "bob")
            alice = await remote.resolve_handle(ctx, f"alice@{eng.domain}")
            return (await follows.relationship(ctx, bob, alice.id))["following"]

    await eventually(accepted, what="eng to accept bob's follow")
    # When alice posts publicly
    async with eng.act() as ctx:
        alice = await eng.user(ctx, "alice")
        post = await posts.create_post(ctx, alice, NewPost("Hello from engineering #launch"))
    # Then the post reaches bob's home timeline on sales
    texts = await eventually(lambda: home_texts(sales, "bob"), what="alice's post in bob's home")
    assert any("Hello from engineering" in t for t in texts)
    copy = await stored(sales, post.uri or "")
    assert copy is not None and copy.visibility == "public" and not copy.local


async def notification_kinds(node: NodeProcess, username: str) -> list[str]:
    async with node.act() as ctx:
        me = await node.user(ctx, username)
        return [n.type for n in await notifications.list_notifications(ctx, me.id, Page(limit=40))]


async def deliveries_to(node: NodeProcess, domain: str, object_uri: str) -> list[str]:
    """What `node` queued (and so sent) to `domain` about `object_uri`: the wire-level record."""
    from storage.models import Job

    async with node.act() as ctx, ctx.db.reader() as s:
        rows = (await s.scalars(select(Job).where(Job.queue == "deliver", Job.target == domain))).all()
    return [r.status for r in rows if object_uri in (r.ordering_key or "")]


async def following(node: NodeProcess, username: str, handle: str) -> bool:
    async with node.act() as ctx:
        me = await node.user(ctx, username)
        other = await remote.resolve_handle(ctx, handle)
        return (await follows.relationship(ctx, me, other.id))["following"]


async def test_organization_posts_reach_the_organization_and_never_the_partner(org: dict[str, NodeProcess]) -> None:
    eng, sales, partner = org["eng"], org["sales"], org["partner"]
    # Given bob (sales, organization) and pat (partner) both follow alice
    await follow_remote(sales, "bob", f"alice@{eng.domain}")
    await follow_remote(partner, "pat", f"alice@{eng.domain}")
    await eventually(lambda: following(partner, "pat", f"alice@{eng.domain}"), what="pat's follow accepted")
    await eventually(lambda: following(sales, "bob", f"alice@{eng.domain}"), what="bob's follow accepted")
    # When alice writes one post for the organisation and one for everyone
    async with eng.act() as ctx:
        alice = await eng.user(ctx, "alice")
        inward = await posts.create_post(ctx, alice, NewPost("Q3 numbers are in", visibility="organization"))
        public = await posts.create_post(ctx, alice, NewPost("We are hiring", visibility="public"))
    # Then sales receives both, and shows the inward one as organization
    await eventually(lambda: stored(sales, public.uri or ""), what="public post at sales")
    copy = await eventually(lambda: stored(sales, inward.uri or ""), what="organization post at sales")
    assert copy.visibility == "organization"
    # And partner receives the public post but the organization post never crossed to it
    await eventually(lambda: stored(partner, public.uri or ""), what="public post at partner")
    assert await stored(partner, inward.uri or "") is None
    assert await deliveries_to(eng, partner.domain, inward.uri or "") == []
    assert await deliveries_to(eng, partner.domain, public.uri or "") != []


async def test_local_posts_never_leave_the_node(org: dict[str, NodeProcess]) -> None:
    eng, sales = org["eng"], org["sales"]
    await follow_remote(sales, "bob", f"alice@{eng.domain}")
    await eventually(lambda: following(sales, "bob", f"alice@{eng.domain}"), what="follow accepted")
    async with eng.act() as ctx:
        alice = await eng.user(ctx, "alice")
        local = await posts.create_post(ctx, alice, NewPost("lunch in the eng kitchen", visibility="local"))
        marker = await posts.create_post(ctx, alice, NewPost("marker after the local post"))
    await eventually(lambda: stored(sales, marker.uri or ""), what="the marker post at sales")
    assert await stored(sales, local.uri or "") is None
    assert await deliveries_to(eng, sales.domain, local.uri or "") == []


async def test_locked_account_approves_a_remote_follower(org: dict[str, NodeProcess]) -> None:
    eng, partner = org["eng"], org["partner"]
    async with eng.act() as ctx:
        from node import accounts

        lena = await eng.user(ctx, "lena")
        await accounts.update_profile(ctx, lena.id, locked=True)
    # When pat asks to follow lena
    await follow_remote(partner, "pat", f"lena@{eng.domain}")

    async def requested() -> list[Account]:
        async with eng.act() as ctx:
            return await follows.follow_requests(ctx, await eng.user(ctx, "lena"), Page())

    pending = await eventually(requested, what="pat's follow request at eng")
    assert [a.username for a in pending] == ["pat"]
    assert not await following(partner, "pat", f"lena@{eng.domain}")
    # Then lena approves, and the Accept reaches partner
    async with eng.act() as ctx:
        await follows.approve(ctx, await eng.user(ctx, "lena"), pending[0].id)
    await eventually(lambda: following(partner, "pat", f"lena@{eng.domain}"), what="the Accept at partner")


async def test_replies_likes_and_boosts_across_nodes_notify(org: dict[str, NodeProcess]) -> None:
    eng, sales, partner = org["eng"], org["sales"], org["partner"]
    await follow_remote(sales, "bob", f"alice@{eng.domain}")
    await follow_remote(partner, "pat", f"alice@{eng.domain}")
    await eventually(lambda: following(sales, "bob", f"alice@{eng.domain}"), what="bob follows")
    await eventually(lambda: following(partner, "pat", f"alice@{eng.domain}"), what="pat follows")
    async with eng.act() as ctx:
        alice = await eng.user(ctx, "alice")
        root = await posts.create_post(ctx, alice, NewPost("Thoughts on the roadmap?"))
    at_sales = await eventually(lambda: stored(sales, root.uri or ""), what="root at sales")
    at_partner = await eventually(lambda: stored(partner, root.uri or ""), what="root at partner")
    # When bob replies and likes, and pat boosts
    async with sales.act() as ctx:
        bob = await sales.user(ctx, "bob")
        reply = await posts.create_post(ctx, bob, NewPost(f"@alice@{eng.domain} ship it", in_reply_to_id=at_sales.id))
        await interactions.like(ctx, bob, at_sales.id)
    async with partner.act() as ctx:
        await interactions.boost(ctx, await partner.user(ctx, "pat"), at_partner.id)
    # Then alice is told of each, and the reply threads under her post on eng
    await eventually(lambda: _has_all(eng, "alice", {"reply", "like", "boost"}), what="reply, like and boost notifications")
    async with eng.act() as ctx:
        alice = await eng.user(ctx, "alice")
        _, replies = await posts.context(ctx, alice, root.id)
        assert [p.uri for p in replies] == [reply.uri]
        assert (await posts.get_post(ctx, alice, root.id)).likes_count >= 1


async def _has_all(node: NodeProcess, username: str, kinds: set[str]) -> bool:
    return kinds <= set(await notification_kinds(node, username))


async def test_edits_and_deletes_propagate_and_unfollow_stops_delivery(org: dict[str, NodeProcess]) -> None:
    eng, sales = org["eng"], org["sales"]
    await follow_remote(sales, "bob", f"alice@{eng.domain}")
    await eventually(lambda: following(sales, "bob", f"alice@{eng.domain}"), what="bob follows")
    async with eng.act() as ctx:
        alice = await eng.user(ctx, "alice")
        post = await posts.create_post(ctx, alice, NewPost("draft one"))
        await posts.edit_post(ctx, alice, post.id, "draft two, final")

    async def edited() -> bool:
        copy = await stored(sales, post.uri or "")
        return copy is not None and "draft two" in copy.content_html

    await eventually(edited, what="the edit at sales")
    async with eng.act() as ctx:
        await posts.delete_post(ctx, await eng.user(ctx, "alice"), post.id)

    async def gone() -> bool:
        return await stored(sales, post.uri or "") is None

    await eventually(gone, what="the delete at sales")
    # When bob unfollows, alice's next post is not delivered to sales at all
    async with sales.act() as ctx:
        bob = await sales.user(ctx, "bob")
        alice_there = await remote.resolve_handle(ctx, f"alice@{eng.domain}")
        await follows.unfollow(ctx, bob, alice_there.id)

    async def follower_gone() -> bool:
        async with eng.act() as ctx:
            alice = await eng.user(ctx, "alice")
            return all(a.domain != sales.domain for a in await follows.followers(ctx, alice.id, Page()))

    await eventually(follower_gone, what="the Undo(Follow) at eng")
    async with eng.act() as ctx:
        later = await posts.create_post(ctx, await eng.user(ctx, "alice"), NewPost("after bob left"))
    async with eng.act() as ctx:
        from node.federate import FANOUT
        from storage.models import Job

        async def fanned_out() -> bool:
            async with ctx.db.reader() as s:
                return (await s.scalar(select(Job.status).where(Job.queue == FANOUT).order_by(Job.id.desc()).limit(1))) == "done"

        await eventually(fanned_out, what="the fan-out of the later post")
    assert await deliveries_to(eng, sales.domain, later.uri or "") == []


async def test_a_node_that_was_down_gets_its_backlog(org: dict[str, NodeProcess]) -> None:
    eng, partner = org["eng"], org["partner"]
    await follow_remote(partner, "pat", f"alice@{eng.domain}")
    await eventually(lambda: following(partner, "pat", f"alice@{eng.domain}"), what="pat follows")
    async with eng.act() as ctx:
        before = await posts.create_post(ctx, await eng.user(ctx, "alice"), NewPost("before the outage"))
    before_at_partner = await eventually(lambda: stored(partner, before.uri or ""), what="a post before the outage")
    # Given partner is down while alice posts
    partner.stop()
    try:
        async with eng.act() as ctx:
            post = await posts.create_post(ctx, await eng.user(ctx, "alice"), NewPost("posted while partner was away"))

        async def attempted() -> bool:
            return "pending" in await deliveries_to(eng, partner.domain, post.uri or "")

        await eventually(attempted, what="a failed first delivery")
    finally:
        # When partner comes back and talks to eng again (any signed request)
        partner.start()
    async with partner.act() as ctx:
        await interactions.like(ctx, await partner.user(ctx, "pat"), before_at_partner.id)
    # Then the backlog arrives at once, well before the first retry would have been due (16 s+)
    await eventually(lambda: stored(partner, post.uri or ""), timeout=10, what="the backlog at partner")
