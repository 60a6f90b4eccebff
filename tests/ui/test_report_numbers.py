"""Report numbers people read: #1, #2 on the node's pages and in the answer to the reporter,
not the 18-digit ids (issue #15, "Report numbers"). The module's own node has no reports yet."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.ui.conftest import UINode, compose, new_context, post_card, sign_in

LONG_ID = re.compile(r"#\d{10,}")


def as_user(browser: Browser, node: UINode, name: str) -> tuple[BrowserContext, Page]:
    ctx = new_context(browser)
    page = ctx.new_page()
    sign_in(page, node, name)
    return ctx, page


def report(page: Page, node: UINode, text: str) -> None:
    page.goto(node.url + "/local")
    post_card(page, text).get_by_role("link", name="Report this post by @mallory").click()
    page.get_by_label(re.compile("What is wrong with this post")).fill("Please look.")
    page.get_by_role("button", name="Send report").click()


def test_two_reports_are_numbered_1_and_2_on_the_pages_and_in_the_answer(node: UINode, browser: Browser) -> None:
    contexts: list[BrowserContext] = []
    try:
        text = f"dubious-{uuid.uuid4().hex[:8]}"
        # Given mallory posts something
        c, mallory = as_user(browser, node, "mallory")
        contexts.append(c)
        compose(mallory, text, "Public")
        expect(post_card(mallory, text)).to_be_visible()
        # When alice, then lena report it
        c, alice = as_user(browser, node, "alice")
        contexts.append(c)
        report(alice, node, text)
        # Then alice is told her report's number
        expect(alice.get_by_role("heading", name="Report #1 sent")).to_be_visible()
        expect(alice.get_by_role("status")).to_contain_text("about your report #1.")
        c, lena = as_user(browser, node, "lena")
        contexts.append(c)
        report(lena, node, text)
        expect(lena.get_by_role("heading", name="Report #2 sent")).to_be_visible()
        # And root, the admin, sees #2 and #1 in the open reports, never a long id
        c, root = as_user(browser, node, "root")
        contexts.append(c)
        root.goto(node.url + "/admin/reports")
        expect(root.get_by_role("link", name=re.compile(r"^Report #2 about @mallory"))).to_be_visible()
        first = root.get_by_role("link", name=re.compile(r"^Report #1 about @mallory"))
        expect(first).to_be_visible()
        assert not LONG_ID.search(root.locator("main").inner_text())
        # When root opens #1 and answers alice
        first.click()
        expect(root.get_by_role("heading", name="Report #1", exact=True)).to_be_visible()
        root.get_by_label("Answer to the reporter (optional)").fill("Thanks, we are on it.")
        root.get_by_role("button", name="Resolve report").click()
        expect(root.get_by_role("heading", name="Resolved")).to_be_visible()
        assert not LONG_ID.search(root.locator("main").inner_text())
        # Then the answer alice gets names report #1
        alice.goto(node.url + "/notifications")
        expect(alice.get_by_text("About your report #1: Thanks, we are on it.")).to_be_visible()
    finally:
        for c in contexts:
            c.close()
