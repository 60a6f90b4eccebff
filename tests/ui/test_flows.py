"""The employees' main flows in a real browser, across two real nodes.

eng trusts partner as `partner`; partner trusts eng as `public`. eng's content rule keeps
posts naming "project-orion" inside the organisation.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable

from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.ui.conftest import UINode, compose, new_context, post_card, shot, sign_in

AUDIENCE_LABELS = {
    "public": "Public",
    "unlisted": "Unlisted",
    "followers": "Followers",
    "direct": "Mentioned people only",
    "organization": "Organisation",
    "local": "This node only",
}


def unique(word: str) -> str:
    return f"{word}-{uuid.uuid4().hex[:8]}"


def until_visible(
    page: Page, find: Callable[[], Locator], what: str, timeout: float = 45.0, *, in_page: bool = False
) -> Locator:
    """Reload until `find()` shows (deliveries between nodes are asynchronous); `in_page`
    accepts it inside a closed content warning too."""
    deadline = time.monotonic() + timeout
    while True:
        locator = find()
        if locator.count() and (in_page or locator.first.is_visible()):
            return locator.first
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        page.wait_for_timeout(500)
        page.reload()


def test_first_run_makes_the_first_admin_only_with_the_setup_token(nodes: dict[str, UINode], context: BrowserContext) -> None:
    eng = nodes["eng"]
    page = context.new_page()
    # Given a node no one has set up, a visit to its start page leads to the first-run page
    page.goto(eng.url + "/")
    expect(page).to_have_url(re.compile("/setup$"))
    shot(page, "setup")
    # When someone tries a wrong token, no admin is made
    page.get_by_label("Setup token").fill("not-the-token")
    page.get_by_label("Administrator's username").fill("root")
    page.get_by_label("Password", exact=True).fill("admin-password")
    page.get_by_label("Password again").fill("admin-password")
    page.get_by_role("button", name="Create the administrator").click()
    expect(page.get_by_role("alert")).to_have_text("wrong setup token")
    # When the token `atrium init` printed is given
    page.get_by_label("Setup token").fill(eng.setup_token)
    page.get_by_label("Password", exact=True).fill("admin-password")
    page.get_by_label("Password again").fill("admin-password")
    page.get_by_role("button", name="Create the administrator").click()
    # Then the admin is signed in on the home timeline, and the page is gone for good
    expect(page.get_by_role("heading", name="Home")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Sign out @root"))).to_be_visible()
    page.goto(eng.url + "/setup")
    expect(page.get_by_role("heading", name="Already set up")).to_be_visible()


def test_posting_with_each_audience_says_where_it_goes(nodes: dict[str, UINode], context: BrowserContext) -> None:
    eng = nodes["eng"]
    page = context.new_page()
    sign_in(page, eng, "alice")
    # The selector says in plain words where each audience goes
    selector = page.get_by_role("group", name="Who can see this?")
    expect(selector).to_contain_text(f"Only people on {eng.domain}; it never leaves this node")
    expect(selector).to_contain_text("Only the people you mention")
    expect(selector).to_contain_text("including followers on partner nodes")
    expect(selector).to_contain_text("never sent outside the organisation")
    shot(page, "compose")
    for visibility, label in AUDIENCE_LABELS.items():
        text = unique(f"audience-{visibility}")
        compose(page, text, label)
        card = post_card(page, text)
        expect(card).to_be_visible()
        expect(card.locator(".audience")).to_have_text(label)
    # An organisation post is kept from the partner, and the post says so
    expect(post_card(page, "audience-organization").locator(".kept")).to_contain_text(nodes["partner"].domain)
    # A content rule keeps a public post from the partner too
    secret = unique("About project-orion")
    compose(page, secret, "Public")
    expect(post_card(page, secret).locator(".kept")).to_contain_text("orion")
    expect(post_card(page, "audience-public").locator(".kept")).to_have_count(0)
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "home")
    # The organisation timeline holds the organisation post; this node's, the local-only one
    page.goto(eng.url + "/organization")
    expect(post_card(page, "audience-organization")).to_be_visible()
    expect(post_card(page, "audience-followers")).to_have_count(0)
    page.goto(eng.url + "/local")
    expect(post_card(page, "audience-local")).to_be_visible()
    # A reader not signed in sees only the public post there
    page.get_by_role("button", name=re.compile("Sign out")).click()
    page.goto(eng.url + "/local")
    expect(post_card(page, "audience-public")).to_be_visible()
    for hidden in ("local", "organization", "followers", "direct", "unlisted"):
        expect(post_card(page, f"audience-{hidden}")).to_have_count(0)


def test_follow_a_remote_user_by_handle_then_their_posts_reach_your_node(
    nodes: dict[str, UINode], browser: Browser
) -> None:
    eng, partner = nodes["eng"], nodes["partner"]
    alice_ctx, pat_ctx = new_context(browser), new_context(browser)
    try:
        pat = pat_ctx.new_page()
        sign_in(pat, partner, "pat")
        # Given pat on partner finds alice on eng by her handle and follows her
        pat.get_by_label("Search people, hashtags and posts").fill(f"alice@{eng.domain}")
        pat.keyboard.press("Enter")
        pat.get_by_role("link", name=re.compile(f"@alice@{re.escape(eng.domain)}")).click()
        pat.get_by_role("button", name="Follow", exact=True).click()
        until_visible(pat, lambda: pat.get_by_role("button", name="Unfollow"), "eng to accept pat's follow")
        shot(pat, "profile-remote")
        # Then alice is notified
        alice = alice_ctx.new_page()
        sign_in(alice, eng, "alice")
        alice.goto(eng.url + "/notifications")
        expect(alice.locator(".notification", has_text="followed you")).to_contain_text(f"pat@{partner.domain}")
        shot(alice, "notifications")
        # When alice posts to her followers, and to the organisation
        for_followers = unique("for my followers")
        inside = unique("inside the organisation")
        alice.goto(eng.url + "/")
        compose(alice, for_followers, "Followers")
        expect(post_card(alice, for_followers)).to_be_visible()
        compose(alice, inside, "Organisation")
        expect(post_card(alice, inside)).to_be_visible()
        # Then the followers post reaches pat's home on partner; the organisation one never does
        pat.goto(partner.url + "/")
        card = until_visible(pat, lambda: post_card(pat, for_followers), "alice's post on partner")
        expect(card.locator(".audience")).to_have_text("Followers")
        expect(post_card(pat, inside)).to_have_count(0)
        # And pat can open alice's post there and like it; alice is told
        card.locator("button[aria-label^='Like']").click()
        expect(post_card(pat, for_followers).locator("button[aria-label^='Unlike']")).to_be_visible()
        alice.goto(eng.url + "/notifications")
        until_visible(alice, lambda: alice.locator(".notification", has_text="liked your post"), "pat's like on eng")
    finally:
        alice_ctx.close()
        pat_ctx.close()


def test_reply_like_boost_in_a_thread_notify_the_author(nodes: dict[str, UINode], browser: Browser) -> None:
    eng = nodes["eng"]
    alice_ctx, lena_ctx = new_context(browser), new_context(browser)
    try:
        alice, lena = alice_ctx.new_page(), lena_ctx.new_page()
        sign_in(alice, eng, "alice")
        text = unique("Thread starter #atriumui")
        compose(alice, text, "Public")
        expect(post_card(alice, text)).to_be_visible()
        # Given lena opens alice's post from the local timeline
        sign_in(lena, eng, "lena")
        lena.goto(eng.url + "/local")
        post_card(lena, text).locator("a.when").click()
        expect(lena.locator(".focus")).to_contain_text(text)
        # When she likes, boosts and replies
        lena.locator(".focus button[aria-label^='Like']").click()
        expect(lena.locator(".focus button[aria-label^='Unlike']")).to_have_attribute("aria-pressed", "true")
        lena.locator(".focus button[aria-label^='Boost']").click()
        expect(lena.locator(".focus button[aria-label^='Undo boost']")).to_be_visible()
        reply = unique("A reply")
        compose(lena, reply, "Public")
        expect(lena.locator(".thread")).to_contain_text(reply)
        shot(lena, "thread")
        # Then alice is told of each, and the hashtag page lists the post
        alice.goto(eng.url + "/notifications")
        for words in ("liked your post", "boosted your post", "replied to your post"):
            expect(alice.locator(".notification", has_text=words).first).to_contain_text("lena")
        alice.goto(eng.url + "/tags/atriumui")
        expect(post_card(alice, text)).to_be_visible()
        # And search finds the post and people by name
        alice.goto(eng.url + "/search?q=" + text.split(" ")[0])
        expect(post_card(alice, text)).to_be_visible()
        alice.goto(eng.url + "/search?q=len")
        expect(alice.locator(".people")).to_contain_text("@lena")
        shot(alice, "search")
    finally:
        alice_ctx.close()
        lena_ctx.close()


def test_a_locked_account_approves_follow_requests(nodes: dict[str, UINode], browser: Browser) -> None:
    eng = nodes["eng"]
    alice_ctx, lena_ctx = new_context(browser), new_context(browser)
    try:
        alice, lena = alice_ctx.new_page(), lena_ctx.new_page()
        # Given lena approves her followers herself
        sign_in(lena, eng, "lena")
        lena.goto(eng.url + "/settings")
        lena.get_by_label("Approve new followers myself").check()
        lena.get_by_role("button", name="Save profile").click()
        expect(lena.get_by_role("status")).to_have_text("Your profile is saved.")
        # When alice asks to follow her
        sign_in(alice, eng, "alice")
        alice.goto(eng.url + "/@lena")
        alice.get_by_role("button", name="Follow", exact=True).click()
        expect(alice.locator(".follow-state")).to_have_text("Requested")
        expect(alice.get_by_role("button", name="Cancel request")).to_be_visible()
        # Then lena is told (the navigation counts it until she has read it), approves, and alice follows her
        lena.goto(eng.url + "/")
        expect(lena.locator(".sidenav .count")).to_have_attribute("aria-label", re.compile(r"^\d+\+? unread$"))
        lena.get_by_role("link", name=re.compile("^Notifications")).click()
        expect(lena.locator(".notification", has_text="asked to follow you").first).to_contain_text("alice")
        lena.goto(eng.url + "/")
        expect(lena.locator(".sidenav .count")).to_have_count(0)
        lena.goto(eng.url + "/follow_requests")
        lena.get_by_role("button", name="Approve alice").click()
        expect(lena.locator(".people")).to_contain_text("No one is waiting")
        alice.reload()
        expect(alice.get_by_role("button", name="Unfollow")).to_be_visible()
        alice.goto(eng.url + "/@lena/followers")
        expect(alice.locator(".people")).to_contain_text("@alice")
        alice.goto(eng.url + "/@alice/following")
        expect(alice.locator(".people")).to_contain_text("@lena")
    finally:
        alice_ctx.close()
        lena_ctx.close()


def test_edit_and_delete_your_own_post_everywhere(nodes: dict[str, UINode], browser: Browser) -> None:
    eng, partner = nodes["eng"], nodes["partner"]
    alice_ctx, pat_ctx = new_context(browser), new_context(browser)
    try:
        alice, pat = alice_ctx.new_page(), pat_ctx.new_page()
        sign_in(pat, partner, "pat")
        pat.goto(f"{partner.url}/@alice@{eng.domain}")
        if pat.get_by_role("button", name="Follow", exact=True).count():
            pat.get_by_role("button", name="Follow", exact=True).click()
        until_visible(pat, lambda: pat.get_by_role("button", name="Unfollow"), "pat following alice")
        sign_in(alice, eng, "alice")
        first, second = unique("Fisrt draft"), unique("Second thoughts")
        compose(alice, first, "Public", warning="spoilers")
        card = post_card(alice, first)
        expect(card.locator("summary")).to_contain_text("spoilers")
        pat.goto(partner.url + "/")
        until_visible(pat, lambda: pat.locator("article.post", has_text="spoilers").locator("summary"), "the post on partner")
        # When alice edits it
        post_card(alice, first).get_by_role("link", name="Edit").click()
        alice.get_by_label("Text").fill(second)
        alice.get_by_role("button", name="Save").click()
        # Then the thread shows the new text, marked edited, with the old one in its history
        expect(alice.locator(".focus .content").first).to_contain_text(second)
        expect(alice.locator(".focus")).to_contain_text("edited")
        expect(alice.locator(".history")).to_contain_text("1 earlier version")
        # And the partner node shows the new text too
        pat.goto(partner.url + "/")
        until_visible(pat, lambda: pat.locator("article.post", has_text="spoilers").locator(".content", has_text=second), "the edit on partner", in_page=True)
        # When she deletes it (confirming on the page that asks), it is gone here and there
        alice.locator(".focus").get_by_role("button", name="Delete").click()
        alice.get_by_role("button", name="Delete this post").click()
        expect(alice.get_by_role("heading", name="Home")).to_be_visible()
        expect(alice.locator("article.post", has_text=second)).to_have_count(0)
        deadline = time.monotonic() + 45
        while pat.locator("article.post", has_text=second).count() and time.monotonic() < deadline:
            pat.wait_for_timeout(500)
            pat.reload()
        expect(pat.locator("article.post", has_text=second)).to_have_count(0)
    finally:
        alice_ctx.close()
        pat_ctx.close()


def test_new_posts_appear_without_a_reload(nodes: dict[str, UINode], browser: Browser) -> None:
    eng = nodes["eng"]
    alice_ctx, lena_ctx = new_context(browser), new_context(browser)
    try:
        alice, lena = alice_ctx.new_page(), lena_ctx.new_page()
        sign_in(alice, eng, "alice")
        alice.goto(eng.url + "/local")
        alice.evaluate("window.stillTheSamePage = true")
        # When lena posts on the same node
        sign_in(lena, eng, "lena")
        text = unique("Fresh news")
        compose(lena, text, "Public")
        expect(post_card(lena, text)).to_be_visible()
        # Then it shows on alice's open page, which was never reloaded
        expect(post_card(alice, text)).to_be_visible()
        assert alice.evaluate("window.stillTheSamePage") is True
        expect(alice.locator("#poll-status")).to_have_text(re.compile("new post"))
    finally:
        alice_ctx.close()
        lena_ctx.close()


def test_edit_your_profile_and_password(nodes: dict[str, UINode], browser: Browser) -> None:
    eng = nodes["eng"]
    first, second = new_context(browser), new_context(browser)
    try:
        page, other = first.new_page(), second.new_page()
        sign_in(page, eng, "lena")
        sign_in(other, eng, "lena")
        page.goto(eng.url + "/settings")
        page.get_by_label("Display name").fill("Lena Lindqvist")
        page.get_by_label("About you").fill("Platform team. <b>not bold</b>")
        page.get_by_role("button", name="Save profile").click()
        expect(page.get_by_role("status")).to_have_text("Your profile is saved.")
        page.goto(eng.url + "/@lena")
        expect(page.get_by_role("heading", name="Lena Lindqvist")).to_be_visible()
        expect(page.locator(".bio")).to_have_text("Platform team. <b>not bold</b>")
        # When she changes her password
        page.goto(eng.url + "/settings")
        page.get_by_label("Current password").fill("lena-password")
        page.get_by_label("New password", exact=True).fill("a-much-better-one")
        page.get_by_label("New password again").fill("a-much-better-one")
        page.get_by_role("button", name="Change password").click()
        expect(page.get_by_role("status")).to_contain_text("Your password is changed")
        # Then this browser stays signed in, the other one is signed out, the new password works
        page.goto(eng.url + "/")
        expect(page.get_by_role("heading", name="Home")).to_be_visible()
        other.goto(eng.url + "/settings")
        expect(other).to_have_url(re.compile("/signin"))
        sign_in(other, eng, "lena", "a-much-better-one")
    finally:
        first.close()
        second.close()


def test_main_flows_at_phone_width(nodes: dict[str, UINode], browser: Browser) -> None:
    eng = nodes["eng"]
    phone = new_context(browser, phone=True)
    try:
        page = phone.new_page()
        page.goto(eng.url + "/signin")
        shot(page, "phone-signin")
        sign_in(page, eng, "alice")
        text = unique("Posted from my phone")
        compose(page, text, "Organisation", warning="long read")
        card = post_card(page, text)
        expect(card.locator("summary")).to_contain_text("long read")
        # Nothing is wider than the screen
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.evaluate("window.scrollTo(0, 0)")
        shot(page, "phone-home")
        card.locator("summary").click()
        expect(card.locator(".content")).to_contain_text(text)
        card.locator("a.when").click()
        expect(page.locator(".focus")).to_contain_text("long read")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(page, "phone-thread")
    finally:
        phone.close()
