"""Mentions in a post open the mentioned person's page on the reader's own node, where the
reader is signed in, not their page on their node (issue #15, "Mention links leave the node")."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Browser, expect

from tests.ui.conftest import UINode, compose, new_context, post_card, sign_in


def test_a_mention_of_a_remote_person_opens_their_page_here(nodes: dict[str, UINode], browser: Browser) -> None:
    eng, partner = nodes["eng"], nodes["partner"]
    pat_handle = f"pat@{partner.domain}"
    ctx = new_context(browser)
    try:
        page = ctx.new_page()
        # Given alice on eng has looked pat on partner up, so eng knows him
        sign_in(page, eng, "alice")
        page.goto(f"{eng.url}/@{pat_handle}")
        expect(page.get_by_text(f"@{pat_handle}").first).to_be_visible()
        # When she posts mentioning him and lena (on eng)
        text = f"hello-{uuid.uuid4().hex[:8]}"
        page.goto(eng.url + "/")
        compose(page, f"{text} @{pat_handle} and @lena", "Public")
        card = post_card(page, text)
        expect(card).to_be_visible()
        # Then both mentions link to the pages of this node, in the same tab
        pat_link = card.locator(".content a.mention", has_text="pat")
        expect(pat_link).to_have_attribute("href", f"/@{pat_handle}")
        expect(card.locator(".content a.mention", has_text="lena")).to_have_attribute("href", "/@lena")
        expect(pat_link).not_to_have_attribute("target", "_blank")
        # And following pat's link keeps alice on eng, signed in, on pat's profile
        pat_link.click()
        expect(page).to_have_url(f"{eng.url}/@{pat_handle}")
        expect(page.get_by_role("button", name=re.compile("Sign out"))).to_be_visible()
        # While the stored HTML, which the client API serves, keeps pat's own address
        statuses = page.request.get(f"{eng.url}/api/v1/timelines/public?local=true").json()
        mine = next(s for s in statuses if text in s["content"])
        assert f'href="{partner.url}/@pat"' in mine["content"]
    finally:
        ctx.close()
