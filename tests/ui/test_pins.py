"""Pinned posts in the web UI (issue #18): "Pin to profile" under one's own post, the pinned
post first on the profile with a "Pinned" label (for every reader), "Unpin" to take it back;
a sixth pin is refused with the reason. Without JavaScript (plain form posts), at 1280 and
390 px, with axe-core passing."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from node import accounts, posts
from node.context import NodeContext
from node.posts import NewPost
from tests.ui.conftest import UINode, post_card, shot
from tests.ui.test_accessibility import violations
from tests.ui.test_own_lists import SIZES, Open, browser_at, fits, on_node


@pytest.fixture(params=list(SIZES))
def size(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_as(browser: Browser, size: str) -> Iterator[Open]:
    with browser_at(browser, size) as opener:
        yield opener


def person_with_posts(node: UINode, name: str, texts: list[str]) -> None:
    """A new person NAME (password NAME-password) who wrote `texts`, oldest first."""

    async def make(ctx: NodeContext) -> None:
        author = await accounts.create_user(ctx, name, f"{name}-password")
        for text in texts:
            await posts.create_post(ctx, author, NewPost(text))

    on_node(node, make)


def test_pin_a_post_to_the_profile_and_unpin_it(node: UINode, open_as: Open, size: str) -> None:
    tag = uuid.uuid4().hex[:6]
    me, reader = f"pk{tag}", f"pr{tag}"
    texts = [f"pin-{tag}-{n}" for n in range(6)]
    # Given a person with six posts, and a colleague
    person_with_posts(node, me, texts)
    person_with_posts(node, reader, [])
    page = open_as(node, me, js=False)
    page.goto(f"{node.url}/@{me}")
    expect(page.locator("section.pinned-posts")).to_have_count(0)
    # When she presses "Pin to profile" under her oldest post
    post_card(page, texts[0]).get_by_role("button", name="Pin to profile").click()
    # Then it is first on her profile, labelled Pinned, with Unpin under it, and not again below
    pinned = page.locator("section.pinned-posts")
    expect(pinned.locator("article.post")).to_have_count(1)
    expect(pinned.locator("article.post").first).to_contain_text(texts[0])
    expect(pinned.locator(".pinned-label")).to_have_text(re.compile(r"Pinned\s*$"))
    expect(pinned.get_by_role("button", name="Unpin")).to_be_visible()
    expect(page.locator("article.post", has_text=texts[0])).to_have_count(1)
    first_article = page.locator("article.post").first
    expect(first_article).to_contain_text(texts[0])
    # And her colleague sees it first too, labelled, with no pin button (it is not theirs)
    other = open_as(node, reader)
    other.goto(f"{node.url}/@{me}")
    expect(other.locator("section.pinned-posts article.post")).to_contain_text(texts[0])
    expect(other.locator(".pinned-label")).to_be_visible()
    expect(other.get_by_role("button", name="Pin to profile")).to_have_count(0)
    assert fits(other) and violations(other) == []
    # When she pins four more, five are pinned, the latest pin first
    for text in texts[1:5]:
        post_card(page, text).get_by_role("button", name="Pin to profile").click()
    expect(pinned.locator("article.post")).to_have_count(5)
    expect(pinned.locator("article.post").first).to_contain_text(texts[4])
    checked = open_as(node, me)
    checked.goto(f"{node.url}/@{me}")
    assert fits(checked) and violations(checked) == []
    shot(checked, f"pins-{size}-profile")
    # And a sixth is refused with the reason, her five kept
    post_card(page, texts[5]).get_by_role("button", name="Pin to profile").click()
    expect(page.get_by_text("at most 5 posts can be pinned")).to_be_visible()
    page.goto(f"{node.url}/@{me}")
    expect(pinned.locator("article.post")).to_have_count(5)
    # When she unpins one, it goes back among her posts, unlabelled
    pinned.locator("article.post", has_text=texts[2]).get_by_role("button", name="Unpin").click()
    expect(pinned.locator("article.post")).to_have_count(4)
    expect(page.locator("section.posts:not(.pinned-posts) article.post", has_text=texts[2])).to_have_count(1)
    expect(post_card(page, texts[2]).get_by_role("button", name="Pin to profile")).to_be_visible()
