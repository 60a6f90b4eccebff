"""The web UI's defences, checked from a real browser against a real node: the
Content-Security-Policy, session cookies, CSRF tokens, sign-in rate limiting, sessions voided
by disabling an account, escaping of user content, and HTML/ActivityPub negotiation."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from pathlib import Path

from aiohttp import web
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, expect

from storage.db import Database
from tests.factory import node_context
from tests.federation.nodes import ATRIUM
from tests.ui.conftest import UINode, compose, new_context, post_card, sign_in
from web.ui.core import cookie_names, cookies_of, set_cookie
from web.ui.render import CSP


def test_every_page_carries_a_strict_csp_and_the_browser_reports_no_violation(node: UINode, context: BrowserContext) -> None:
    page = context.new_page()
    problems: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            problems.append(message.text)

    page.on("console", watch)
    response = page.goto(node.url + "/signin")
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    sign_in(page, node, "alice")
    for path in ("/", "/organization", "/local", "/federated", "/notifications", "/search?q=a", "/@alice", "/settings"):
        response = page.goto(node.url + path)
        assert response is not None and response.headers["content-security-policy"] == CSP, path
        html = page.content()
        # No inline script or style anywhere: only static files.
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert " style=" not in html and "<style" not in html, path
    assert problems == []


def test_the_session_cookie_is_httponly_and_samesite(node: UINode, context: BrowserContext) -> None:
    page = context.new_page()
    sign_in(page, node, "alice")
    name = cookie_names(node.domain, "http").session
    cookie = next(c for c in context.cookies() if c["name"] == name)
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["secure"] is False  # this test node speaks plain http
    assert page.evaluate("document.cookie").find(name) == -1


def test_the_session_cookie_is_secure_on_https(tmp_path: Path) -> None:
    # Given a node served over https, the cookie it sets carries Secure, and the `__Host-`
    # prefix with which a browser takes it only from this host, for path / (no Domain)
    response = web.Response()
    ctx = node_context(Database(f"sqlite+aiosqlite:///{tmp_path}/unused.db"), "x.example")
    name = cookies_of(ctx).session
    set_cookie(response, ctx, name, "token", max_age=60)
    header = response.cookies[name].OutputString()
    assert name == "__Host-atrium_session_x.example"
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header
    assert "Path=/" in header and "Domain" not in header


def test_a_form_posted_without_its_csrf_token_changes_nothing(node: UINode, context: BrowserContext) -> None:
    page = context.new_page()
    sign_in(page, node, "alice")
    text = f"forged-{uuid.uuid4().hex[:8]}"
    # When another site makes the signed-in browser post a form without the token (or a wrong one)
    for fields in ({"text": text, "visibility": "public"}, {"text": text, "visibility": "public", "csrf": "guess"}):
        answer = context.request.post(node.url + "/posts", form=fields, max_redirects=0)
        assert answer.status == 403
        assert "expired" in answer.text()
    # Then no post was made
    page.goto(node.url + "/")
    expect(page.locator("article.post", has_text=text)).to_have_count(0)


def test_sign_in_needs_the_form_token_too(node: UINode, browser: Browser) -> None:
    fresh = new_context(browser)
    try:
        answer = fresh.request.post(node.url + "/signin", form={"login": "alice", "password": "alice-password"}, max_redirects=0)
        assert answer.status == 403
        assert not [c for c in fresh.cookies() if c["name"] == cookie_names(node.domain, "http").session]
    finally:
        fresh.close()


def test_repeated_wrong_passwords_are_slowed_down(node: UINode, context: BrowserContext) -> None:
    page = context.new_page()
    for _ in range(5):
        page.goto(node.url + "/signin")
        page.get_by_label("Username or email").fill("mallory")
        page.get_by_label("Password").fill("wrong guess")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_have_text("wrong username or password")
    # Then even the right password is refused for a while
    page.goto(node.url + "/signin")
    page.get_by_label("Username or email").fill("mallory")
    page.get_by_label("Password").fill("mallory-password")
    with page.expect_response(lambda r: r.url.endswith("/signin") and r.request.method == "POST") as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 429
    expect(page.get_by_role("alert")).to_contain_text("Too many failed attempts")
    # And another account from the same browser still signs in
    sign_in(page, node, "lena")


def test_disabling_an_account_signs_its_browsers_out(node: UINode, context: BrowserContext) -> None:
    page = context.new_page()
    sign_in(page, node, "gone")
    subprocess.run([*ATRIUM, "user", "disable", "gone"], check=True, env=node.process.env, capture_output=True)
    page.goto(node.url + "/settings")
    expect(page).to_have_url(re.compile("/signin"))


def test_signing_out_ends_the_session(node: UINode, context: BrowserContext) -> None:
    page = context.new_page()
    sign_in(page, node, "lena")
    old = next(c for c in context.cookies() if c["name"] == cookie_names(node.domain, "http").session)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile("/signin"))
    # A copy of the old cookie is worth nothing now
    context.add_cookies([old])
    page.goto(node.url + "/settings")
    expect(page).to_have_url(re.compile("/signin"))


def test_what_people_write_is_shown_as_text_never_run(node: UINode, context: BrowserContext) -> None:
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(page, node, "alice")
    evil = f'<script>alert("x")</script><img src=x onerror=alert(1)> {uuid.uuid4().hex[:6]}'
    compose(page, evil, "Public", warning='<b onmouseover="alert(2)">cw</b>')
    card = post_card(page, "onerror")
    expect(card.locator("summary")).to_contain_text('<b onmouseover="alert(2)">cw</b>')
    card.locator("summary").click()
    expect(card.locator(".content")).to_contain_text('<script>alert("x")</script>')
    assert card.locator(".content script, .content img").count() == 0
    assert dialogs == []


def test_browsers_get_pages_and_activitypub_clients_get_json_from_the_same_urls(node: UINode, browser: Browser) -> None:
    alice_ctx, anon = new_context(browser), new_context(browser)
    try:
        alice = alice_ctx.new_page()
        sign_in(alice, node, "alice")
        public, private = f"open-{uuid.uuid4().hex[:6]}", f"closed-{uuid.uuid4().hex[:6]}"
        compose(alice, public, "Public")
        compose(alice, private, "Followers")
        public_id = post_card(alice, public).get_attribute("data-id")
        private_id = post_card(alice, private).get_attribute("data-id")
        # A browser opening the actor or note URL gets the profile and thread pages
        page = anon.new_page()
        page.goto(f"{node.url}/users/alice")
        expect(page).to_have_url(f"{node.url}/@alice")
        page.goto(f"{node.url}/users/alice/statuses/{public_id}")
        expect(page.locator(".focus")).to_contain_text(public)
        # A followers-only post stays hidden from a reader not signed in, and shows to its author
        answer = page.goto(f"{node.url}/users/alice/statuses/{private_id}")
        assert answer is not None and answer.status == 404
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
        alice.goto(f"{node.url}/users/alice/statuses/{private_id}")
        expect(alice.locator(".focus")).to_contain_text(private)
        # ActivityPub clients get the same JSON as ever from the same URLs
        ap = {"Accept": "application/activity+json"}
        actor = anon.request.get(f"{node.url}/users/alice", headers=ap)
        assert actor.status == 200 and json.loads(actor.text())["type"] == "Person"
        note = anon.request.get(f"{node.url}/users/alice/statuses/{public_id}", headers=ap)
        assert note.status == 200 and json.loads(note.text())["type"] == "Note"
        hidden = anon.request.get(f"{node.url}/users/alice/statuses/{private_id}", headers=ap)
        assert hidden.status == 404
        # ...also when they are handed the page URL
        by_page = anon.request.get(f"{node.url}/@alice/{public_id}", headers=ap)
        assert by_page.status == 200 and json.loads(by_page.text())["type"] == "Note"
        assert anon.request.get(f"{node.url}/@alice/{private_id}", headers=ap).status == 404
    finally:
        alice_ctx.close()
        anon.close()
