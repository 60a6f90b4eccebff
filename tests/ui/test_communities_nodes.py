"""A community across two real nodes in the web UI: pat, on partner, finds a community of eng
by its handle, joins it from its page on partner (web/ui/pages_communities_peer.py: a follow
of the Group, which eng accepts by its own rule) and writes to it there; the post crosses to
eng and shows on the community's own page, re-shared by it, and the community's posts written
on eng show on its page on partner (the Group's Announce, FEP-1b12). Real HTTP between the two
node processes of tests/ui/conftest.py's `nodes` (eng on SQLite, partner on PostgreSQL when
both engines are tested)."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from node import accounts, communities
from node.context import NodeContext
from tests.ui.conftest import UINode, post_card
from tests.ui.test_communities import checked
from tests.ui.test_flows import until_visible
from tests.ui.test_own_lists import Open, on_node, open_as, size  # noqa: F401 - fixtures

__all__ = ["open_as", "size"]


def write(page: Page, text: str) -> None:
    form = page.locator("form.community-compose")
    form.get_by_label(re.compile("^Write to")).fill(text)
    form.get_by_role("button", name="Post", exact=True).click()


def test_a_person_on_another_node_joins_a_community_and_writes_to_it(nodes: dict[str, UINode], open_as: Open,  # noqa: F811
                                                                     size: str) -> None:
    eng, partner = nodes["eng"], nodes["partner"]
    tag = uuid.uuid4().hex[:6]
    name = f"opensource-{size[:2]}-{tag}"
    handle = f"{name}@{eng.domain}"

    async def seed(ctx: NodeContext) -> None:
        # Given a public, open community on eng (partner is a peer eng trusts as a partner)
        alice = await accounts.get_local(ctx, "alice")
        await communities.create_community(ctx, name, audience="public", creator=alice,
                                           display_name=f"Open Source {tag}", description="What we give back upstream.")

    on_node(eng, seed)
    pat, alice = open_as(partner, "pat"), open_as(eng, "alice")
    # When pat, on partner, looks the community up by its handle, he is on its page on partner
    pat.goto(f"{partner.url}/@{handle}")
    expect(pat).to_have_url(re.compile(f"/communities/{re.escape(handle)}$"))
    expect(pat.locator(".community-head").get_by_role("heading", name=f"Open Source {tag}")).to_be_visible()
    expect(pat.locator(".community-head")).to_contain_text(f"on {eng.domain}")
    # And he joins: eng accepts his follow of the Group, and he is a member
    pat.locator(".community-head").get_by_role("button", name="Join").click()
    until_visible(pat, lambda: pat.locator(".community-head").get_by_role("button", name="Leave"), "eng accepting pat's join")
    expect(pat.locator(".community-head")).to_contain_text("1 member here")
    # When he writes to it from its page on partner
    write(pat, f"from-partner-{tag}: our patch to the parser landed upstream")
    expect(post_card(pat, f"from-partner-{tag}")).to_contain_text("Public")
    # Then the post shows on the community's own page on eng, by pat of partner
    alice.goto(f"{eng.url}/communities/{name}")
    card = until_visible(alice, lambda: alice.locator("article.post", has_text=f"from-partner-{tag}"),
                         "pat's post on the community's page on eng")
    expect(card).to_contain_text(f"@pat@{partner.domain}")
    expect(alice.locator(".community-head")).to_contain_text("2 members")
    checked(alice, f"communities-{size}-nodes-eng")
    # And what alice writes to it on eng reaches its page on partner (the community's re-share)
    write(alice, f"from-eng-{tag}: thanks, merged into our fork too")
    expect(post_card(alice, f"from-eng-{tag}")).to_be_visible()
    until_visible(pat, lambda: pat.locator("article.post", has_text=f"from-eng-{tag}"), "alice's post on partner")
    checked(pat, f"communities-{size}-nodes-partner")
    # And it is among pat's communities on partner, with its page here
    pat.goto(f"{partner.url}/communities")
    row = pat.get_by_role("list", name="Your communities").locator("li.community-row", has_text=f"Open Source {tag}")
    expect(row.get_by_role("link").first).to_have_attribute("href", f"/communities/{handle}")
