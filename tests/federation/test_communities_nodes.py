"""An `organization` community across three real nodes: eng (SQLite) and sales (PostgreSQL)
trust each other as `organization`, both trust partner as `partner`, partner trusts both as
`public`. Everything between them crosses real HTTP, signed; the tests assert on what crossed
the wire (the deliveries each node queued, the documents each served)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from federation import builders
from federation.addresses import FetchError
from federation.gate import Purpose
from node import communities, posts, remote, timelines
from node.outbox import send_one
from node.pagination import Page
from node.posts import NewPost
from storage.errors import AtriumError
from storage.models import Account, AuditEntry, Follow, Job, Post
from tests.conftest import recreate_pg_database, worker_tag
from tests.federation.nodes import NodeProcess, eventually, serving

GUILD = "guild"


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, NodeProcess]]:
    root: Path = tmp_path_factory.mktemp("communities")
    pg_name = f"atrium_csales_{worker_tag()}"
    nodes = {
        "eng": NodeProcess("eng", root),
        "sales": NodeProcess("sales", root, recreate_pg_database(pg_name)),
        "partner": NodeProcess("partner", root),
    }
    eng, sales, partner = nodes["eng"], nodes["sales"], nodes["partner"]
    with ThreadPoolExecutor() as pool:
        list(pool.map(NodeProcess.init, nodes.values()))
    eng.write_policy(f'mode = "allowlist"\n[peers."{sales.domain}"]\ntrust = "organization"\n[peers."{partner.domain}"]\ntrust = "partner"\n')
    sales.write_policy(f'mode = "allowlist"\n[peers."{eng.domain}"]\ntrust = "organization"\n[peers."{partner.domain}"]\ntrust = "partner"\n')
    partner.write_policy(f'mode = "allowlist"\n[peers."{eng.domain}"]\ntrust = "public"\n[peers."{sales.domain}"]\ntrust = "public"\n')
    users = [(eng, "alice"), (eng, "lena"), (sales, "bob"), (sales, "sam"), (partner, "pat")]
    with ThreadPoolExecutor() as pool:
        list(pool.map(lambda a: a[0].create_user(a[1]), users))
    with serving(list(nodes.values()), pg_name):
        yield nodes


@pytest.fixture(scope="module")
def guild(org: dict[str, NodeProcess]) -> str:
    """An open `organization` community on eng, made by alice; its actor URI."""
    eng = org["eng"]

    async def make() -> str:
        async with eng.act() as ctx:
            alice = await eng.user(ctx, "alice")
            group = await communities.create_community(ctx, GUILD, audience="organization", creator=alice,
                                                       description="Engineers of every department")
            return ctx.actor_uri(group.username)

    return asyncio.run(make())


async def home_of(node: NodeProcess, username: str) -> list[Post]:
    async with node.act() as ctx:
        return await timelines.home(ctx, await node.user(ctx, username), Page(limit=40))


async def stored(node: NodeProcess, uri: str) -> Post | None:
    async with node.act() as ctx, ctx.db.reader() as s:
        return await s.scalar(select(Post).where(Post.uri == uri))


async def deliveries(node: NodeProcess, domain: str) -> list[tuple[str, str]]:
    """Every delivery `node` queued to `domain`: (ordering key, body) — the wire-level record."""
    async with node.act() as ctx, ctx.db.reader() as s:
        rows = (await s.scalars(select(Job).where(Job.queue == "deliver", Job.target == domain))).all()
    return [(r.ordering_key or "", r.payload.decode() if isinstance(r.payload, bytes) else r.payload) for r in rows]


async def member_of(node: NodeProcess, username: str, group_uri: str) -> bool:
    async with node.act() as ctx, ctx.db.reader() as s:
        me = await node.user(ctx, username)
        group = await s.scalar(select(Account).where(Account.actor_uri == group_uri))
        if group is None:
            return False
        state = await s.scalar(select(Follow.state).where(Follow.follower_id == me.id, Follow.target_id == group.id))
    return state == "accepted"


async def join_from(node: NodeProcess, username: str, handle: str) -> None:
    async with node.act() as ctx:
        group = await remote.resolve_handle(ctx, handle)
        assert group.is_group  # a peer's community is a Group account here
        await communities.join(ctx, await node.user(ctx, username), group.id)


async def test_an_organization_community_spans_the_organisation(org: dict[str, NodeProcess], guild: str) -> None:
    eng, sales, partner = org["eng"], org["sales"], org["partner"]
    handle = f"{GUILD}@{eng.domain}"
    # Given lena (eng) and bob and sam (sales) join the guild
    async with eng.act() as ctx:
        group = await communities.get_community(ctx, GUILD)
        await communities.join(ctx, await eng.user(ctx, "lena"), group[0].id)
    await join_from(sales, "bob", handle)
    await join_from(sales, "sam", handle)
    await eventually(lambda: member_of(sales, "bob", guild), what="eng to accept bob's join")
    await eventually(lambda: member_of(sales, "sam", guild), what="eng to accept sam's join")
    # When bob writes to the guild from sales
    async with sales.act() as ctx:
        bob = await sales.user(ctx, "bob")
        at_sales = await remote.resolve_handle(ctx, handle)
        post = await posts.create_post(ctx, bob, NewPost("Sales needs a demo rig", visibility="organization",
                                                         community_id=at_sales.id))
    uri = post.uri or ""
    # Then eng keeps it as the guild's, and the guild re-shares it to its members on both nodes
    copy = await eventually(lambda: stored(eng, uri), what="bob's post at eng")
    async with eng.act() as ctx:
        assert copy.community_id == (await communities.get_community(ctx, GUILD))[0].id
        assert copy.visibility == "organization"

    async def shared_with(node: NodeProcess, username: str) -> bool:
        here = await stored(node, uri)
        return here is not None and any(here.id in (p.id, p.reblog_of_id) for p in await home_of(node, username))

    await eventually(lambda: shared_with(eng, "lena"), what="the guild's re-share in lena's home")
    await eventually(lambda: shared_with(eng, "alice"), what="the guild's re-share in alice's home")
    await eventually(lambda: shared_with(sales, "sam"), what="the guild's re-share in sam's home on sales")
    # And what crossed the wire: the post went from sales to eng (the guild's inbox) and the
    # guild's Announce came back to sales; nothing of either ever went to partner
    assert any(uri in key for key, _ in await deliveries(sales, eng.domain))
    assert any("Announce" in body and uri in body for _, body in await deliveries(eng, sales.domain))
    assert not [k for k, body in await deliveries(eng, partner.domain) if uri in body or GUILD in body]
    assert not [k for k, body in await deliveries(sales, partner.domain) if uri in body]
    assert await stored(partner, uri) is None


NOT_FOUND_PATHS = ("", "/outbox", "/outbox?page=true", "/followers", "/following", "/collections/featured",
                   "/collections/moderators")


async def test_partner_can_neither_see_nor_find_the_community(org: dict[str, NodeProcess], guild: str) -> None:
    eng, sales, partner = org["eng"], org["sales"], org["partner"]
    nobody = f"{eng.base_url}/users/no-such-name"
    async with partner.act() as ctx:
        assert ctx.fetcher is not None
        for path in NOT_FOUND_PATHS:
            # Signed by partner: as for a name nobody has
            for url in (guild + path, nobody + path):
                with pytest.raises(FetchError) as refused:
                    await ctx.fetcher.fetch_object(url, purpose=Purpose.OBJECT)
                assert refused.value.status == 404, url
        # Nor found by its handle (WebFinger), nor resolved by URL
        with pytest.raises(AtriumError):
            await remote.resolve_handle(ctx, f"{GUILD}@{eng.domain}")
        with pytest.raises(AtriumError):
            await remote.actor_by_uri(ctx, guild)
    # Unsigned (the open web): the same answer, body and all, as for nobody
    async with aiohttp.ClientSession() as http:
        for path in NOT_FOUND_PATHS:
            answers = []
            for url in (guild + path, nobody + path):
                async with http.get(url, headers={"Accept": "application/activity+json"}) as r:
                    answers.append((r.status, (await r.text()).replace(GUILD, "X").replace("no-such-name", "X")))
            assert answers[0] == answers[1] and answers[0][0] == 404, path
        for user in (GUILD, "no-such-name"):
            async with http.get(f"{eng.base_url}/.well-known/webfinger",
                                params={"resource": f"acct:{user}@{eng.domain}"}) as r:
                assert r.status == 404
    # While sales, in the organisation, reads the Group
    async with sales.act() as ctx:
        assert ctx.fetcher is not None
        doc = await ctx.fetcher.fetch_object(guild, purpose=Purpose.ACTOR)
        assert doc["type"] == "Group" and doc["preferredUsername"] == GUILD
        assert doc["postingRestrictedToMods"] is False and str(doc["attributedTo"]).endswith("/collections/moderators")
        mods = await ctx.fetcher.fetch_object(str(doc["attributedTo"]), purpose=Purpose.COLLECTION)
        assert [str(m).rsplit("/", 1)[-1] for m in mods["orderedItems"]] == ["alice"]  # type: ignore[union-attr]


async def test_partners_join_is_rejected_and_audited(org: dict[str, NodeProcess], guild: str) -> None:
    eng, partner = org["eng"], org["partner"]
    # Given pat on partner knows the guild's inbox some other way, and sends a Follow there
    follow_id = f"{partner.base_url}/users/pat#follows/guild-1"
    async with partner.act() as ctx, ctx.db.session() as s:
        pat = await partner.user(ctx, "pat")
        target = Account(username=GUILD, domain=eng.domain, inbox_uri=f"{guild}/inbox", actor_uri=guild,
                         disabled=False, suspended=False)
        follow = builders.activity("Follow", follow_id, ctx.actor_uri("pat"), guild)
        await send_one(ctx, s, target, follow, pat, follow_id)
    # Then eng answers with a Reject, audits the refusal, and keeps no membership
    await eventually(lambda: _reject_sent(eng, partner.domain, follow_id), what="eng's Reject to partner")
    async with eng.act() as ctx, ctx.db.reader() as s:
        audited = (await s.scalars(select(AuditEntry).where(AuditEntry.object == follow_id))).all()
        # (the inbox's own entry says the signed request was let in; the join was not)
        assert [(a.decision, a.rule) for a in audited if a.decision != "accepted"] == [("refused", "community:organization")]
        group = (await communities.get_community(ctx, GUILD))[0]
        assert [a.domain for a in await communities.members(ctx, group.id) if a.domain == partner.domain] == []


async def _reject_sent(eng: NodeProcess, domain: str, follow_id: str) -> bool:
    return any("Reject" in body and follow_id in body for _, body in await deliveries(eng, domain))


async def test_a_member_on_sales_reads_the_community_post_and_partner_cannot(org: dict[str, NodeProcess],
                                                                            guild: str) -> None:
    eng, sales, partner = org["eng"], org["sales"], org["partner"]
    # Given alice writes to the guild on eng
    async with eng.act() as ctx:
        alice = await eng.user(ctx, "alice")
        group = (await communities.get_community(ctx, GUILD))[0]
        post = await posts.create_post(ctx, alice, NewPost("Guild meeting on Friday", community_id=group.id))
    assert post.visibility == "organization"
    # Then sales (in the organisation) may fetch it, and the note names the guild as its audience
    async with sales.act() as ctx:
        assert ctx.fetcher is not None
        note = await ctx.fetcher.fetch_object(post.uri or "", purpose=Purpose.OBJECT)
        assert note["audience"] == guild and guild in note["cc"]  # type: ignore[operator]
    # And partner may not
    async with partner.act() as ctx:
        assert ctx.fetcher is not None
        with pytest.raises(FetchError):
            await ctx.fetcher.fetch_object(post.uri or "", purpose=Purpose.OBJECT)
    assert not [k for k, body in await deliveries(eng, partner.domain) if (post.uri or "") in body]


async def test_leaving_a_peers_community(org: dict[str, NodeProcess], guild: str) -> None:
    eng, sales = org["eng"], org["sales"]
    await join_from(sales, "sam", f"{GUILD}@{eng.domain}")
    await eventually(lambda: member_of(sales, "sam", guild), what="sam a member")
    async with sales.act() as ctx:
        sam = await sales.user(ctx, "sam")
        at_sales = await remote.resolve_handle(ctx, f"{GUILD}@{eng.domain}")
        await communities.leave(ctx, sam, at_sales.id)

    async def gone_at_eng() -> bool:
        async with eng.act() as ctx:
            group = (await communities.get_community(ctx, GUILD))[0]
            return "sam" not in [a.username for a in await communities.members(ctx, group.id)]

    await eventually(gone_at_eng, what="sam's Undo(Follow) at eng")
