"""Two nodes on one host, one browser: each keeps its own sign-in.

A browser keeps cookies by host and ignores the port, so nodes at 127.0.0.1:A and
127.0.0.1:B that named their session cookie alike would overwrite each other's sign-in (the
demo used to dodge it with a loopback address per node, which only Linux offers). Checked in
Debian's chromium against two real `atrium serve` processes on 127.0.0.1.
"""

from __future__ import annotations

import re

from playwright.sync_api import BrowserContext, Page, expect

from tests.ui.conftest import UINode, sign_in
from web.ui.core import cookie_names


def signed_in_as(page: Page, node: UINode, username: str) -> None:
    """The node's settings page opens (it needs a session) and names `username`."""
    page.goto(f"{node.url}/settings")
    expect(page).to_have_url(f"{node.url}/settings")  # not sent to /signin?next=/settings
    expect(page.get_by_role("button", name=re.compile("Sign out"))).to_contain_text(f"@{username}")


def test_one_browser_stays_signed_in_to_two_nodes_on_one_host(nodes: dict[str, UINode], context: BrowserContext) -> None:
    # Given two nodes on 127.0.0.1, told apart by their ports only
    eng, partner = nodes["eng"], nodes["partner"]
    assert eng.domain.split(":")[0] == partner.domain.split(":")[0] and eng.domain != partner.domain
    page = context.new_page()
    # When one browser signs in to eng as alice, then to partner as pat
    sign_in(page, eng, "alice")
    sign_in(page, partner, "pat")
    # Then both sign-ins hold: going back to eng finds alice, and partner still has pat
    signed_in_as(page, eng, "alice")
    signed_in_as(page, partner, "pat")
    # and the browser holds one session cookie for each, named for its node's host and port
    names = {c["name"] for c in context.cookies()}
    assert {cookie_names(eng.domain, "http").session, cookie_names(partner.domain, "http").session} <= names
    assert cookie_names(eng.domain, "http").session != cookie_names(partner.domain, "http").session


def test_signing_out_of_one_node_leaves_the_other_signed_in(nodes: dict[str, UINode], context: BrowserContext) -> None:
    # Given one browser signed in to both nodes
    eng, partner = nodes["eng"], nodes["partner"]
    page = context.new_page()
    sign_in(page, eng, "lena")
    sign_in(page, partner, "pat")
    # When it signs out of partner
    page.get_by_role("button", name=re.compile("Sign out")).click()
    expect(page).to_have_url(re.compile("/signin"))
    # Then eng still knows lena, and partner knows no one
    signed_in_as(page, eng, "lena")
    page.goto(f"{partner.url}/settings")
    expect(page).to_have_url(re.compile(r"/signin\?"))
