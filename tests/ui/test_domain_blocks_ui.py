"""Blocking a whole domain from the web UI (issue #20, user-level domain blocks): a remote
person's profile offers "Block domain" behind its "⋯" menu, explained in a sentence; a page asks
once more, saying what it does; then the profile says the domain is blocked, and the blocked
people's page lists it under "Blocked domains" with Unblock. At 1280 and 390 px, axe passing."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.ui.conftest import UINode, shot
from tests.ui.test_accessibility import violations
from tests.ui.test_own_lists import Open, fits
from tests.ui.test_profile_actions import open_as, size  # noqa: F401 - the fixtures

__all__ = ["open_as", "size"]


def test_block_a_domain_from_a_profile_then_unblock_it_from_blocked_people(
    nodes: dict[str, UINode], open_as: Open, size: str  # noqa: F811
) -> None:
    eng, partner = nodes["eng"], nodes["partner"]
    domain = partner.domain
    handle = f"pat@{domain}"
    page = open_as(eng, "lena")
    # Given lena on pat's profile (pat lives on the partner node)
    page.goto(f"{eng.url}/@{handle}")
    # When she opens its "⋯" menu
    page.locator("summary.more-toggle", has_text=f"More for @{handle}").click()
    block = page.get_by_role("button", name=f"Block domain {domain}")
    # Then "Block domain" is there, explained in a sentence
    expect(block).to_be_visible()
    expect(page.get_by_text(f"Hides everyone on {domain} from your timelines")).to_be_visible()
    # When she presses it, a page asks once more, saying what a domain block does
    block.click()
    expect(page.get_by_role("heading", name=f"Block everyone on {domain}?")).to_be_visible()
    expect(page.get_by_text("You will no longer see posts or notifications from anyone on this domain")).to_be_visible()
    assert fits(page) and violations(page) == []
    shot(page, f"domain-block-{size}-confirm")
    # And when she confirms, the profile says the domain is blocked, and offers no second block
    page.get_by_role("button", name=f"Block everyone on {domain}").click()
    expect(page).to_have_url(re.compile(f"/@{re.escape(handle)}$"))
    expect(page.get_by_text(f"You blocked {domain}.")).to_be_visible()
    page.locator("summary.more-toggle", has_text=f"More for @{handle}").click()
    expect(page.get_by_role("button", name=f"Block domain {domain}")).to_have_count(0)
    # And the blocked people's page lists it under "Blocked domains"
    page.goto(eng.url + "/blocks")
    listed = page.get_by_role("list", name="Blocked domains")
    expect(listed).to_contain_text(domain)
    assert fits(page) and violations(page) == []
    shot(page, f"domain-block-{size}-listed", full_page=True)
    # When she unblocks it there, the list says she blocks no domains
    listed.get_by_role("button", name=f"Unblock {domain}").click()
    expect(page.get_by_role("list", name="Blocked domains")).to_contain_text("You block no domains")
    assert fits(page) and violations(page) == []
