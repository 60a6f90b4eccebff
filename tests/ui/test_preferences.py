"""The settings page's "Posting and reading" preferences (issue #20): the same row the apps read
(`GET /api/v1/preferences`), and the composer starts from the default audience saved there.
At 1280 and 390 px, with axe-core passing, and a screenshot of each."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.ui.conftest import UINode, shot
from tests.ui.test_accessibility import violations
from tests.ui.test_own_lists import SIZES, browser_at, fits


@pytest.mark.parametrize("size", SIZES)
def test_an_employee_saves_posting_preferences_and_the_composer_starts_from_them(
    node: UINode, browser: Browser, size: str
) -> None:
    with browser_at(browser, size) as open_as:
        _saves(node, open_as(node, "mallory"), size)


def _audience_chosen(page: Page) -> str | None:
    return page.locator("form.compose input[name=visibility]:checked").first.get_attribute("value")


def _saves(node: UINode, page: Page, size: str) -> None:
    # Given mallory, who never chose: the composer offers the organisation first, media not sensitive
    page.goto(node.url + "/")
    assert _audience_chosen(page) == "organization"
    assert not page.locator("form.compose input[name=sensitive]").first.is_checked()
    # When she opens her settings and saves followers-only, sensitive media, German, media
    # always shown and content warnings expanded
    page.goto(node.url + "/settings")
    form = page.locator("form#preferences")
    expect(form.get_by_role("heading", name="Posting and reading")).to_be_visible()
    form.get_by_label("Who can see new posts, unless I choose otherwise").select_option("followers")
    form.get_by_label("Mark my media as sensitive by default").check()
    form.get_by_label("Language of my posts").fill("de")
    form.get_by_label("Media in posts").select_option("show_all")
    form.get_by_label("Always expand posts with content warnings").check()
    form.get_by_role("button", name="Save preferences").click()
    # Then the page says so and shows what she saved
    expect(page.get_by_role("status")).to_have_text("Your preferences are saved.")
    form = page.locator("form#preferences")
    expect(form.get_by_label("Who can see new posts, unless I choose otherwise")).to_have_value("followers")
    expect(form.get_by_label("Language of my posts")).to_have_value("de")
    expect(form.get_by_label("Mark my media as sensitive by default")).to_be_checked()
    expect(form.get_by_label("Media in posts")).to_have_value("show_all")
    assert violations(page) == [] and fits(page)
    form.scroll_into_view_if_needed()
    shot(page, f"settings-preferences-{size}")
    # And the composer now starts from followers-only, with media marked sensitive
    page.goto(node.url + "/")
    assert _audience_chosen(page) == "followers"
    assert page.locator("form.compose input[name=sensitive]").first.is_checked()
    page.goto(node.url + "/compose")
    assert _audience_chosen(page) == "followers"
    assert page.locator("form.compose input[name=sensitive]").first.is_checked()
    # When she sends a language that is no code (the browser's check bypassed)
    page.goto(node.url + "/settings")
    page.locator("#default_language").evaluate("e => e.removeAttribute('pattern')")
    page.locator("#default_language").fill("xx1")
    page.get_by_role("button", name="Save preferences").click()
    # Then the page says why, and nothing changed
    expect(page.get_by_role("alert")).to_contain_text("not an ISO 639 code")
    page.goto(node.url + "/settings")
    expect(page.locator("#default_language")).to_have_value("de")
    # And back to the organisation, for the other tests of the module
    page.locator("#default_audience").select_option("organization")
    page.locator("#default_sensitive").uncheck()
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_role("status")).to_have_text("Your preferences are saved.")
