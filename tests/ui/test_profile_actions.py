"""Block and mute from a person's profile, and the pages that ask before taking something away
(issue #15, the employee): Block and Mute sit behind the profile's "⋯" menu, each explained in
a sentence; a block is asked once more on a page of its own, then the profile says "You blocked
@x" and offers Unblock; a mute is noted on the profile with Unmute. Deleting one's own post and
a moderator's "Remove post" ask on a page too, so a browser without JavaScript cannot lose a
post to one click. At 1280 and 390 px, with axe-core passing."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from node import accounts, follows, moderation, posts
from node.context import NodeContext
from node.posts import NewPost
from tests.ui.conftest import UINode, post_card, shot
from tests.ui.test_accessibility import violations
from tests.ui.test_own_lists import SIZES, Open, browser_at, fits, on_node


@pytest.fixture(params=list(SIZES))
def size(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_as(browser: Browser, size: str) -> Iterator[Open]:
    with browser_at(browser, size) as opener:
        yield opener


def people(node: UINode, *names: str, follows_second: bool = False, posts_by_second: str = "") -> None:
    """New people NAME (password NAME-password); the first follows the second and the second
    posts `posts_by_second` publicly, when asked."""

    async def make(ctx: NodeContext) -> None:
        made = [await accounts.create_user(ctx, n, f"{n}-password") for n in names]
        if follows_second:
            await follows.follow(ctx, made[0], made[1].id)
        if posts_by_second:
            await posts.create_post(ctx, made[1], NewPost(posts_by_second))

    on_node(node, make)


def off_home_and_listed(page: Page, node: UINode, text: str, listing: str, handle: str) -> None:
    """The post `text` is not on the home timeline, and `handle` is on the page `listing`."""
    page.goto(node.url + "/")
    expect(page.get_by_role("heading", name="Home")).to_be_visible()
    expect(post_card(page, text)).to_have_count(0)
    page.goto(node.url + listing)
    expect(page.locator("ul.people")).to_contain_text(handle)


def open_menu(page: Page, handle: str) -> None:
    page.locator("summary.more-toggle", has_text=f"More for @{handle}").click()


def test_block_from_a_profile_asks_first_then_hides_their_posts(node: UINode, open_as: Open, size: str) -> None:
    tag = uuid.uuid4().hex[:6]
    me, them, text = f"bk{tag}", f"bt{tag}", f"blockable-{tag}"
    # Given a person who follows another, whose post is on her home timeline
    people(node, me, them, follows_second=True, posts_by_second=text)
    page = open_as(node, me)
    page.goto(node.url + "/")
    expect(post_card(page, text)).to_be_visible()
    # When she opens their profile's "⋯" menu
    page.goto(f"{node.url}/@{them}")
    expect(page.get_by_role("button", name="Block @" + them)).to_be_hidden()  # secondary: inside the menu
    open_menu(page, them)
    block = page.get_by_role("button", name=f"Block @{them}")
    # Then Block and Mute are there, each explained in a sentence
    expect(block).to_be_visible()
    expect(page.get_by_role("button", name=f"Mute @{them}")).to_be_visible()
    expect(page.get_by_text("Hides their posts and notifications from you")).to_be_visible()
    expect(page.get_by_text("Ends follows both ways")).to_be_visible()
    assert fits(page) and violations(page) == []
    shot(page, f"profile-{size}-menu")
    # When she presses Block, a page asks once more, saying what a block does
    block.click()
    expect(page.get_by_role("heading", name=f"Block @{them}?")).to_be_visible()
    expect(page.get_by_text("They can no longer follow you")).to_be_visible()
    assert fits(page) and violations(page) == []
    shot(page, f"profile-{size}-block-confirm")
    # And Cancel leaves things as they were
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("button", name="Unfollow")).to_be_visible()
    # When she blocks after all
    open_menu(page, them)
    page.get_by_role("button", name=f"Block @{them}").click()
    page.get_by_role("button", name=f"Block @{them}").click()  # on the page that asks again
    # Then the profile says so and offers Unblock instead of Follow
    expect(page).to_have_url(re.compile(f"/@{them}$"))
    expect(page.get_by_text(f"You blocked @{them}")).to_be_visible()
    expect(page.get_by_role("button", name=f"Unblock @{them}")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^(Follow|Unfollow)$"))).to_have_count(0)
    assert fits(page) and violations(page) == []
    shot(page, f"profile-{size}-blocked")
    # And their post left her home timeline, and they are on her blocked list
    off_home_and_listed(page, node, text, "/blocks", f"@{them}")
    # When she unblocks from the profile, Follow is back and the list is empty of them
    page.goto(f"{node.url}/@{them}")
    page.get_by_role("button", name=f"Unblock @{them}").click()
    expect(page.get_by_role("button", name="Follow", exact=True)).to_be_visible()
    expect(page.get_by_text(f"You blocked @{them}")).to_have_count(0)
    page.goto(node.url + "/blocks")
    expect(page.get_by_role("list", name="Blocked people")).not_to_contain_text(f"@{them}")


def test_mute_from_a_profile_and_unmute_there(node: UINode, open_as: Open, size: str) -> None:
    tag = uuid.uuid4().hex[:6]
    me, them, text = f"mk{tag}", f"mt{tag}", f"mutable-{tag}"
    # Given a person who follows another, whose post is on her home timeline
    people(node, me, them, follows_second=True, posts_by_second=text)
    page = open_as(node, me)
    # When she mutes them from their profile's menu (no step in between: a mute is hers alone)
    page.goto(f"{node.url}/@{them}")
    open_menu(page, them)
    page.get_by_role("button", name=f"Mute @{them}").click()
    # Then the profile notes the mute with a way back, and she still follows them
    note = page.locator(".profile-note")
    expect(note).to_contain_text(f"You muted @{them}.")
    expect(page.get_by_role("button", name="Unfollow")).to_be_visible()
    assert fits(page) and violations(page) == []
    shot(page, f"profile-{size}-muted")
    # And their post left her home timeline, and they are on her muted list
    off_home_and_listed(page, node, text, "/mutes", f"@{them}")
    # When she unmutes on the profile, the note is gone, Mute is offered again, the post is back
    page.goto(f"{node.url}/@{them}")
    note.get_by_role("button", name=f"Unmute @{them}").click()
    expect(page.locator(".profile-note")).to_have_count(0)
    open_menu(page, them)
    expect(page.get_by_role("button", name=f"Mute @{them}")).to_be_visible()
    page.goto(node.url + "/")
    expect(post_card(page, text)).to_be_visible()


def test_deleting_an_own_post_without_javascript_asks_on_a_page(node: UINode, open_as: Open, size: str) -> None:
    tag = uuid.uuid4().hex[:6]
    me, text = f"dk{tag}", f"deletable-{tag}"
    # Given a person with a post, in a browser without JavaScript
    people(node, me)

    async def write(ctx: NodeContext) -> None:
        await posts.create_post(ctx, await accounts.get_local(ctx, me), NewPost(text))

    on_node(node, write)
    page = open_as(node, me, js=False)
    page.goto(f"{node.url}/@{me}")
    # When she presses Delete under it
    post_card(page, text).get_by_role("button", name="Delete").click()
    # Then a page asks first, quoting the post, and the post is still there
    expect(page.get_by_role("heading", name="Delete this post?")).to_be_visible()
    expect(page.locator(".confirm-quote")).to_contain_text(text)
    expect(page.get_by_text("This cannot be undone.")).to_be_visible()
    shot(page, f"delete-{size}-confirm")
    page.get_by_role("link", name="Cancel").click()
    page.goto(f"{node.url}/@{me}")
    expect(post_card(page, text)).to_be_visible()
    # When she deletes it on that page, it is gone
    post_card(page, text).get_by_role("button", name="Delete").click()
    page.get_by_role("button", name="Delete this post").click()
    page.goto(f"{node.url}/@{me}")
    expect(page.get_by_text("No posts you can see.")).to_be_visible()
    # And the confirmation page passes axe (asked with JavaScript on: axe is a script)
    checked = open_as(node, me)
    checked.goto(node.url + "/")
    checked.locator("form.compose textarea[name=text]").fill(f"{text}-again")
    checked.locator("form.compose").get_by_role("button", name="Post").click()
    post_card(checked, f"{text}-again").get_by_role("button", name="Delete").click()
    expect(checked.get_by_role("heading", name="Delete this post?")).to_be_visible()
    assert fits(checked) and violations(checked) == []


def test_removing_a_reported_post_asks_on_a_page(node: UINode, open_as: Open, size: str) -> None:
    tag = uuid.uuid4().hex[:6]
    author, reporter, text = f"ra{tag}", f"rr{tag}", f"reported-{tag}"
    report_id: list[int] = []
    # Given a reported post
    people(node, author, reporter)

    async def report(ctx: NodeContext) -> None:
        post = await posts.create_post(ctx, await accounts.get_local(ctx, author), NewPost(text))
        filed = await moderation.file_report(ctx, await accounts.get_local(ctx, reporter), post.id, "spam")
        report_id.append(filed.id)

    on_node(node, report)
    # When a moderator, without JavaScript, presses "Remove post" on the report
    root = open_as(node, "root", js=False)
    root.goto(f"{node.url}/admin/reports/{report_id[0]}")
    root.get_by_role("button", name=f"Remove post by @{author}").click()
    # Then a page asks first, quoting the post, with the reason kept for the audit log
    expect(root.get_by_role("heading", name=f"Remove this post by @{author}?")).to_be_visible()
    expect(root.locator(".confirm-quote")).to_contain_text(text)
    expect(root.get_by_label("Reason (optional, kept in the audit log)")).to_have_value(re.compile("^report #"))
    shot(root, f"remove-{size}-confirm")
    # When they confirm, the post is removed
    root.get_by_role("button", name=f"Remove this post by @{author}").click()
    expect(root.get_by_role("status")).to_contain_text("the post is removed")
    expect(root.locator("article.post", has_text=text)).to_have_count(0)
