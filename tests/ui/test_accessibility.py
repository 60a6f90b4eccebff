"""Accessibility checked, not claimed: axe-core (npm, pinned in tests/ui/axe) runs in the browser
on every main page, at desktop and at phone width (390 px), in light and dark colours, and
finds no serious or critical violation. The run saves a screenshot of each page.

scripts/test installs axe-core (scripts/lib/ensure-axe). The pages' Content-Security-Policy
admits only the node's own scripts, so the browser context that injects axe bypasses it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.ui.conftest import DESKTOP, PHONE, WAIT_MS, UINode, compose, post_card, shot, sign_in

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA, plus axe's best practices.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING = ("serious", "critical")


def axe_context(browser: Browser, *, phone: bool, dark: bool = False) -> BrowserContext:
    ctx = browser.new_context(viewport=PHONE if phone else DESKTOP, device_scale_factor=1, is_mobile=phone,
                              bypass_csp=True, color_scheme="dark" if dark else "light")
    ctx.set_default_timeout(WAIT_MS)
    return ctx


def violations(page: Page) -> list[str]:
    """axe's serious and critical findings on the page as it is now, one line each."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"] if v["impact"] in BLOCKING
    ]


@pytest.fixture(scope="module")
def pages(node: UINode, browser: Browser) -> dict[str, str]:
    """Content for every main page: a post (thread), a report about it, a suspended account,
    and the paths of each page to check (name -> path)."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run scripts/lib/ensure-axe (scripts/test does)")
    ctx = axe_context(browser, phone=False)
    page = ctx.new_page()
    text = f"accessible-{uuid.uuid4().hex[:8]} #a11y with a mention of @lena"
    sign_in(page, node, "alice")
    compose(page, text, "Public")
    expect(post_card(page, text)).to_be_visible()
    post_id = post_card(page, text).get_attribute("data-id")
    ctx.close()
    ctx = axe_context(browser, phone=False)
    page = ctx.new_page()
    sign_in(page, node, "lena")
    page.goto(f"{node.url}/report/{post_id}")
    page.get_by_label(re.compile("What is wrong")).fill("Checking the report pages.")
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_role("status")).to_be_visible()
    ctx.close()
    ctx = axe_context(browser, phone=False)
    page = ctx.new_page()
    sign_in(page, node, "root")
    page.goto(node.url + "/admin/reports")
    page.get_by_role("link", name=re.compile("about @alice")).first.click()
    report_path = page.url.removeprefix(node.url)
    page.goto(node.url + "/admin/accounts?q=gone")
    page.get_by_role("button", name="Suspend @gone").click()
    page.get_by_role("button", name="Suspend @gone").click()  # on the page that asks again
    expect(page.get_by_role("status")).to_be_visible()
    ctx.close()
    return {
        "home": "/", "compose": "/compose", "thread": f"/@alice/{post_id}", "profile": "/@alice",
        "notifications": "/notifications", "search": "/search?q=a11y", "settings": "/settings",
        "conversations": "/conversations", "bookmarks": "/bookmarks", "favourites": "/favourites",
        "blocks": "/blocks", "mutes": "/mutes", "lists": "/lists", "filters": "/settings/filters", "filter-new": "/settings/filters/new",
        "report-form": f"/report/{post_id}", "admin-reports": "/admin/reports", "admin-report": report_path,
        "admin-moderation": "/admin/accounts?q=alice", "admin-users": "/admin/users",
        "admin-policy": "/admin/policy", "admin-federation": "/admin/federation", "admin-holds": "/admin/holds",
    }


@pytest.fixture(params=["desktop", "phone", "dark-phone"])
def axe_page(request: pytest.FixtureRequest, browser: Browser) -> Iterator[tuple[str, Page]]:
    ctx = axe_context(browser, phone=request.param != "desktop", dark=request.param.startswith("dark"))
    yield request.param, ctx.new_page()
    ctx.close()


def test_the_sign_in_page_has_no_serious_violations(node: UINode, axe_page: tuple[str, Page]) -> None:
    size, page = axe_page
    page.goto(node.url + "/signin")
    shot(page, f"a11y-{size}-signin")
    assert violations(page) == []
    # A failed sign-in shows its error: that state is checked too
    page.get_by_label("Username or email").fill("alice")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert violations(page) == []


def test_every_main_page_has_no_serious_violations(node: UINode, pages: dict[str, str], axe_page: tuple[str, Page]) -> None:
    size, page = axe_page
    sign_in(page, node, "root")
    found: dict[str, list[str]] = {}
    for name, path in pages.items():
        response = page.goto(node.url + path)
        assert response is not None and response.status == 200, (name, path)
        shot(page, f"a11y-{size}-{name}", full_page=True)
        if problems := violations(page):
            found[name] = problems
    assert found == {}


def test_the_main_flows_work_at_phone_width(node: UINode, browser: Browser) -> None:
    """At 390 px: sign in, post, open the thread, report it, and (as staff) see the report."""
    ctx = axe_context(browser, phone=True)
    page = ctx.new_page()
    text = f"from-a-phone-{uuid.uuid4().hex[:8]}"
    sign_in(page, node, "mallory")
    page.goto(node.url + "/compose")
    compose(page, text, "Public")
    card = post_card(page, text)
    expect(card).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways"
    card.locator("a.when").click()
    expect(page.locator("article.post", has_text=text).first).to_be_visible()
    assert violations(page) == []
    post_path = page.url.removeprefix(node.url)
    ctx.close()
    # Another user reports it from a phone
    ctx = axe_context(browser, phone=True)
    page = ctx.new_page()
    sign_in(page, node, "lena")
    page.goto(node.url + "/report/" + post_path.rsplit("/", 1)[1])
    page.get_by_label(re.compile("What is wrong")).fill("Sent from a phone.")
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_role("status")).to_be_visible()
    ctx.close()
    # And the admin handles it from a phone: through the navigation to the report, resolved
    ctx = axe_context(browser, phone=True)
    page = ctx.new_page()
    sign_in(page, node, "root")
    page.get_by_role("link", name="Menu").click()
    page.get_by_role("link", name="Reports").click()
    page.get_by_role("link", name=re.compile("about @mallory")).first.click()
    expect(page.get_by_text("Sent from a phone.")).to_be_visible()
    page.get_by_label("Answer to the reporter (optional)").fill("Looked at it, all fine.")
    page.get_by_role("button", name="Resolve report").click()
    expect(page.get_by_role("heading", name="Resolved")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the report page scrolls sideways"
    assert violations(page) == []
    page.goto(node.url + "/admin/users")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the users page scrolls sideways"
    page.goto(node.url + "/admin/policy")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the policy page scrolls sideways"
    shot(page, "phone-admin-policy")
    ctx.close()


def test_the_check_itself_finds_a_planted_violation(node: UINode, browser: Browser) -> None:
    """The checks above would pass vacuously if axe never ran: a page with a known problem fails."""
    ctx = axe_context(browser, phone=False)
    page = ctx.new_page()
    page.goto(node.url + "/signin")
    page.evaluate("document.querySelector('label[for]').remove()")  # an input without a label
    assert any(v.startswith("label (critical)") for v in violations(page))
    ctx.close()
