"""Explore (trending hashtags and posts inside the organisation, people to follow) and
following a hashtag from its page, at 1280 and 390 px, with axe-core passing."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from node import accounts, interactions, posts
from node.context import NodeContext
from node.posts import NewPost
from tests.ui.conftest import UINode, post_card, shot
from tests.ui.test_accessibility import violations
from tests.ui.test_own_lists import Open, browser_at, fits, go_by_nav, on_node, open_as, size

__all__ = ["browser_at", "open_as", "size"]  # fixtures, used by name


def test_explore_shows_trends_and_people_and_a_tag_can_be_followed(node: UINode, open_as: Open, size: str) -> None:
    tag = f"launch{size}{uuid.uuid4().hex[:6]}"

    async def seed(ctx: NodeContext) -> None:
        lena = await accounts.get_local(ctx, "lena")
        mallory = await accounts.get_local(ctx, "mallory")
        post = await posts.create_post(ctx, lena, NewPost(f"Release notes are out #{tag}"))
        await posts.create_post(ctx, mallory, NewPost(f"Great work #{tag}"))
        await interactions.like(ctx, mallory, post.id)

    # Given lena and mallory posted with a new hashtag this week, and mallory liked lena's post
    on_node(node, seed)
    alice = open_as(node, "alice")
    # When alice opens Explore from the navigation
    go_by_nav(alice, "Explore")
    expect(alice.get_by_role("heading", name="Explore", exact=True)).to_be_visible()
    trend = alice.locator("li.trend", has_text=f"#{tag}")
    # Then the hashtag trends, used by two people, and lena's post is popular
    expect(trend).to_contain_text("2 people, 2 posts in 7 days")
    expect(post_card(alice, f"Release notes are out #{tag}")).to_be_visible()
    # And colleagues she does not follow are suggested, each with a Follow button
    people = alice.get_by_role("region", name="People to follow")
    expect(people.get_by_role("button", name="Follow @lena")).to_be_visible()
    assert fits(alice) and violations(alice) == []
    shot(alice, f"explore-{size}", full_page=True)
    # When she opens the hashtag and follows it
    trend.get_by_role("link", name=f"#{tag}").click()
    alice.get_by_role("button", name=f"Follow #{tag}").click()
    # Then the page says she follows it and offers to unfollow
    expect(alice.locator(".tag-head .follow-state")).to_have_text(re.compile("Following"))
    expect(alice.get_by_role("button", name="Unfollow")).to_be_visible()
    assert fits(alice) and violations(alice) == []
    shot(alice, f"tag-follow-{size}")

    async def later(ctx: NodeContext) -> None:
        await posts.create_post(ctx, await accounts.get_local(ctx, "lena"), NewPost(f"And the changelog #{tag}"))

    # And lena's next post with the tag reaches alice's home, though alice follows nobody
    on_node(node, later)
    go_by_nav(alice, "Home")
    expect(post_card(alice, f"And the changelog #{tag}")).to_be_visible()
    # When she unfollows it from its page, the Follow button is back
    alice.goto(f"{node.url}/tags/{tag}")
    alice.get_by_role("button", name="Unfollow").click()
    expect(alice.get_by_role("button", name=f"Follow #{tag}")).to_be_visible()
