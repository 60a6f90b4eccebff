"""Polls in the web UI: alice makes one in the composer, lena votes (without JavaScript: a plain
form), the results show with her vote marked, and once the poll closes everyone sees the final
results and alice and lena get the notification; at 1280 and 390 px, axe passing."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from playwright.sync_api import expect

from node.context import NodeContext
from node.poll_closer import close_due
from storage.models import utcnow
from tests.ui.conftest import UINode, post_card, shot
from tests.ui.test_accessibility import violations
from tests.ui.test_own_lists import Open, fits, on_node, open_as, size  # noqa: F401 - fixtures


def test_a_poll_is_made_voted_and_closed_with_its_results(node: UINode, open_as: Open, size: str) -> None:  # noqa: F811
    text = f"poll-{size}-{uuid.uuid4().hex[:6]}"
    alice, lena = open_as(node, "alice"), open_as(node, "lena", js=False)
    # Given alice writes a post and opens "Add a poll" in the composer
    alice.goto(node.url + "/compose")
    form = alice.locator("form.compose").first
    form.get_by_label("What would you like to share?").fill(f"{text} Where should the offsite be?")
    form.locator("summary", has_text="Add a poll").click()
    form.get_by_label("Option 1", exact=True).fill("Lisbon")
    form.get_by_label("Option 2", exact=True).fill("Oslo")
    form.get_by_label(re.compile("^Option 3")).fill("Rome")
    form.get_by_label("Open for").select_option(label="1 hour")
    assert fits(alice) and violations(alice) == []
    shot(alice, f"polls-{size}-composer")
    # When she posts it, public
    form.get_by_role("radio", name=re.compile("^Public")).check()
    form.get_by_role("button", name="Post", exact=True).click()
    # Then her post shows the poll, open, with nobody's vote yet
    card = post_card(alice, text)
    expect(card.locator(".poll")).to_be_visible()
    expect(card.get_by_text("0 people voted")).to_be_visible()
    post_url = node.url + str(card.locator("a.when").get_attribute("href"))
    alice.goto(post_url)  # its page: the vote form (she may vote too, as on Mastodon)
    expect(post_card(alice, text).get_by_role("button", name="Vote")).to_be_visible()
    assert fits(alice) and violations(alice) == []
    shot(alice, f"polls-{size}-open")
    # When lena (a browser without JavaScript) opens it and votes Oslo
    lena.goto(post_url)
    poll = post_card(lena, text).locator(".poll")
    poll.get_by_label("Oslo").check()
    poll.get_by_role("button", name="Vote").click()
    # Then she sees the results, her vote marked
    results = post_card(lena, text).get_by_role("list", name="Poll results")
    expect(results).to_be_visible()
    expect(results.locator("li.mine")).to_have_text(re.compile(r"100%\s*Oslo \(your vote\)"))
    expect(post_card(lena, text).get_by_text("1 person voted")).to_be_visible()
    assert fits(lena)  # (axe needs script: it checks alice's pages)
    shot(lena, f"polls-{size}-voted")
    # When the poll's time is up (the closer runs, its clock moved on)
    async def close(ctx: NodeContext) -> None:
        assert await close_due(ctx, now=utcnow() + timedelta(hours=2)) >= 1

    on_node(node, close)
    # Then alice's post says it closed and shows the final results (no vote form any more)
    alice.goto(post_url)
    card = post_card(alice, text)
    expect(card.get_by_text("Closed")).to_be_visible()
    expect(card.get_by_role("button", name="Vote")).to_have_count(0)
    expect(card.get_by_role("list", name="Poll results").locator("li")).to_have_text(
        [re.compile(r"0%\s*Lisbon"), re.compile(r"100%\s*Oslo"), re.compile(r"0%\s*Rome")])
    assert fits(alice) and violations(alice) == []
    shot(alice, f"polls-{size}-closed")
    # And both are told on their notifications page
    for page in (alice, lena):
        page.goto(node.url + "/notifications")
        expect(page.locator("li.notification[data-type=poll]", has_text=text).first).to_contain_text(
            "ran a poll that has ended")
    assert violations(alice) == []
