"""The Filters settings page and filters applied to the web UI's timelines: a person makes a
`warn` and a `hide` filter from the page, a warned post shows collapsed as "Filtered: <title>"
with Show anyway, a hidden one is not shown; edit and delete; at 1280 and 390 px with axe."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from tests.ui.conftest import UINode, compose, post_card, shot
from tests.ui.test_accessibility import violations
from tests.ui.test_own_lists import Open, fits, go_by_nav, go_to_settings, open_as, size  # noqa: F401 - fixtures

__all__ = ["open_as", "size"]


def _make_filter(page: Page, title: str, keyword: str, action: str) -> None:
    page.get_by_role("link", name="New filter").first.click()
    expect(page.get_by_role("heading", name="New filter")).to_be_visible()
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("Keywords").fill(keyword)
    page.get_by_role("radio", name=re.compile(f"^{action}")).check()
    page.get_by_role("button", name="Save filter").click()
    expect(page.get_by_role("status")).to_have_text("Your filter is saved.")


def test_filters_page_and_a_warned_post(node: UINode, open_as: Open, size: str) -> None:  # noqa: F811
    tag = uuid.uuid4().hex[:8]
    warn_word, hide_word = f"finale{tag}", f"rumour{tag}"
    root, lena = open_as(node, "root"), open_as(node, "lena")
    # Given lena on her Filters page, reached from the navigation
    go_to_settings(lena, "Filters")
    expect(lena.get_by_role("heading", name="Filters", exact=True)).to_be_visible()
    assert fits(lena) and violations(lena) == []
    # When she makes a warn filter and a hide filter
    _make_filter(lena, f"Spoilers {size}", warn_word, "Warn")
    _make_filter(lena, f"Gossip {size}", hide_word, "Hide")
    # Then both are listed with their keywords and actions
    item = lena.locator("li.filter-item", has_text=f"Spoilers {size}")
    expect(item).to_contain_text(warn_word)
    expect(item.locator(".badge")).to_have_text("Warn")
    expect(lena.locator("li.filter-item", has_text=f"Gossip {size}").locator(".badge")).to_have_text("Hide")
    assert fits(lena) and violations(lena) == []
    shot(lena, f"filters-{size}-list", full_page=True)
    # When root posts one post for each, and a plain one
    root.goto(node.url + "/local")
    compose(root, f"The {warn_word} was wild", "Public")
    expect(post_card(root, warn_word)).to_be_visible()
    compose(root, f"Heard a {hide_word} today", "Public")
    expect(post_card(root, hide_word)).to_be_visible()
    compose(root, f"Plain {tag} lunch", "Public")
    expect(post_card(root, f"Plain {tag}")).to_be_visible()
    # Then lena's timeline shows the warned post collapsed, names the filter, and hides the other
    lena.goto(node.url + "/local")
    expect(post_card(lena, f"Plain {tag}")).to_be_visible()
    warned = lena.locator(".post-filtered", has_text=f"Spoilers {size}")
    expect(warned).to_contain_text(f"Filtered: Spoilers {size}")
    expect(warned.get_by_text(f"The {warn_word} was wild")).to_be_hidden()
    assert hide_word not in lena.locator("main").inner_text()
    assert fits(lena) and violations(lena) == []
    shot(lena, f"filters-{size}-warned")
    # When she chooses Show anyway, the post is there
    warned.get_by_text("Show anyway").click()
    expect(warned.get_by_text(f"The {warn_word} was wild")).to_be_visible()
    assert violations(lena) == []
    shot(lena, f"filters-{size}-shown")
    # And root, whose filters these are not, sees all three
    root.goto(node.url + "/local")
    expect(post_card(root, hide_word)).to_be_visible()
    expect(root.locator(".post-filtered")).to_have_count(0)
    # When lena edits the warn filter into a hide filter, the warned post goes too
    go_to_settings(lena, "Filters")
    lena.locator("li.filter-item", has_text=f"Spoilers {size}").get_by_role("link", name=re.compile("^Edit")).click()
    expect(lena.get_by_label("Title", exact=True)).to_have_value(f"Spoilers {size}")
    assert fits(lena) and violations(lena) == []
    shot(lena, f"filters-{size}-edit", full_page=True)
    lena.get_by_role("radio", name=re.compile("^Hide")).check()
    lena.get_by_role("button", name="Save filter").click()
    lena.goto(node.url + "/local")
    expect(post_card(lena, f"Plain {tag}")).to_be_visible()
    assert warn_word not in lena.locator("main").inner_text()
    # And a refused form keeps what she typed and says why
    lena.goto(node.url + "/settings/filters/new")
    lena.get_by_label("Keywords").fill("kept")
    for box in lena.get_by_role("checkbox", name=re.compile("timeline")).all():
        box.uncheck()
    lena.get_by_label("Title", exact=True).fill("No context")
    lena.get_by_role("button", name="Save filter").click()
    expect(lena.get_by_role("alert")).to_contain_text("Context")
    expect(lena.get_by_label("Keywords")).to_have_value("kept")
    # And a filter for notifications marks a mention that matches it on her notifications page
    go_to_settings(lena, "Filters")
    lena.get_by_role("link", name="New filter").first.click()
    lena.get_by_label("Title", exact=True).fill(f"Pings {size}")
    lena.get_by_label("Keywords").fill(f"ping{tag}")
    lena.get_by_role("checkbox", name="Notifications").check()
    lena.get_by_role("button", name="Save filter").click()
    root.goto(node.url + "/local")
    compose(root, f"@lena ping{tag} are you there?", "Public")
    expect(post_card(root, f"ping{tag}")).to_be_visible()
    go_by_nav(lena, "Notifications")
    expect(lena.locator("li.notification").first).to_contain_text(f"Filtered: Pings {size}")
    assert f"ping{tag} are you there" not in lena.locator("main").inner_text()
    assert violations(lena) == []
    # When she deletes both filters, both posts are back
    go_to_settings(lena, "Filters")
    for title in (f"Spoilers {size}", f"Gossip {size}"):
        lena.locator("li.filter-item", has_text=title).get_by_role("button", name=re.compile("^Delete")).click()
        expect(lena.get_by_role("status")).to_have_text("The filter is deleted.")
    lena.goto(node.url + "/local")
    expect(post_card(lena, warn_word)).to_be_visible()
    expect(post_card(lena, hide_word)).to_be_visible()
