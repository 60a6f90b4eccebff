"""Announcements in a real browser against a real node: root writes one on the admin page
(a refusal first, kept as typed), everyone sees it as a banner over the timelines with its
link, a person dismisses it (a form post: also without JavaScript) and it stays gone for
them alone; withdrawn, nobody sees it. Axe passes at 1280 and 390 px; users get 403 on the
admin page.

The solo node has users alice, lena, mallory, gone and root (its admin)."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.ui.conftest import PHONE, WAIT_MS, UINode, shot, sign_in
from tests.ui.test_accessibility import AXE, violations

WIDE = {"width": 1280, "height": 900}


def signed_in(browser: Browser, node: UINode, name: str, *, phone: bool = False, js: bool = True) -> tuple[BrowserContext, Page]:
    ctx = browser.new_context(viewport=PHONE if phone else WIDE, device_scale_factor=1, is_mobile=phone,
                              bypass_csp=True, java_script_enabled=js)
    ctx.set_default_timeout(WAIT_MS)
    page = ctx.new_page()
    sign_in(page, node, name)
    return ctx, page


def test_an_announcement_is_shown_until_dismissed(node: UINode, browser: Browser) -> None:
    assert AXE.exists()
    word = uuid.uuid4().hex[:6]
    text = f"Office closed on Friday {word}: details at https://intranet.example/closure"
    root_ctx, root = signed_in(browser, node, "root")
    # Given root opens Announcements from the admin navigation
    root.goto(node.url + "/admin/users")
    root.get_by_role("link", name="Announcements").click()
    expect(root.get_by_role("heading", name="Announcements", exact=True)).to_be_visible()
    expect(root.get_by_role("heading", name="No announcements yet")).to_be_visible()
    # When root saves one that ends before it starts  # Then it is refused in words, the text kept
    root.get_by_label(re.compile("^Text")).fill(text)
    root.get_by_label(re.compile("^Starts")).fill("2030-05-02T10:00")
    root.get_by_label(re.compile("^Ends")).fill("2030-05-01T10:00")
    root.get_by_role("button", name="Save announcement").click()
    expect(root.get_by_role("alert")).to_contain_text("end after it starts")
    expect(root.get_by_label(re.compile("^Text"))).to_have_value(text)
    assert violations(root) == []
    # When root clears the period and saves  # Then it is listed, published
    root.get_by_label(re.compile("^Starts")).fill("")
    root.get_by_label(re.compile("^Ends")).fill("")
    root.get_by_role("button", name="Save announcement").click()
    expect(root.get_by_role("status")).to_contain_text("saved")
    row = root.locator("article.announcement-row", has_text=word)
    expect(row.locator(".badge", has_text="Published")).to_be_visible()
    shot(root, "admin-announcements-1280", full_page=True)
    assert violations(root) == []

    # Then alice sees it over her home timeline, its link a link
    alice_ctx, alice = signed_in(browser, node, "alice")
    alice.goto(node.url + "/")
    banner = alice.get_by_role("region", name="Announcements")
    expect(banner).to_contain_text(f"Office closed on Friday {word}")
    expect(banner.get_by_role("link", name=re.compile(r"intranet\.example"))).to_be_visible()
    shot(alice, "announcement-banner-1280")
    assert violations(alice) == []
    # And at 390 px it fits the screen and passes axe
    phone_ctx, phone = signed_in(browser, node, "lena", phone=True)
    phone.goto(node.url + "/")
    expect(phone.get_by_role("region", name="Announcements")).to_contain_text(word)
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways"
    shot(phone, "announcement-banner-390")
    assert violations(phone) == []
    phone_ctx.close()
    # When alice dismisses it  # Then it leaves her timelines, also after a reload and on another one
    banner.get_by_role("button", name=re.compile("^Dismiss")).click()
    expect(alice.get_by_role("region", name="Announcements")).to_have_count(0)
    alice.goto(node.url + "/local")
    expect(alice.get_by_role("heading", level=1)).to_be_visible()
    expect(alice.get_by_role("region", name="Announcements")).to_have_count(0)
    alice_ctx.close()
    # And lena, without JavaScript, still sees it and dismisses it by the form alone
    plain_ctx, plain = signed_in(browser, node, "lena", js=False)
    plain.goto(node.url + "/organization")
    plain.get_by_role("region", name="Announcements").get_by_role("button", name=re.compile("^Dismiss")).click()
    expect(plain).to_have_url(re.compile(r"/organization$"))
    expect(plain.get_by_role("region", name="Announcements")).to_have_count(0)
    plain_ctx.close()
    # When root withdraws it  # Then mallory, who never dismissed it, no longer sees it
    mallory_ctx, mallory = signed_in(browser, node, "mallory")
    mallory.goto(node.url + "/")
    expect(mallory.get_by_role("region", name="Announcements")).to_contain_text(word)
    root.goto(node.url + "/admin/announcements")
    root.locator("article.announcement-row", has_text=word).get_by_role("button", name=re.compile("^Withdraw")).click()
    expect(root.get_by_role("status")).to_contain_text("withdrawn")
    expect(root.locator("article.announcement-row", has_text=word).locator(".badge", has_text="Draft")).to_be_visible()
    mallory.reload()
    expect(mallory.get_by_role("heading", level=1)).to_be_visible()
    expect(mallory.get_by_role("region", name="Announcements")).to_have_count(0)
    # And the admin page is the admins' alone
    assert mallory.goto(node.url + "/admin/announcements").status == 403  # type: ignore[union-attr]
    mallory_ctx.close()
    root_ctx.close()
