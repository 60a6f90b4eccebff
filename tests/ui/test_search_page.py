"""The web UI's search page finds posts through the full-text index (docs/search.md): other
forms of a word, German words, operators; a bad operator value is said beside the form, not an
error page; the tips are there; at 1280 and 390 px, with axe-core passing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.ui.conftest import UINode, compose, post_card, shot
from tests.ui.test_accessibility import violations
from tests.ui.test_own_lists import Open, browser_at, fits


@pytest.fixture(params=["desktop", "phone"])
def open_as(browser: Browser, request: pytest.FixtureRequest) -> Iterator[tuple[Open, str]]:
    with browser_at(browser, str(request.param)) as opener:
        yield opener, str(request.param)


def test_search_finds_posts_by_their_words(node: UINode, open_as: tuple[Open, str]) -> None:
    opener, size = open_as
    tag = f"x{uuid.uuid4().hex[:8]}"
    alice, lena = opener(node, "alice"), opener(node, "lena")
    # Given alice's post about a deployment and lena's followers-only one
    alice.goto(node.url + "/compose")
    compose(alice, f"{tag} the deployment finished early", "Public")
    expect(post_card(alice, tag)).to_be_visible()
    lena.goto(node.url + "/compose")
    compose(lena, f"{tag} deployed to my followers only", "Followers")
    # When alice searches another form of the word, with her code word
    alice.goto(node.url + f"/search?q={tag}+deploy")
    # Then her post is found, not lena's (alice does not follow her)
    expect(post_card(alice, "deployment finished early")).to_be_visible()
    assert "my followers only" not in alice.content()
    # And from: narrows it, the tips say what else works
    alice.goto(node.url + f"/search?q={tag}+from:lena")
    expect(alice.get_by_text("No posts found.")).to_be_visible()
    alice.get_by_text("Search tips").click()
    expect(alice.get_by_text("in:library")).to_be_visible()
    assert fits(alice) and violations(alice) == []
    shot(alice, f"search-{size}-tips")
    # When the query has an operator value that cannot be, Then the page says why, beside the form
    alice.goto(node.url + "/search?q=deploy+before:someday")
    expect(alice.get_by_role("alert")).to_contain_text("before:")
    expect(alice.get_by_role("heading", name="Search")).to_be_visible()
    alice.goto(node.url + f"/search?q={tag}+deploy")
    assert fits(alice) and violations(alice) == []
    shot(alice, f"search-{size}-posts", full_page=True)
