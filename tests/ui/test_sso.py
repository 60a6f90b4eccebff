"""Single sign-on in a real browser (docs/identity.md "Single sign-on (OpenID Connect)"): a
node process configured with `[auth.oidc]` in its atrium.toml (the client secret in a file),
and a real OpenID provider (oidc-provider on Node 22, tests/sso/real_provider.py). The person
clicks "Sign in with Acme ID", signs in on the provider's own login page and lands back on the
node, signed in; the sign-in page passes axe; screenshots at 1280 and 390 px.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.federation.nodes import NodeProcess
from tests.sso.fake_idp import ADMINS, CLIENT_ID, CLIENT_SECRET
from tests.sso.real_provider import RealProvider, ensure_provider
from tests.ui.conftest import WAIT_MS, UINode, init_with_token, shot
from tests.ui.test_accessibility import AXE, violations

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UINode]:
    root: Path = tmp_path_factory.mktemp("ui-sso")
    process = NodeProcess("sso", root)
    provider = RealProvider(ensure_provider(), root, f"{process.base_url}/auth/oidc/callback")
    provider.users["bea"] = {"preferred_username": "bea", "name": "Bea Okafor", "email": "bea@acme.example",
                             "groups": [ADMINS]}
    provider.start()
    token = init_with_token(process, "Acme Engineering")
    (process.data_dir / "oidc-secret").write_text(CLIENT_SECRET + "\n")
    with (process.data_dir / "atrium.toml").open("a") as settings:
        settings.write(
            f'\n[auth.oidc]\nissuer = "{provider.issuer}"\nclient_id = "{CLIENT_ID}"\n'
            'client_secret_file = "oidc-secret"\nscopes = ["openid", "profile", "email", "groups"]\n'
            f'display_name = "Acme ID"\nadmin_groups = ["{ADMINS}"]\n'
        )
    try:
        process.start()
        yield UINode(process, token)
    finally:
        process.stop()
        provider.stop()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_person_signs_in_with_the_company_account(node: UINode, browser: Browser, size: str) -> None:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run scripts/lib/ensure-axe (scripts/test does)")
    person = "alice" if size == "desktop" else "bea"
    ctx = browser.new_context(viewport=SIZES[size], device_scale_factor=1, is_mobile=size == "phone",
                              bypass_csp=True)
    ctx.set_default_timeout(WAIT_MS)
    page = ctx.new_page()
    # Given the node's sign-in page, which leads with the company's sign-in
    page.goto(node.url + "/signin?next=/notifications")
    button = page.get_by_role("link", name="Sign in with Acme ID")
    expect(button).to_be_visible()
    shot(page, f"sso-{size}-signin")
    assert violations(page) == []
    # When the person clicks it and signs in on the provider's own page
    button.click()
    page.locator("input[name=login]").fill(person)
    page.locator("input[name=password]").fill("any password")
    page.get_by_role("button", name="Sign-in").click()
    # Then they are back on the node, signed in, where they were going
    expect(page).to_have_url(re.compile(re.escape(node.url) + "/notifications$"))
    expect(page.get_by_role("button", name=re.compile("Sign out"), include_hidden=True)).to_have_count(1)
    shot(page, f"sso-{size}-signed-in")
    # And their settings say the company keeps their password and second factors
    page.goto(node.url + "/settings")
    expect(page.get_by_text("You sign in with your company account")).to_be_visible()
    expect(page.get_by_label("Current password")).to_have_count(0)
    shot(page, f"sso-{size}-settings", full_page=True)
    assert violations(page) == []
    if person == "bea":  # in the provider's admins' group: an admin here
        page.goto(node.url + "/admin/users")
        expect(page.get_by_role("heading", name=re.compile("Users|People"))).to_be_visible()
    ctx.close()
