"""A community's settings in the web UI (web/ui/pages_community_settings.py): its moderator
finds them from the community's header, changes its name, description, rules and way of
joining, gives it an avatar and a header, and is told plainly that its audience cannot change;
a file that is no picture is refused with the reason and nothing changes; a member who is not a
moderator sees no settings and is refused the page — at 1280 and 390 px, with axe-core passing."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from node import accounts, communities
from node.context import NodeContext
from tests.media_files import picture
from tests.ui.conftest import UINode
from tests.ui.test_communities import checked
from tests.ui.test_own_lists import Open, on_node, open_as, size  # noqa: F401 - fixtures

__all__ = ["open_as", "size"]


def test_a_moderator_changes_the_communitys_settings_and_pictures(node: UINode, open_as: Open, size: str) -> None:  # noqa: F811
    tag = uuid.uuid4().hex[:6]
    name = f"set-{size[:2]}-{tag}"

    async def seed(ctx: NodeContext) -> None:
        alice, lena = await accounts.get_local(ctx, "alice"), await accounts.get_local(ctx, "lena")
        group = await communities.create_community(ctx, name, audience="organization", creator=alice,
                                                   display_name=f"Guild {tag}", description="Old words.")
        await communities.join(ctx, lena, group.id)

    on_node(node, seed)
    alice, lena = open_as(node, "alice"), open_as(node, "lena")
    # When alice, its moderator, opens Settings from the community's header
    alice.goto(f"{node.url}/communities/{name}")
    alice.get_by_role("navigation", name="This community").get_by_role("link", name="Settings").click()
    expect(alice.get_by_role("heading", name="Community settings")).to_be_visible()
    # Then the page says the audience cannot be changed, and why
    expect(alice.locator(".community-audience-fixed")).to_contain_text("The audience cannot be changed")
    checked(alice, f"community-settings-{size}")
    # When she gives it a PDF as its avatar with a new name
    alice.get_by_label("Display name").fill(f"Platform Guild {tag}")
    alice.get_by_label(re.compile("^Avatar")).set_input_files(
        {"name": "cv.pdf", "mimeType": "image/png", "buffer": b"%PDF-1.4\n%%EOF\n"})
    alice.get_by_role("button", name="Save settings").click()
    # Then she is told why and that nothing changed, her typing kept
    expect(alice.get_by_role("alert")).to_contain_text("Nothing was changed")
    expect(alice.get_by_label("Display name")).to_have_value(f"Platform Guild {tag}")
    expect(alice.locator("#community-name")).to_have_text(f"Guild {tag}")
    checked(alice, f"community-settings-{size}-refused")
    # When she saves real pictures, a new description, rules and approval to join
    alice.get_by_label("Description").fill(f"Builders of the platform {tag}.")
    alice.get_by_label(re.compile("^Rules")).fill("Be kind.\nStay on topic.")
    alice.get_by_role("radio", name="Approval").check()
    alice.get_by_label(re.compile("^Avatar")).set_input_files(
        {"name": "guild.png", "mimeType": "image/png", "buffer": picture("PNG", (600, 300))})
    alice.get_by_label(re.compile("^Header")).set_input_files(
        {"name": "banner.jpg", "mimeType": "image/jpeg", "buffer": picture("JPEG", (900, 900))})
    alice.get_by_role("button", name="Save settings").click()
    # Then they are saved and shown in the header: name, picture, banner, badge, rules
    expect(alice.get_by_role("status")).to_contain_text("settings are saved")
    head = alice.locator(".community-head")
    expect(alice.locator("#community-name")).to_have_text(f"Platform Guild {tag}")
    expect(head.locator(".profile-head img.avatar")).to_have_attribute("src", re.compile(r"^/media/.*\.png$"))
    expect(head.locator("img.profile-banner")).to_have_attribute("src", re.compile(r"^/media/.*\.jpg$"))
    expect(head).to_contain_text("Approval")
    expect(head.get_by_role("listitem")).to_have_count(2)
    checked(alice, f"community-settings-{size}-saved")
    # And lena, a member who does not moderate, sees the change but no Settings, and is refused the page
    lena.goto(f"{node.url}/communities/{name}")
    expect(lena.locator("#community-name")).to_have_text(f"Platform Guild {tag}")
    expect(lena.get_by_role("navigation", name="This community").get_by_role("link", name="Settings")).to_have_count(0)
    refused = lena.goto(f"{node.url}/communities/{name}/settings")
    assert refused is not None and refused.status == 403
    expect(lena.get_by_text("only the community's moderators")).to_be_visible()
