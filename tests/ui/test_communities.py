"""Communities in the web UI (web/ui/pages_communities*.py): made from the form, found in the
directory and joined by a second person, written to from its page (its posts reach members'
home timelines as the community's boosts), moderated (a post removed, a request approved, a
person invited, a moderator made) — at 1280 and 390 px, with axe-core passing and screenshots."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Browser, Locator, Page, expect

from node import accounts, communities
from node.context import NodeContext
from tests.ui.conftest import UINode, post_card, shot
from tests.ui.test_accessibility import violations
from tests.ui.test_own_lists import Open, fits, go_by_nav, on_node, open_as, size  # noqa: F401 - fixtures

__all__ = ["open_as", "size"]


def checked(page: Page, name: str) -> None:
    """The page fits the screen, axe finds nothing serious, and a screenshot is kept."""
    assert fits(page), f"{name}: wider than the screen"
    assert violations(page) == [], name
    shot(page, name, full_page=True)


def notice(page: Page) -> Locator:
    """The line that says an action was done (the composer has a status line of its own)."""
    return page.locator("p.ok[role=status]")


def write(page: Page, text: str) -> None:
    form = page.locator("form.community-compose")
    form.get_by_label(re.compile("^Write to")).fill(text)
    form.get_by_role("button", name="Post", exact=True).click()


def test_a_community_is_made_joined_written_to_and_moderated(node: UINode, open_as: Open, size: str) -> None:  # noqa: F811
    tag = uuid.uuid4().hex[:6]
    name = f"guild-{size[:2]}-{tag}"
    alice, lena, mallory = open_as(node, "alice"), open_as(node, "lena"), open_as(node, "mallory")
    # When alice opens Communities from the navigation and creates one, in plain words
    go_by_nav(alice, "Communities")
    expect(alice.get_by_role("heading", name="Communities", exact=True)).to_be_visible()
    alice.get_by_role("link", name="Create community").first.click()
    expect(alice.get_by_role("heading", name="Create a community")).to_be_visible()
    checked(alice, f"communities-{size}-create")
    alice.get_by_label("Name", exact=True).fill(name)
    alice.get_by_label(re.compile("^Display name")).fill(f"Platform Guild {tag}")
    alice.get_by_label("Description").fill(f"Builders of the platform {tag}: tooling, CI and the deploy pipeline.")
    alice.get_by_label(re.compile("^Rules")).fill("Be kind.\nStay on topic.\nNo secrets in posts.")
    alice.get_by_role("radio", name="Organisation").check()
    alice.get_by_role("radio", name="Open").check()
    alice.get_by_role("button", name="Create community").click()
    # Then she is on its page: its name, audience, rules, one member (her), and she moderates it
    expect(alice.get_by_role("heading", name=f"Platform Guild {tag}")).to_be_visible()
    head = alice.locator(".community-head")
    expect(head).to_contain_text("Organisation")
    expect(head).to_contain_text("1 member")
    expect(head).to_contain_text("You moderate")
    expect(head.get_by_role("listitem")).to_have_count(3)  # the rules
    expect(notice(alice)).to_contain_text("Your community is ready")
    # When a second person finds it by a word of its description and joins from the directory
    go_by_nav(lena, "Communities")
    lena.get_by_label("Search communities by name or description").fill(f"platform {tag}")
    lena.get_by_role("button", name="Search").click()
    row = lena.locator("li.community-row", has_text=f"Platform Guild {tag}")
    expect(row).to_be_visible()
    checked(lena, f"communities-{size}-directory")
    row.get_by_role("button", name=f"Join Platform Guild {tag}").click()
    expect(lena.locator("li.community-row", has_text=f"Platform Guild {tag}")
           .get_by_role("button", name=re.compile("^Leave"))).to_be_visible()
    # And she writes to it from its page
    lena.locator("li.community-row", has_text=f"Platform Guild {tag}").get_by_role("link").first.click()
    expect(lena.locator(".community-head")).to_contain_text("2 members")
    write(lena, f"first-{tag}: the CI cache is warm again")
    card = post_card(lena, f"first-{tag}")
    expect(card).to_be_visible()
    expect(card).to_contain_text("Organisation")  # the community's audience, not a choice
    checked(lena, f"communities-{size}-page")
    lena.emulate_media(color_scheme="dark")  # and in dark colours
    assert violations(lena) == []
    shot(lena, f"communities-{size}-page-dark")
    lena.emulate_media(color_scheme="light")
    # Then alice, a member, has it at home, boosted by the community
    alice.goto(node.url + "/")
    home = post_card(alice, f"first-{tag}")
    expect(home).to_contain_text(f"Boosted by Platform Guild {tag}")
    # And mallory, who has not joined, reads it on the page but has no composer, only Join
    mallory.goto(f"{node.url}/communities/{name}")
    expect(post_card(mallory, f"first-{tag}")).to_be_visible()
    expect(mallory.locator("form.community-compose")).to_have_count(0)
    expect(mallory.locator(".community-head").get_by_role("button", name="Join")).to_be_visible()
    expect(mallory.get_by_role("button", name=re.compile("^Remove from community"))).to_have_count(0)
    # And lena, not a moderator, cannot remove it by sending the form herself
    post_id = card.get_attribute("data-id")
    token = lena.locator("form.community-compose input[name=csrf]").input_value()
    refused = lena.request.post(f"{node.url}/communities/{name}/posts/{post_id}/remove",
                                form={"csrf": token, "confirmed": "yes"})
    assert refused.status == 403
    # When alice, a moderator, removes the post (asked once more first)
    alice.goto(f"{node.url}/communities/{name}")
    post_card(alice, f"first-{tag}").locator("xpath=..").get_by_role(
        "button", name=re.compile("^Remove from community")).click()
    expect(alice.get_by_role("heading", name="Remove this post from the community?")).to_be_visible()
    checked(alice, f"communities-{size}-confirm-remove")
    alice.get_by_role("button", name="Remove this post from the community").click()
    # Then it is gone from the page, for her and for lena
    expect(notice(alice)).to_contain_text("removed from the community")
    expect(alice.locator("article.post", has_text=f"first-{tag}")).to_have_count(0)
    lena.goto(f"{node.url}/communities/{name}")
    expect(lena.get_by_role("heading", name="No posts yet")).to_be_visible()
    # And lena may not moderate: the members page offers her no approval or removal
    lena.get_by_role("link", name="Members", exact=True).click()
    expect(lena.get_by_role("list", name="Members")).to_contain_text("@alice")
    expect(lena.get_by_role("button", name=re.compile("^(Remove|Make moderator)"))).to_have_count(0)
    checked(lena, f"communities-{size}-members")


def test_requests_are_approved_people_invited_and_moderators_made(node: UINode, open_as: Open, size: str) -> None:  # noqa: F811
    tag = uuid.uuid4().hex[:6]
    asking, closed = f"ask-{size[:2]}-{tag}", f"closed-{size[:2]}-{tag}"

    async def seed(ctx: NodeContext) -> None:
        alice = await accounts.get_local(ctx, "alice")
        await communities.create_community(ctx, asking, audience="local", mode="approval", creator=alice,
                                           display_name=f"Design Crit {tag}", description="Weekly design critique.")
        await communities.create_community(ctx, closed, audience="organization", mode="invite", creator=alice,
                                           display_name=f"Leads {tag}", description="Team leads only.")

    on_node(node, seed)
    alice, mallory, lena = open_as(node, "alice"), open_as(node, "mallory"), open_as(node, "lena")
    # When mallory asks to join the approval community
    mallory.goto(f"{node.url}/communities/{asking}")
    expect(mallory.locator(".community-head")).to_contain_text("Approval")
    mallory.get_by_role("button", name="Ask to join").click()
    expect(mallory.locator(".community-head")).to_contain_text("Request sent")
    expect(mallory.locator("form.community-compose")).to_have_count(0)
    # And the invitation-only one offers her no way in
    mallory.goto(f"{node.url}/communities/{closed}")
    expect(mallory.locator(".community-head")).to_contain_text("By invitation only")
    expect(mallory.locator(".community-head").get_by_role("button", name=re.compile("Join"))).to_have_count(0)
    # Then alice sees the request on the members page and approves it
    alice.goto(f"{node.url}/communities")
    expect(alice.locator("li.community-row", has_text=f"Design Crit {tag}")).to_contain_text("1 request waiting")
    alice.goto(f"{node.url}/communities/{asking}")
    alice.get_by_role("link", name="Members and requests 1 waiting").click()
    requests = alice.get_by_role("list", name="Requests to join")
    expect(requests).to_contain_text("@mallory")
    checked(alice, f"communities-{size}-requests")
    requests.get_by_role("button", name="Approve @mallory").click()
    expect(alice.get_by_role("status")).to_contain_text("they are a member now")
    expect(alice.get_by_role("list", name="Members")).to_contain_text("@mallory")
    checked(alice, f"communities-{size}-members-moderated")
    mallory.goto(f"{node.url}/communities/{asking}")
    expect(mallory.locator(".community-head")).to_contain_text("Member")
    expect(mallory.locator("form.community-compose")).to_be_visible()
    # When alice makes mallory a moderator, mallory sees the requests too
    alice.get_by_role("button", name="Make moderator @mallory").click()
    expect(alice.get_by_role("status")).to_contain_text("a moderator now")
    mallory.goto(f"{node.url}/communities/{asking}/members")
    expect(mallory.get_by_role("heading", name=re.compile("^Requests to join"))).to_be_visible()
    # When alice invites lena to the closed community by her handle (a wrong one first)
    alice.goto(f"{node.url}/communities/{closed}/members")
    alice.get_by_label("Their handle").fill("nobody-here")
    alice.get_by_role("button", name="Invite", exact=True).click()
    expect(alice.get_by_role("alert")).to_contain_text("no one here is called @nobody-here")
    alice.get_by_label("Their handle").fill("@lena")
    alice.get_by_role("button", name="Invite", exact=True).click()
    expect(alice.get_by_role("status")).to_contain_text("The invitation is sent")
    expect(alice.locator(".invited-list")).to_contain_text("@lena")
    # Then lena's directory says she is invited, and she joins
    lena.goto(f"{node.url}/communities?q={tag}")
    row = lena.locator("li.community-row", has_text=f"Leads {tag}")
    expect(row).to_contain_text("Invited")
    row.get_by_role("button", name=f"Join Leads {tag}").click()
    lena.goto(f"{node.url}/communities")
    expect(lena.get_by_role("list", name="Your communities")).to_contain_text(f"Leads {tag}")
    checked(lena, f"communities-{size}-yours")
    # When alice removes mallory from the first community (asked once more first)
    alice.goto(f"{node.url}/communities/{asking}/members")
    alice.get_by_role("list", name="Members").get_by_role("button", name="Remove @mallory").click()
    expect(alice.get_by_role("heading", name=re.compile("^Remove @mallory from"))).to_be_visible()
    alice.get_by_role("button", name=re.compile("^Remove @mallory")).click()
    # Then she is no longer a member, and its page offers her to ask again
    expect(alice.get_by_role("status")).to_contain_text("no longer a member")
    expect(alice.get_by_role("list", name="Members")).not_to_contain_text("@mallory")
    mallory.goto(f"{node.url}/communities/{asking}")
    expect(mallory.get_by_role("button", name="Ask to join")).to_be_visible()
    # And the last moderator cannot step down: the page says why
    alice.goto(f"{node.url}/communities/{closed}/members")
    alice.get_by_role("button", name="Stop moderating @alice").click()
    expect(alice.get_by_role("alert")).to_contain_text("at least one moderator")


def test_joining_and_writing_work_without_javascript(node: UINode, open_as: Open, size: str,  # noqa: F811
                                                     browser: Browser) -> None:
    tag = uuid.uuid4().hex[:6]
    name = f"nojs-{size[:2]}-{tag}"

    async def seed(ctx: NodeContext) -> None:
        alice = await accounts.get_local(ctx, "alice")
        await communities.create_community(ctx, name, audience="public", creator=alice, display_name=f"Open Door {tag}",
                                           rules="Be kind.")

    on_node(node, seed)
    lena = open_as(node, "lena", js=False)
    # When lena, whose browser runs no script, joins from the page and writes to it
    lena.goto(f"{node.url}/communities/{name}")
    lena.locator(".community-head").get_by_role("button", name="Join").click()
    expect(lena.locator(".community-head")).to_contain_text("Member")
    write(lena, f"nojs-{tag} hello from a plain browser")
    # Then her post is on the page, with the community's audience
    expect(post_card(lena, f"nojs-{tag}")).to_contain_text("Public")
    # And an empty post is refused with the reason, on the page, nothing lost
    write(lena, "   ")
    expect(lena.get_by_role("alert")).to_contain_text("needs some text")
    assert fits(lena)  # (axe needs script: the same page is checked with it above)
    # And a visitor not signed in reads a public community's posts, with a way to sign in and no composer
    visitor = browser.new_context()
    try:
        page = visitor.new_page()
        page.goto(f"{node.url}/communities/{name}")
        expect(post_card(page, f"nojs-{tag}")).to_be_visible()
        expect(page.get_by_role("link", name="Sign in to join")).to_be_visible()
        expect(page.locator("form.community-compose")).to_have_count(0)
    finally:
        visitor.close()
    shot(lena, f"communities-{size}-nojs", full_page=True)
    # And leaving from the page the refusal came back on (the form's address, …/posts) leads back to the community
    lena.locator(".community-head").get_by_role("button", name="Leave").click()
    expect(lena).to_have_url(re.compile(f"/communities/{name}$"))
    expect(lena.locator(".community-head").get_by_role("button", name="Join")).to_be_visible()
