"""Who sees what on this node: every visibility against every kind of viewer.

The expected answers are written out by hand, never computed by the code under test.
"""

from __future__ import annotations

import pytest

from node import follows, posts, timelines
from node.context import NodeContext
from node.pagination import Page
from node.posts import NewPost
from storage.errors import NotFound
from storage.models import Account

# viewer -> visibility -> may see (author: alice; bob follows alice; carol mentioned; dan neither)
EXPECTED = {
    "alice (author)":        {"public": 1, "unlisted": 1, "followers": 1, "direct": 1, "organization": 1, "local": 1},
    "bob (follower)":        {"public": 1, "unlisted": 1, "followers": 1, "direct": 0, "organization": 1, "local": 1},
    "carol (mentioned)":     {"public": 1, "unlisted": 1, "followers": 1, "direct": 1, "organization": 1, "local": 1},
    "dan (local stranger)":  {"public": 1, "unlisted": 1, "followers": 0, "direct": 0, "organization": 1, "local": 1},
    "sam (org peer)":        {"public": 1, "unlisted": 1, "followers": 0, "direct": 0, "organization": 1, "local": 0},
    "pat (outside peer)":    {"public": 1, "unlisted": 1, "followers": 0, "direct": 0, "organization": 0, "local": 0},
    "anonymous":             {"public": 1, "unlisted": 1, "followers": 0, "direct": 0, "organization": 0, "local": 0},
}


@pytest.fixture
async def people(ctx: NodeContext, alice: Account, bob: Account, carol: Account, make_account, sam_at_sales: Account, pat_at_partner: Account) -> dict[str, Account | None]:  # type: ignore[no-untyped-def]
    dan = await make_account("dan")
    await follows.follow(ctx, bob, alice.id)
    return {
        "alice (author)": alice,
        "bob (follower)": bob,
        "carol (mentioned)": carol,
        "dan (local stranger)": dan,
        "sam (org peer)": sam_at_sales,
        "pat (outside peer)": pat_at_partner,
        "anonymous": None,
    }


async def test_visibility_matrix_for_single_posts_and_account_lists(ctx: NodeContext, people: dict[str, Account | None]) -> None:
    alice = people["alice (author)"]
    assert alice is not None
    written = {
        v: await posts.create_post(ctx, alice, NewPost(f"{v} post for @carol", visibility=v))
        for v in ("public", "unlisted", "followers", "direct", "organization", "local")
    }
    for who, viewer in people.items():
        listed = {p.id for p in await timelines.account(ctx, viewer, alice.id, Page(limit=40))}
        for visibility, post in written.items():
            expected = bool(EXPECTED[who][visibility])
            try:
                await posts.get_post(ctx, viewer, post.id)
                seen = True
            except NotFound:
                seen = False
            assert seen == expected, f"{who} reading a {visibility} post"
            assert (post.id in listed) == expected, f"{who} listing alice's {visibility} post"
