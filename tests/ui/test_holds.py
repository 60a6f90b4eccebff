"""The legal holds page in a real browser against a real node (docs/compliance.md "Legal
hold"): an admin places a hold (a mistake first, shown and kept), sees it by case, releases it
after the page that asks again; users get 403; the page passes axe at 1280 and 390 px; the
staff's view of a post says the retention that applies to it.

The solo node has users alice, lena, mallory, gone and root (its admin)."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.ui.conftest import PHONE, WAIT_MS, UINode, compose, post_card, shot, sign_in
from tests.ui.test_accessibility import AXE, violations

WIDE = {"width": 1280, "height": 900}


def signed_in(browser: Browser, node: UINode, name: str, *, phone: bool = False) -> tuple[BrowserContext, Page]:
    ctx = browser.new_context(viewport=PHONE if phone else WIDE, device_scale_factor=1, is_mobile=phone, bypass_csp=True)
    ctx.set_default_timeout(WAIT_MS)
    page = ctx.new_page()
    sign_in(page, node, name)
    return ctx, page


def test_an_admin_places_and_releases_a_hold(node: UINode, browser: Browser) -> None:
    assert AXE.exists()
    case = f"Acme v. Widgets {uuid.uuid4().hex[:4]}"
    ctx, page = signed_in(browser, node, "root")
    # Given root opens Legal holds from the admin navigation
    page.goto(node.url + "/admin/users")
    page.get_by_role("link", name="Legal holds").click()
    expect(page.get_by_role("heading", name="Legal holds", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="No account is on hold")).to_be_visible()
    # When root names an account that does not exist  # Then the error is shown and the form keeps what was typed
    page.get_by_label("Case").fill(case)
    page.get_by_role("textbox", name=re.compile("^Account")).fill("nobody")
    page.get_by_label(re.compile("^Reason")).fill("subpoena 12")
    page.get_by_role("button", name="Place hold").click()
    expect(page.get_by_role("alert")).to_contain_text("no account 'nobody'")
    expect(page.get_by_label("Case")).to_have_value(case)
    assert violations(page) == []
    # When root fixes it to lena  # Then lena is listed under the case, with the reason
    page.get_by_role("textbox", name=re.compile("^Account")).fill("lena")
    page.get_by_role("button", name="Place hold").click()
    expect(page.get_by_role("status")).to_contain_text("on hold")
    section = page.locator("section.hold-case", has_text=case)
    expect(section.get_by_role("link", name="@lena")).to_be_visible()
    expect(section).to_contain_text("subpoena 12")
    expect(section).to_contain_text("@root (web UI)")
    shot(page, "admin-holds-1280", full_page=True)
    assert violations(page) == []
    # When the same hold is placed again  # Then it is refused, in words
    page.get_by_label("Case").fill(case)
    page.get_by_role("textbox", name=re.compile("^Account")).fill("lena")
    page.get_by_role("button", name="Place hold").click()
    expect(page.get_by_role("alert")).to_contain_text("already held")
    # And at 390 px the page fits the screen and passes axe
    phone_ctx, phone = signed_in(browser, node, "root", phone=True)
    phone.goto(node.url + "/admin/holds")
    expect(phone.locator("section.hold-case", has_text=case)).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways"
    shot(phone, "admin-holds-390", full_page=True)
    assert violations(phone) == []
    phone_ctx.close()
    # When root releases it  # Then a page explains the release and asks again; Cancel keeps the hold
    page.goto(node.url + "/admin/holds")
    section.get_by_role("button", name=re.compile("Release @lena")).click()
    expect(page.get_by_role("heading", name=re.compile("Release the hold of @lena"))).to_be_visible()
    expect(page.locator(".confirm-what")).to_contain_text("retention removes its expired posts again")
    assert violations(page) == []
    page.get_by_role("link", name="Cancel").click()
    expect(page.locator("section.hold-case", has_text=case)).to_be_visible()
    section.get_by_role("button", name=re.compile("Release @lena")).click()
    page.get_by_role("button", name=re.compile("^Release the hold")).click()
    expect(page.get_by_role("status")).to_contain_text("released")
    expect(page.locator("section.hold-case", has_text=case)).to_have_count(0)
    # And the decision log has both changes
    page.goto(node.url + "/admin/policy")
    expect(page.get_by_text("admin:place-hold").first).to_be_visible()
    expect(page.get_by_text("admin:release-hold").first).to_be_visible()
    ctx.close()


def test_users_get_403_and_the_staff_see_a_post_s_retention(node: UINode, browser: Browser) -> None:
    # Given alice, a user, and a post of hers
    ctx, page = signed_in(browser, node, "alice")
    text = f"retained-{uuid.uuid4().hex[:8]}"
    compose(page, text, "Public")
    expect(post_card(page, text)).to_be_visible()
    post_id = post_card(page, text).get_attribute("data-id")
    # Then the holds page and its forms are refused to her, and her links do not name it
    expect(page.get_by_role("link", name="Legal holds")).to_have_count(0)
    response = page.goto(node.url + "/admin/holds")
    assert response is not None and response.status == 403
    page.goto(node.url + "/settings")
    token = page.locator("input[name=csrf]").first.get_attribute("value") or ""
    answer = ctx.request.post(node.url + "/admin/holds", form={"csrf": token, "case": "x", "account": "alice"}, max_redirects=0)
    assert answer.status == 403
    # And she is not shown the retention of her post; root is
    page.goto(f"{node.url}/@alice/{post_id}")
    expect(page.locator("#retention")).to_have_count(0)
    ctx.close()
    ctx, page = signed_in(browser, node, "root")
    page.goto(f"{node.url}/@alice/{post_id}")
    expect(page.locator("#retention")).to_contain_text("kept forever: no retention rule applies")
    # And a hold id that is not one answers 404, and a form without its CSRF token is refused
    page.goto(node.url + "/admin/holds")
    answer = ctx.request.post(node.url + "/admin/holds/12345/release", form={
        "csrf": page.locator("input[name=csrf]").first.get_attribute("value") or "", "confirmed": "yes"}, max_redirects=0)
    assert answer.status == 404
    answer = ctx.request.post(node.url + "/admin/holds", form={"case": "x", "account": "alice"}, max_redirects=0)
    assert answer.status in (400, 403)
    # And hostile values are refused with their reason, nothing held: a huge case name, an empty one,
    # another node's account, a username full of markup
    token = page.locator("input[name=csrf]").first.get_attribute("value") or ""
    for fields, words in (({"case": "c" * 5000, "account": "alice"}, "at most 128"),
                          ({"case": "   ", "account": "alice"}, "needs a case name"),
                          ({"case": "x", "account": "pat@partner.example"}, "another node"),
                          ({"case": "x", "account": "<script>alert(1)</script>"}, "no account")):
        answer = ctx.request.post(node.url + "/admin/holds", form={"csrf": token, **fields}, max_redirects=0)
        assert 400 <= answer.status < 500 and words in answer.text(), fields
        assert "<script>alert(1)</script>" not in answer.text()
    page.goto(node.url + "/admin/holds")
    expect(page.get_by_role("heading", name="No account is on hold")).to_be_visible()
    ctx.close()
