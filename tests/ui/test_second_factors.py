"""Second factors in a real browser (docs/identity.md "Second factors"): a passkey enrolled
from the settings page with Chromium's virtual authenticator (DevTools' WebAuthn domain) and
then used to sign in after the password; and axe on every new page, at desktop and phone width.

WebAuthn needs a secure context and a host name as relying party, so this node is served as
`localhost:PORT` (a browser refuses WebAuthn on a bare IP address).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.federation.nodes import NodeProcess
from tests.ui.conftest import UINode, create_users, init_with_token, shot, sign_in
from tests.ui.test_accessibility import AXE, axe_context, violations


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UINode]:
    """One node (SQLite) served as localhost:PORT, with kim, lee, pat and an admin, root."""
    process = NodeProcess("keys", tmp_path_factory.mktemp("ui-keys"))
    process.domain = f"localhost:{process.port}"
    process.base_url = f"http://{process.domain}"
    token = init_with_token(process)
    create_users(process, ["kim", "lee", "pat", "root"], admins=("root",))
    try:
        process.start()
        yield UINode(process, token)
    finally:
        process.stop()


def virtual_authenticator(context: BrowserContext, page: Page) -> None:
    """A platform authenticator that says yes at once (user present and verified)."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True,
    }})


def password_then_asked(page: Page, node: UINode, user: str) -> None:
    """Sign in with the password: the second-factor page follows."""
    page.goto(node.url + "/signin")
    page.get_by_label("Username or email").fill(user)
    page.get_by_label("Password").fill(f"{user}-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Second factor")).to_be_visible()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_passkey_is_enrolled_and_signs_in(node: UINode, browser: Browser, size: str) -> None:
    user = "kim" if size == "desktop" else "lee"
    ctx = axe_context(browser, phone=size == "phone")
    page = ctx.new_page()
    virtual_authenticator(ctx, page)
    # Given kim signed in with her password, on the sign-in security page
    sign_in(page, node, user)
    page.goto(node.url + "/settings/security")
    expect(page.get_by_text("You have no second factor yet")).to_be_visible()
    # When she adds a passkey, named
    page.get_by_role("button", name="Add a passkey").click()
    page.get_by_label("Name it (optional)").fill("Work laptop")
    shot(page, f"second-factor-{size}-passkey-enrol")
    page.get_by_role("button", name="Create the passkey").click()
    # Then her recovery codes are shown once, and the passkey is listed
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.get_by_role("list", name="Recovery codes").locator("li")).to_have_count(10)
    shot(page, f"second-factor-{size}-codes", full_page=True)
    page.get_by_role("link", name="I have saved them").click()
    expect(page.get_by_text("Work laptop")).to_be_visible()
    shot(page, f"second-factor-{size}-security", full_page=True)
    # When she signs in again: the password, then the passkey
    ctx.clear_cookies()
    password_then_asked(page, node, user)
    shot(page, f"second-factor-{size}-signin")
    page.get_by_role("button", name="Use a passkey").click()
    # Then she is in
    expect(page.get_by_role("button", name=re.compile("Sign out"), include_hidden=True)).to_have_count(1)
    page.goto(node.url + "/settings/security")
    expect(page.get_by_text("last used")).to_be_visible()
    ctx.close()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_second_factor_pages_have_no_serious_violations(node: UINode, browser: Browser, size: str) -> None:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run scripts/lib/ensure-axe (scripts/test does)")
    ctx = axe_context(browser, phone=size == "phone")
    page = ctx.new_page()
    user = "pat" if size == "desktop" else "root"
    sign_in(page, node, user)
    found: dict[str, list[str]] = {}

    def check(name: str) -> None:
        shot(page, f"a11y-{size}-{name}", full_page=True)
        if problems := violations(page):
            found[name] = problems

    page.goto(node.url + "/settings/security")
    check("security-empty")
    page.get_by_role("button", name="Add an authenticator app").click()
    secret = page.locator("#totp-secret").inner_text().strip()
    check("security-totp")
    page.get_by_label("Code from the app").fill("000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    page.get_by_role("button", name="Add the app").click()
    expect(page.get_by_role("alert")).to_be_visible()
    check("security-totp-wrong")
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Add the app").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    check("security-codes")
    page.get_by_role("link", name="I have saved them").click()
    check("security")
    page.get_by_role("link", name=re.compile("^Remove")).first.click()
    check("security-remove")
    ctx.clear_cookies()
    password_then_asked(page, node, user)
    check("signin-factor")
    ctx.close()
    assert found == {}
