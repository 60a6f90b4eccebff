"""Full-text search of posts (node/post_search.py) on both engines: stemming, phrases,
operators, ranking, paging, kept current with the posts, rebuilt by reindex, and hostile
queries. docs/search.md is the contract."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from node import bookmarks, follows, interactions, posts, search_query
from node.context import NodeContext
from node.post_search import Window, find_posts, reindex
from node.posts import NewPost
from storage import search_index
from storage.errors import Invalid
from storage.models import Account, MediaAttachment, Post
from tests.node.conftest import DOMAIN


async def found(ctx: NodeContext, viewer: Account, q: str, **window: int) -> list[int]:
    return [p.id for p in await find_posts(ctx, viewer, search_query.parse(q, DOMAIN), Window(**window))]


async def say(ctx: NodeContext, who: Account, text: str, **kw: object) -> Post:
    return await posts.create_post(ctx, who, NewPost(text, **kw))  # type: ignore[arg-type]


async def test_english_stems_find_other_forms(ctx: NodeContext, alice: Account, bob: Account) -> None:
    # Given posts with forms of "deploy" and one without
    a = await say(ctx, alice, "The deployment went fine")
    b = await say(ctx, alice, "We deployed on Friday")
    await say(ctx, alice, "Lunch is at noon")
    # When bob searches "deploy", Then both forms are found, nothing else
    assert set(await found(ctx, bob, "deploy")) == {a.id, b.id}
    assert set(await found(ctx, bob, "DEPLOYING")) == {a.id, b.id}


async def test_german_posts_are_stemmed_in_german(ctx: NodeContext, alice: Account, bob: Account) -> None:
    # Given a German post about "Häuser" and one in English
    de = await say(ctx, alice, "Die Häuser am Fluss", language="de")
    await say(ctx, alice, "The houses by the river", language="en")
    # When bob searches the singular, or the plural, Then the German post is found by either
    assert await found(ctx, bob, "Haus") == [de.id]
    assert await found(ctx, bob, "häuser") == [de.id]
    assert await found(ctx, bob, "Hauses") == [de.id]


async def test_unknown_language_is_found_by_its_words(ctx: NodeContext, alice: Account, bob: Account) -> None:
    # Given a post with no language and one in French (no stemmer of its own): the English one
    none = await say(ctx, alice, "Kubernetes upgrades tonight")
    fr = await say(ctx, alice, "Les maisons sont belles", language="fr")
    # Then the same words find them, and English forms of them too
    assert await found(ctx, bob, "kubernetes upgrade") == [none.id]
    assert await found(ctx, bob, "maisons") == [fr.id]


async def test_a_phrase_needs_its_words_in_order(ctx: NodeContext, alice: Account, bob: Account) -> None:
    ordered = await say(ctx, alice, "the release train leaves at five")
    reversed_ = await say(ctx, alice, "train the release team")
    assert set(await found(ctx, bob, "release train")) == {ordered.id, reversed_.id}
    assert await found(ctx, bob, '"release train"') == [ordered.id]
    assert await found(ctx, bob, '"releasing trains"') == [ordered.id]  # stemmed in the phrase too
    assert await found(ctx, bob, 'release -"release train"') == [reversed_.id]
    assert await found(ctx, bob, "train -team") == [ordered.id]


async def test_content_warning_and_alt_text_are_searched(ctx: NodeContext, alice: Account, bob: Account) -> None:
    p = await say(ctx, alice, "look", summary="spoilers about dragons")
    assert await found(ctx, bob, "dragon") == [p.id]


async def test_ranked_then_newest_first_and_paged(ctx: NodeContext, alice: Account, bob: Account) -> None:
    # Given one post that says "outage" three times and older/newer ones that say it once
    once_old = await say(ctx, alice, "an outage and some other words here")
    many = await say(ctx, alice, "outage outage outage")
    once_new = await say(ctx, alice, "an outage and some other words there")
    # Then the best match is first, then newest first; offset/limit and max_id/min_id page it
    assert await found(ctx, bob, "outage") == [many.id, once_new.id, once_old.id]
    assert await found(ctx, bob, "outage", limit=1, offset=1) == [once_new.id]
    assert await found(ctx, bob, "outage", max_id=once_new.id) == [many.id, once_old.id]
    assert await found(ctx, bob, "outage", min_id=many.id) == [once_new.id]


async def test_operators(ctx: NodeContext, alice: Account, bob: Account, carol: Account, sam_at_sales: Account) -> None:
    a = await say(ctx, alice, "standup notes")
    b = await say(ctx, bob, "standup notes too")
    c = await say(ctx, carol, "standup reply", in_reply_to_id=a.id)
    async with ctx.db.session() as s:  # a colleague's post from the organisation's other node
        sam = Post(account_id=sam_at_sales.id, local=False, uri="https://sales.acme.test/n/1",
                   content_html="<p>standup at sales</p>", visibility="public")
        s.add(sam)
        await s.flush()
        from node.post_search import index_posts

        await index_posts(s, [sam])
        # dates: a in January, b in March
        await s.execute(update(Post).where(Post.id == a.id).values(created_at=datetime(2026, 1, 15, 9, tzinfo=UTC)))
        await s.execute(update(Post).where(Post.id == b.id).values(created_at=datetime(2026, 3, 1, 9, tzinfo=UTC)))
        s.add(MediaAttachment(account_id=bob.id, post_id=b.id, position=0, kind="image", state="ready"))
    every = {a.id, b.id, c.id, sam.id}
    assert set(await found(ctx, bob, "standup")) == every
    assert await found(ctx, bob, "standup from:alice") == [a.id]
    assert await found(ctx, bob, "standup from:@alice@eng.acme.test") == [a.id]
    assert await found(ctx, bob, "standup from:me") == [b.id]
    assert await found(ctx, bob, "standup from:sam@sales.acme.test") == [sam.id]
    assert await found(ctx, bob, "from:nobody standup") == []
    assert set(await found(ctx, bob, "standup -from:me")) == every - {b.id}
    assert await found(ctx, bob, "standup before:2026-02-01") == [a.id]
    assert await found(ctx, bob, "standup during:2026-03-01") == [b.id]
    assert set(await found(ctx, bob, "standup after:2026-02-01")) == {b.id, c.id, sam.id}
    assert await found(ctx, bob, "standup has:media") == [b.id]
    assert await found(ctx, bob, "has:image") == [b.id]  # operators alone
    assert await found(ctx, bob, "standup has:video") == []
    assert await found(ctx, bob, "standup has:poll") == []  # no polls yet
    assert await found(ctx, bob, "standup is:reply") == [c.id]
    # in:library: what bob wrote, liked, bookmarked, boosted or was mentioned in
    await interactions.like(ctx, bob, a.id)
    await bookmarks.bookmark(ctx, bob, c.id)
    assert set(await found(ctx, bob, "standup in:library")) == {a.id, b.id, c.id}
    await interactions.boost(ctx, carol, sam.id)
    assert set(await found(ctx, carol, "standup in:library")) == {c.id, sam.id}
    assert set(await found(ctx, bob, "standup in:public")) == every
    assert await found(ctx, bob, "standup", account_id=alice.id) == [a.id]


async def test_kept_current_on_edit_and_delete(ctx: NodeContext, alice: Account, bob: Account) -> None:
    p = await say(ctx, alice, "migration tonight")
    assert await found(ctx, bob, "migration") == [p.id]
    # When alice edits it, Then the old words are gone and the new ones find it
    await posts.edit_post(ctx, alice, p.id, "maintenance window")
    assert await found(ctx, bob, "migration") == []
    assert await found(ctx, bob, "maintenance") == [p.id]
    # When she deletes it, Then nothing finds it, and the index holds no row of it
    await posts.delete_post(ctx, alice, p.id)
    assert await found(ctx, bob, "maintenance") == []
    async with ctx.db.reader() as s:
        assert await search_index.count(s) == 0


async def test_boosts_are_not_indexed(ctx: NodeContext, alice: Account, bob: Account) -> None:
    p = await say(ctx, alice, "quarterly numbers")
    await interactions.boost(ctx, bob, p.id)
    assert await found(ctx, bob, "quarterly") == [p.id]


async def test_reindex_rebuilds_the_index(ctx: NodeContext, alice: Account, bob: Account) -> None:
    # Given posts, and an index emptied behind the node's back
    ps = [await say(ctx, alice, f"incident number {i}") for i in range(5)]
    async with ctx.db.session() as s:
        await search_index.clear(s)
    assert await found(ctx, bob, "incident") == []
    # When reindexed in batches of two, Then every post is found again
    assert await reindex(ctx, batch=2) == 5
    assert set(await found(ctx, bob, "incident")) == {p.id for p in ps}


@pytest.mark.parametrize(
    "raw",
    ['NEAR(deploy', "deploy*", '"deploy', "-deploy", "deploy OR x", "{terms}: deploy", "^deploy", "deploy NOT x",
     "'deploy'", "deploy & !x | y <-> z", "deploy:*", "\\deploy", "deploy" * 2000, "deploy " * 3000, "@deploy"],
)
async def test_hostile_queries_never_raise(ctx: NodeContext, alice: Account, bob: Account, raw: str) -> None:
    # Given a post, When searched with engine syntax, Then the query runs and finds by words only
    await say(ctx, alice, "deploy")
    await find_posts(ctx, bob, search_query.parse(raw, DOMAIN), Window())


async def test_an_invalid_operator_value_is_invalid(ctx: NodeContext, bob: Account) -> None:
    with pytest.raises(Invalid):
        await found(ctx, bob, "deploy before:soon")


async def test_follow_unlocks_followers_posts(ctx: NodeContext, alice: Account, bob: Account) -> None:
    p = await say(ctx, alice, "followers only words", visibility="followers")
    assert await found(ctx, bob, "words") == []
    await follows.follow(ctx, bob, alice.id)
    assert await found(ctx, bob, "words") == [p.id]
