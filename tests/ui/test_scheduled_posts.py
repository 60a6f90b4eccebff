"""Scheduled posts in the web UI: the composer's "Schedule" time, the Scheduled posts page
with Edit time and Cancel (web/ui/pages_scheduled.py), at 1280 and 390 px with axe passing.
Nobody else's scheduled posts are ever shown."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from tests.ui.conftest import UINode, shot
from tests.ui.test_accessibility import violations
from tests.ui.test_own_lists import Open, fits, go_by_nav, open_as, size  # noqa: F401 - fixtures

LOCAL_IN = """hours => {
  const d = new Date(Date.now() + hours * 3600 * 1000);
  const pad = n => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}"""


def _local_in(page: Page, hours: float) -> str:
    return str(page.evaluate(LOCAL_IN, hours))


def test_schedule_a_post_edit_its_time_and_cancel_it(node: UINode, open_as: Open, size: str) -> None:  # noqa: F811
    text = f"sched-{size}-{uuid.uuid4().hex[:8]}"
    alice, lena = open_as(node, "alice"), open_as(node, "lena")
    # Given alice writes a post and opens "Schedule" in the composer
    alice.goto(node.url + "/compose")
    form = alice.locator("form.compose").first
    form.get_by_label("What would you like to share?").fill(f"{text} all-hands moved to Friday")
    form.locator("summary", has_text="Schedule").click()
    when = _local_in(alice, 3)
    form.get_by_label(re.compile("^Post it at")).fill(when)
    assert fits(alice) and violations(alice) == []
    shot(alice, f"scheduled-{size}-composer")
    # When she schedules it (the button says what it will do)
    form.get_by_role("button", name="Schedule", exact=True).click()
    # Then she is on the Scheduled posts page, with the post and its time in her own time zone
    expect(alice.get_by_role("heading", name="Scheduled posts", exact=True)).to_be_visible()
    item = alice.locator("li.scheduled-item", has_text=text)
    expect(item).to_be_visible()
    expect(item.get_by_label("New time")).to_have_value(when)
    assert fits(alice) and violations(alice) == []
    shot(alice, f"scheduled-{size}-list")
    # And it is not posted yet: her profile has no such post
    alice.goto(node.url + "/@alice")
    expect(alice.locator("article.post", has_text=text)).to_have_count(0)
    # And lena's page, from the navigation, shows none of alice's
    go_by_nav(lena, "Scheduled posts")
    expect(lena.get_by_text("Nothing scheduled")).to_be_visible()
    assert text not in lena.content() and violations(lena) == []
    shot(lena, f"scheduled-{size}-empty")
    # When alice moves it a day later
    go_by_nav(alice, "Scheduled posts")
    item = alice.locator("li.scheduled-item", has_text=text)
    later = _local_in(alice, 27)
    item.get_by_label("New time").fill(later)
    item.get_by_role("button", name="Edit time").click()
    # Then the new time is kept
    expect(alice.locator("li.scheduled-item", has_text=text).get_by_label("New time")).to_have_value(later)
    # When she asks for a time too soon, Then she is told why, and the time stays
    item = alice.locator("li.scheduled-item", has_text=text)
    item.get_by_label("New time").fill(_local_in(alice, 0.02))
    item.get_by_role("button", name="Edit time").click()
    expect(alice.get_by_role("alert")).to_contain_text("5 minutes")
    expect(alice.locator("li.scheduled-item", has_text=text).get_by_label("New time")).to_have_value(later)
    # When she cancels it, Then it is gone
    alice.locator("li.scheduled-item", has_text=text).get_by_role("button", name=re.compile("^Cancel")).click()
    expect(alice.locator("li.scheduled-item", has_text=text)).to_have_count(0)
    expect(alice.get_by_text("Nothing scheduled")).to_be_visible()
