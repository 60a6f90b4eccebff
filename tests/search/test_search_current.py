"""The index follows a post wherever it was made: a local author's post through the calls the
client API and web UI make, and a peer's, as signed activities to the inbox over real HTTP
(the scene of tests/node/test_post_effects_parity.py) — indexed on arrival, the old words
gone after an edit, gone after a delete. Both engines."""

from __future__ import annotations

import pytest

from node import search_query
from node.post_search import Window, find_posts
from tests.node.test_post_effects_parity import (  # noqa: F401 - fixtures
    Author,
    Scene,
    authors,
    local_author,
    peer,
    peer_author,
    scene,
)


async def _found(scene: Scene, q: str) -> list[int]:  # noqa: F811 - `scene` is the fixture's value
    query = search_query.parse(q, scene.ctx.domain)
    return [p.id for p in await find_posts(scene.ctx, scene.alice, query, Window())]


@pytest.mark.parametrize("via", ["local", "peer"])
async def test_indexed_on_arrival_and_kept_current(scene: Scene, authors: dict[str, Author], via: str) -> None:  # noqa: F811
    author = authors[via]
    # Given a post about deployments, When alice searches a form of the word, Then it is found
    post = await author.say("Deployments are frozen until Monday")
    assert await _found(scene, "deploy") == [post.id]
    # When its author edits it, Then the old words no longer find it, the new ones do
    await author.edit(post, "Releases resume on Tuesday")
    assert await _found(scene, "deploy") == []
    assert await _found(scene, "released tuesday") == [post.id]
    # When its author deletes it, Then nothing finds it
    await author.delete(post)
    assert await _found(scene, "release") == []
