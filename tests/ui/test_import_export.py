"""The settings page "Import and export" in a real browser, at desktop and phone width: a person
downloads their archive and their follows, imports a following list (a bad file refused with its
lines named, then a good one followed), and axe finds nothing serious on any state of the page."""

from __future__ import annotations

import json
import re
import zipfile

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.ui.conftest import UINode, shot, sign_in
from tests.ui.test_accessibility import AXE, axe_context, violations


def fits(page: Page) -> bool:
    """Nothing wider than the screen (no sideways scrolling on a phone)."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def choose_csv(page: Page, text: str) -> None:
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "following_accounts.csv", "mimeType": "text/csv", "buffer": text.encode()}])
    page.get_by_role("button", name="Import and follow").click()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_person_downloads_their_archive_and_imports_follows(node: UINode, browser: Browser, size: str) -> None:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run scripts/lib/ensure-axe (scripts/test does)")
    user, other = ("alice", "lena") if size == "desktop" else ("lena", "mallory")
    ctx = axe_context(browser, phone=size == "phone")
    page = ctx.new_page()
    found: dict[str, list[str]] = {}

    def check(name: str) -> None:
        shot(page, f"import-export-{size}-{name}", full_page=True)
        assert fits(page), f"{name} is wider than the screen"
        if problems := violations(page):
            found[name] = problems

    # Given a person signed in, on their settings
    sign_in(page, node, user)
    page.goto(node.url + "/settings")
    page.get_by_role("link", name="Import and export").click()
    expect(page.get_by_role("heading", name="Import and export", level=1)).to_be_visible()
    check("page")
    # When they download their archive
    with page.expect_download() as info:
        page.get_by_role("button", name="Download your archive").click()
    download = info.value
    assert re.fullmatch(rf"archive-{user}-\d{{14}}\.zip", download.suggested_filename)
    with zipfile.ZipFile(download.path()) as z:
        # Then it is Mastodon's archive shape, theirs
        assert {"outbox.json", "actor.json", "likes.json", "bookmarks.json"} <= set(z.namelist())
        assert json.loads(z.read("actor.json"))["preferredUsername"] == user
    # When they import a file with a bad line
    choose_csv(page, f"Account address\n{other}@{node.domain}\nnot-an-address\n")
    # Then nothing is followed and the bad line is named
    expect(page.get_by_role("alert")).to_contain_text("Line 3")
    check("bad-file")
    # When they import a good one
    choose_csv(page, f"Account address,Show boosts,Notify on new posts,Languages\n{other}@{node.domain},true,false,\n")
    expect(page.get_by_role("status")).to_contain_text("1 followed")
    check("imported")
    # And the people they follow download as CSV
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the people you follow").click()
    with open(info.value.path(), encoding="utf-8") as f:
        assert f.read().splitlines()[1] == f"{other}@{node.domain},true,false,"
    ctx.close()
    assert found == {}
