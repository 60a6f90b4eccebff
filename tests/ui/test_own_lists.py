"""The everyday pages of one's own (issue #15, "Missing everyday pages"): direct messages,
bookmarks, favourites, and the people one blocks and mutes — each reached from the navigation,
each saying what it is for when empty, each paged, at 1280 and 390 px, with axe-core passing.
A direct message never shows on the page of someone it does not mention."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from node import accounts, blocks, bookmarks, interactions, mutes, posts
from node.context import NodeContext
from node.posts import NewPost
from tests.ui.conftest import WAIT_MS, UINode, compose, off_loop, post_card, shot, sign_in
from tests.ui.test_accessibility import AXE, violations

SIZES: dict[str, ViewportSize] = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


Open = Callable[..., Page]  # (node, name, *, js=True): a signed-in page


@pytest.fixture(params=list(SIZES))
def size(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@contextmanager
def browser_at(browser: Browser, size: str) -> Iterator[Open]:
    """Signed-in pages at `size`, closed together (CSP bypassed so axe can be injected;
    `js=False` for a browser without JavaScript)."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run scripts/lib/ensure-axe (scripts/test does)")
    contexts: list[BrowserContext] = []

    def _open(node: UINode, name: str, *, js: bool = True) -> Page:
        ctx = browser.new_context(
            viewport=SIZES[size], device_scale_factor=1, is_mobile=size == "phone", bypass_csp=True,
            java_script_enabled=js,
        )
        ctx.set_default_timeout(WAIT_MS)
        contexts.append(ctx)
        page = ctx.new_page()
        sign_in(page, node, name)
        return page

    try:
        yield _open
    finally:
        for ctx in contexts:
            ctx.close()


@pytest.fixture
def open_as(browser: Browser, size: str) -> Iterator[Open]:
    with browser_at(browser, size) as opener:
        yield opener


def go_by_nav(page: Page, name: str) -> None:
    """Open a page from the main navigation, as a person would (from the menu on a phone)."""
    menu = page.get_by_role("link", name="Menu")
    if menu.is_visible():
        menu.click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def go_to_settings(page: Page, section: str) -> None:
    """Open a section of Settings as a person would: Settings in the main navigation, then
    the section's tab."""
    go_by_nav(page, "Settings")
    page.get_by_role("navigation", name="Settings").get_by_role("link", name=section).click()


def fits(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def on_node(node: UINode, work: Callable[[NodeContext], Awaitable[None]]) -> None:
    """Run `work(ctx)` against the node's database through the node layer (seeding)."""

    async def run() -> None:
        async with node.process.act() as ctx:
            await work(ctx)

    off_loop(asyncio.run, run())


def test_direct_messages_reach_the_people_mentioned_and_no_one_else(node: UINode, open_as: Open, size: str) -> None:
    secret = f"dm-{size}-{uuid.uuid4().hex[:8]}"
    alice, lena, mallory = (open_as(node, n) for n in ("alice", "lena", "mallory"))
    # Given alice writes to lena alone
    alice.goto(node.url + "/compose")
    compose(alice, f"@lena {secret} lunch at noon?", "Mentioned people only")
    expect(post_card(alice, secret)).to_be_visible()
    # When lena opens her direct messages from the navigation
    go_by_nav(lena, "Direct messages")
    # Then the conversation with alice is there, new, with the start of the message
    item = lena.locator("li.conversation", has_text=secret)
    expect(item).to_be_visible()
    expect(item).to_contain_text("alice")
    expect(item.locator(".badge.new")).to_be_visible()
    assert fits(lena) and violations(lena) == []
    shot(lena, f"own-{size}-conversations")
    # When she opens it: the message, and a reply to alice that stays between them
    item.get_by_role("link").click()
    expect(lena.get_by_role("heading", name=re.compile("^With alice"))).to_be_visible()
    conversation_url = lena.url
    expect(post_card(lena, secret)).to_be_visible()
    reply = lena.locator("#reply-form")
    expect(reply.get_by_label("Your reply")).to_have_value("@alice ")
    expect(reply.get_by_role("radio", name=re.compile("^Mentioned people only"))).to_be_checked()
    assert fits(lena) and violations(lena) == []
    shot(lena, f"own-{size}-conversation", full_page=True)
    reply.get_by_label("Your reply").fill(f"@alice {secret}-answer noon is fine")
    reply.get_by_role("button", name="Reply").click()
    expect(post_card(lena, f"{secret}-answer")).to_be_visible()
    # And reading it took the "New" away for lena; alice has the answer, new for her
    go_by_nav(lena, "Direct messages")
    expect(lena.locator("li.conversation", has_text=f"{secret}-answer").locator(".badge.new")).to_have_count(0)
    go_by_nav(alice, "Direct messages")
    mine = alice.locator("li.conversation", has_text=f"{secret}-answer")
    expect(mine).to_contain_text("lena")
    expect(mine.locator(".badge.new")).to_be_visible()
    # And mallory, whom no message mentions, sees none of it, and is told what the page is for
    go_by_nav(mallory, "Direct messages")
    expect(mallory.get_by_role("heading", name="Direct messages", exact=True)).to_be_visible()
    assert secret not in mallory.content()
    expect(mallory.get_by_text("No direct messages yet")).to_be_visible()
    assert violations(mallory) == []
    shot(mallory, f"own-{size}-conversations-empty")
    mallory.goto(conversation_url)  # their conversation's page, by its address
    assert secret not in mallory.content()
    expect(mallory.get_by_role("heading", name="Not found")).to_be_visible()


def test_bookmarks_and_favourites_are_kept_listed_and_undone(node: UINode, open_as: Open, size: str) -> None:
    text = f"keep-{size}-{uuid.uuid4().hex[:8]}"
    root, lena = open_as(node, "root"), open_as(node, "lena")
    # Given root's public post, which lena bookmarks and likes from a timeline
    root.goto(node.url + "/local")
    compose(root, f"{text} worth keeping", "Public")
    lena.goto(node.url + "/local")
    post_card(lena, text).get_by_role("button", name="Bookmark").click()
    expect(post_card(lena, text).get_by_role("button", name="Bookmarked")).to_be_visible()
    post_card(lena, text).get_by_role("button", name=re.compile("^Like")).click()
    # When she opens her bookmarks and favourites from the navigation, it is in both
    for name in ("Bookmarks", "Favourites"):
        go_by_nav(lena, name)
        expect(lena.get_by_role("heading", name=name, exact=True)).to_be_visible()
        expect(post_card(lena, text)).to_be_visible()
        assert fits(lena) and violations(lena) == []
        shot(lena, f"own-{size}-{name.lower()}")
    # When she takes the bookmark back on her bookmarks page, it leaves that list only
    go_by_nav(lena, "Bookmarks")
    post_card(lena, text).get_by_role("button", name="Bookmarked").click()
    expect(post_card(lena, text)).to_have_count(0)
    go_by_nav(lena, "Favourites")
    expect(post_card(lena, text)).to_be_visible()
    # And root, who keeps nothing, is told what each page is for
    for name, says in (("Bookmarks", "No bookmarks yet"), ("Favourites", "No favourites yet")):
        go_by_nav(root, name)
        expect(root.get_by_text(says)).to_be_visible()
        assert violations(root) == []
        shot(root, f"own-{size}-{name.lower()}-empty")


def test_blocked_and_muted_people_are_listed_with_a_way_back(node: UINode, open_as: Open, size: str) -> None:
    # Given alice blocks mallory and mutes lena (as her app would, through the node)
    async def block_and_mute(ctx: NodeContext) -> None:
        alice, mallory, lena = [await accounts.get_local(ctx, n) for n in ("alice", "mallory", "lena")]
        await blocks.block(ctx, alice, mallory.id)
        await mutes.mute(ctx, alice, lena.id)

    on_node(node, block_and_mute)
    alice = open_as(node, "alice")
    # When she opens "Blocked and muted", then its "Muted" tab
    go_to_settings(alice, "Blocked and muted")
    for tab, who, undo, none_left in (
        ("Blocked", "mallory", "Unblock", "You block no one."),
        ("Muted", "lena", "Unmute", "You mute no one."),
    ):
        alice.get_by_role("navigation", name="Blocked or muted").get_by_role("link", name=tab).click()
        # Then each lists its person with a way back
        people = alice.get_by_role("list", name=f"{tab} people")
        expect(people).to_contain_text(f"@{who}")
        assert fits(alice) and violations(alice) == []
        shot(alice, f"own-{size}-{tab.lower()}")
        # And undoing it takes them off, and the page says there is no one left
        people.get_by_role("button", name=f"{undo} @{who}").click()
        expect(alice.get_by_text(none_left)).to_be_visible()
        assert violations(alice) == []


def test_each_list_pages_to_older_items(node: UINode, browser: Browser) -> None:
    """Paging is the same page at either size: asked once, at desktop."""
    # Given a new person with 21 bookmarks, 21 favourites and 21 conversations (a page is 20)
    marker = uuid.uuid4().hex[:6]
    pager = f"pg{marker}"

    async def seed(ctx: NodeContext) -> None:
        lena = await accounts.get_local(ctx, "lena")
        account = await accounts.create_user(ctx, pager, f"{pager}-password")
        for n in range(21):
            public = await posts.create_post(ctx, lena, NewPost(f"paged-{marker}-{n:02d}"))
            await bookmarks.bookmark(ctx, account, public.id)
            await interactions.like(ctx, account, public.id)
            await posts.create_post(ctx, lena, NewPost(f"@{pager} dm-{marker}-{n:02d}", visibility="direct"))

    on_node(node, seed)
    with browser_at(browser, "desktop") as open_as:
        page = open_as(node, pager)
        for name, first, button in (
            ("Bookmarks", f"paged-{marker}-", "Older posts"),
            ("Favourites", f"paged-{marker}-", "Older posts"),
            ("Direct messages", f"dm-{marker}-", "Older conversations"),
        ):
            # When the first page is read, the newest is on it and the oldest is not
            go_by_nav(page, name)
            expect(page.get_by_text(first + "20")).to_be_visible()
            assert first + "00" not in page.content(), name
            # Then the next page has the oldest, and only it
            page.get_by_role("link", name=button).click()
            expect(page.get_by_text(first + "00")).to_be_visible()
            assert first + "20" not in page.content() and first + "01" not in page.content(), name
