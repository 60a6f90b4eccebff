"""A person deletes their own account in a real browser (issue 21): from the settings, the page
that says what happens, a wrong password refused, the right one, then signed out on a goodbye
page; the account can no longer sign in and its profile is gone. Screenshots at 1280 and 390
pixels, and axe on each page."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.federation.nodes import NodeProcess
from tests.ui.conftest import UINode, create_users, init_with_token, shot, sign_in
from tests.ui.test_accessibility import AXE, axe_context, violations


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UINode]:
    """One node (SQLite) with dana and dora, who will delete their accounts."""
    process = NodeProcess("delete", tmp_path_factory.mktemp("ui-delete"))
    token = init_with_token(process)
    create_users(process, ["dana", "dora", "root"], admins=("root",))
    try:
        process.start()
        yield UINode(process, token)
    finally:
        process.stop()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_person_deletes_their_account(node: UINode, browser: Browser, size: str) -> None:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run scripts/lib/ensure-axe (scripts/test does)")
    user = "dana" if size == "desktop" else "dora"
    ctx = axe_context(browser, phone=size == "phone")
    page = ctx.new_page()
    found: dict[str, list[str]] = {}

    def check(name: str) -> None:
        shot(page, f"delete-account-{size}-{name}", full_page=True)
        if problems := violations(page):
            found[name] = problems

    # Given dana signed in, on her settings
    sign_in(page, node, user)
    page.goto(node.url + "/settings")
    # When she opens "Delete my account"
    page.get_by_role("link", name="Delete my account…").click()
    # Then the page says what happens, and asks for her password
    expect(page.get_by_role("heading", name="Delete your account")).to_be_visible()
    expect(page.get_by_text("Your name stays reserved")).to_be_visible()
    check("form")
    # When she gives a wrong password; Then nothing is deleted and she is told why
    page.get_by_label("Your password, to confirm it is you").fill("not my password")
    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_role("alert")).to_have_text("Your password is not right.")
    check("wrong-password")
    # When she gives her password
    page.get_by_label("Your password, to confirm it is you").fill(f"{user}-password")
    page.get_by_role("button", name="Delete my account").click()
    # Then she is signed out on the goodbye page
    expect(page.get_by_role("heading", name="Your account is deleted")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Sign out"), include_hidden=True)).to_have_count(0)
    check("goodbye")
    # And she cannot sign in again, and her profile is gone
    page.goto(node.url + "/signin")
    page.get_by_label("Username or email").fill(user)
    page.get_by_label("Password").fill(f"{user}-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert page.request.get(f"{node.url}/@{user}").status == 410
    ctx.close()
    assert found == {}, found
