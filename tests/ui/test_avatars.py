"""Avatars in the web UI (issue #16, the employee): every post, profile, notification and list
of people shows a picture of the person beside their name — their default (initials on a
colour) until they upload one from their settings, where they can also remove it. The
pictures have a fixed size (nothing moves as they load) and alt="" (the name is beside them).
At 1280 and 390 px, with axe-core passing."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.media_files import picture
from tests.ui.conftest import UINode, compose, post_card
from tests.ui.test_accessibility import violations
from tests.ui.test_own_lists import SIZES, browser_at, fits


def _loaded(page: Page, selector: str) -> dict[str, object]:
    """The picture's box on the page and the size it was drawn at (0 when it did not load)."""
    image = page.locator(selector).first
    expect(image).to_be_visible()
    image.evaluate("img => img.decode()")
    box = image.bounding_box()
    assert box is not None
    return {"box": (round(box["width"]), round(box["height"])), "natural": image.evaluate("img => img.naturalWidth"),
            "src": image.get_attribute("src"), "alt": image.get_attribute("alt")}


@pytest.mark.parametrize("size", SIZES)
def test_an_employee_sees_avatars_and_sets_and_removes_their_own(node: UINode, browser: Browser, size: str) -> None:
    with browser_at(browser, size) as open_as:
        _sets_and_removes(node, open_as(node, "lena"), size)


def _sets_and_removes(node: UINode, lena: Page, size: str) -> None:
    text = f"pictures-{size}-{uuid.uuid4().hex[:8]}"
    # Given lena's post on the node's timeline, shown with her default avatar
    lena.goto(node.url + "/local")
    compose(lena, text, "Public")
    card = post_card(lena, text)
    expect(card).to_be_visible()
    avatar = card.locator("img.avatar")
    expect(avatar).to_have_attribute("src", re.compile(r"^/avatars/default/\d+\.png\?size=96$"))
    shown = _loaded(lena, f"#{card.get_attribute('id')} img.avatar")
    # Then it is drawn (96 px for a 48 px box, 40 at phone size), with alt="" beside her name
    assert shown["natural"] == 96 and shown["alt"] == ""
    assert shown["box"] == ((48, 48) if size == "desktop" else (40, 40))
    assert violations(lena) == [] and fits(lena)
    # When she uploads a picture as her avatar, and a header, from her settings
    lena.goto(node.url + "/settings")
    lena.get_by_label(re.compile("^Avatar")).set_input_files(
        {"name": "me.png", "mimeType": "image/png", "buffer": picture("PNG", (600, 300))})
    lena.get_by_label(re.compile("^Header")).set_input_files(
        {"name": "banner.jpg", "mimeType": "image/jpeg", "buffer": picture("JPEG", (900, 900))})
    lena.get_by_role("button", name="Save pictures").click()
    # Then the page says so, and shows her new avatar (kept here, under a generated name)
    expect(lena.get_by_role("status")).to_have_text("Your pictures are saved.")
    expect(lena.locator(".picture-field img.avatar")).to_have_attribute("src", re.compile(r"^/media/[0-9a-f]{32}\.png$"))
    assert violations(lena) == [] and fits(lena)
    # And her post shows it too, and her profile shows it with her header
    lena.goto(node.url + "/local")
    expect(post_card(lena, text).locator("img.avatar")).to_have_attribute("src", re.compile(r"^/media/"))
    lena.goto(node.url + "/@lena")
    expect(lena.locator(".profile-head img.avatar")).to_have_attribute("src", re.compile(r"^/media/.*\.png$"))
    expect(lena.locator("img.profile-banner")).to_have_attribute("src", re.compile(r"^/media/.*\.jpg$"))
    # When she removes her avatar
    lena.goto(node.url + "/settings")
    lena.get_by_label("Remove my avatar").check()
    lena.get_by_role("button", name="Save pictures").click()
    # Then her default shows again, and her header stays
    expect(lena.get_by_role("status")).to_have_text("Your pictures are saved.")
    expect(lena.locator(".picture-field img.avatar")).to_have_attribute("src", re.compile(r"^/avatars/default/"))
    expect(lena.locator(".picture-field img.header-preview")).to_have_attribute("src", re.compile(r"^/media/"))


@pytest.mark.parametrize("size", SIZES)
def test_a_file_that_is_no_picture_is_refused_with_the_reason(node: UINode, browser: Browser, size: str) -> None:
    with browser_at(browser, size) as open_as:
        _refused(node, open_as(node, "alice"))


def _refused(node: UINode, alice: Page) -> None:
    # Given alice's settings
    alice.goto(node.url + "/settings")
    # When she chooses a PDF as her avatar
    alice.get_by_label(re.compile("^Avatar")).set_input_files(
        {"name": "cv.pdf", "mimeType": "image/png", "buffer": b"%PDF-1.4\n%%EOF\n"})
    alice.get_by_role("button", name="Save pictures").click()
    # Then the page says why, and her avatar is still her default
    expect(alice.get_by_role("alert")).to_contain_text("must be a picture")
    expect(alice.locator(".picture-field img.avatar")).to_have_attribute("src", re.compile(r"^/avatars/default/"))
    assert violations(alice) == []
