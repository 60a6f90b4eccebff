"""A viewer never finds a post they may not see, by any operator: the audience × viewer
matrix of tests/node/test_visibility.py (written by hand: author, follower, mentioned, local
stranger, a colleague on the organisation's other node, an outsider, anonymous), asked
through full-text search, on both engines (docs/architecture.md ("Audiences and jobs"))."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from node import follows, interactions, search, search_query
from node.context import NodeContext
from node.post_search import Window, find_posts
from node.posts import NewPost, create_post
from storage.models import Account, MediaAttachment, Post
from tests.node.conftest import DOMAIN
from tests.node.test_visibility import EXPECTED, people  # noqa: F401 - `people` is a fixture

VISIBILITIES = ("public", "unlisted", "followers", "direct", "organization", "local")
# Every operator, alone and with the words; each must find only what the matrix allows.
QUERIES = (
    "secret", '"secret plans"', "secret from:alice", "from:alice", "secret -from:me", "from:me",
    "secret after:2000-01-01", "before:2100-01-01", "during:2026-01-05", "secret in:library", "in:library",
    "secret in:public", "in:all", "has:media", "secret has:image", "is:sensitive", "-is:reply secret",
    "language:en", "secret -nothing", "plans -secret", "from:alice@eng.acme.test has:media",
)


async def test_search_finds_only_what_the_viewer_may_see(ctx: NodeContext, people: dict[str, Account | None]) -> None:  # noqa: F811
    # Given alice's posts in every audience, each mentioning carol, with a picture, in English,
    # on one day; bob follows alice
    alice = people["alice (author)"]
    assert alice is not None
    written: dict[str, Post] = {}
    for v in VISIBILITIES:
        written[v] = await create_post(
            ctx, alice, NewPost(f"secret plans in {v} for @carol", visibility=v, language="en", sensitive=True)
        )
    async with ctx.db.session() as s:
        for post in written.values():
            s.add(MediaAttachment(account_id=alice.id, post_id=post.id, position=0, kind="image", state="ready"))
        ids = [p.id for p in written.values()]
        await s.execute(update(Post).where(Post.id.in_(ids)).values(created_at=datetime(2026, 1, 5, 12, tzinfo=UTC)))
    by_id = {p.id: v for v, p in written.items()}
    for who, viewer in people.items():
        allowed = {written[v].id for v in VISIBILITIES if EXPECTED[who][v]}
        if viewer is None:
            # When the open web searches, Then it finds no posts at all (signed-in people only)
            assert (await search.search(ctx, None, "secret")).statuses == []
            continue
        # Whatever a viewer has done with the posts they may see, in:library included
        for post_id in allowed:
            if viewer.domain is None and viewer.id != alice.id:
                await interactions.like(ctx, viewer, post_id)
        for q in QUERIES:
            # When the viewer searches with each operator
            got = {p.id for p in await find_posts(ctx, viewer, search_query.parse(q, DOMAIN), Window(limit=40))}
            # Then nothing is found that the matrix does not allow
            leaked = sorted(by_id.get(i, str(i)) for i in got - allowed)
            assert not leaked, f"{who} searching {q!r} found {leaked}"
        # And the plain words find exactly what they may see
        got = {p.id for p in await find_posts(ctx, viewer, search_query.parse("secret", DOMAIN), Window(limit=40))}
        assert got == allowed, who


async def test_a_suspended_authors_posts_are_never_found(ctx: NodeContext, alice: Account, bob: Account) -> None:
    # Given alice's public post, When the node's staff suspend her, Then bob finds nothing
    await create_post(ctx, alice, NewPost("quarterly report"))
    async with ctx.db.session() as s:
        await s.execute(update(Account).where(Account.id == alice.id).values(suspended=True))
    assert await find_posts(ctx, bob, search_query.parse("quarterly", DOMAIN), Window()) == []


async def test_paging_is_over_what_the_viewer_may_see(ctx: NodeContext, alice: Account, bob: Account, carol: Account) -> None:
    # Given many posts bob may not see and three he may, When he asks for pages of two,
    # Then the first page is full and the second holds the rest: the rules are in the query
    for i in range(6):
        await create_post(ctx, alice, NewPost(f"roadmap hidden {i}", visibility="followers"))
    seen = [await create_post(ctx, carol, NewPost(f"roadmap open {i}")) for i in range(3)]
    await follows.follow(ctx, carol, alice.id)  # carol sees them; bob does not
    first = await find_posts(ctx, bob, search_query.parse("roadmap", DOMAIN), Window(limit=2))
    second = await find_posts(ctx, bob, search_query.parse("roadmap", DOMAIN), Window(limit=2, offset=2))
    assert len(first) == 2 and {p.id for p in first + second} == {p.id for p in seen}
