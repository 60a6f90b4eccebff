"""Nodes have names, and profiles look finished (issue #15): in a browser, at 1280 px and at
390 px, with axe-core finding no serious or critical violation.

Two real nodes made by `atrium init --name`: "Acme Engineering" (alice, and root its admin) and
"Partner Co." (pat, who posted before anyone on Acme Engineering followed him).
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from node import follows, remote
from node.accounts import get_account
from node.context import NodeContext
from node.posts import NewPost, create_post
from tests.conftest import ENGINES, drop_pg_database, recreate_pg_database, worker_tag
from tests.federation.nodes import NodeProcess, eventually
from tests.ui.conftest import WAIT_MS, UINode, create_users, init_with_token, off_loop, sign_in
from tests.ui.test_accessibility import AXE, violations

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SIZES = {"desktop": DESKTOP, "phone": PHONE}
SCREENSHOTS = Path(__file__).parent / "screenshots"  # as conftest.shot: a test run never rewrites docs/
PAT_SAYS = f"Hello from the partner side {uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def named(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, UINode]]:
    root: Path = tmp_path_factory.mktemp("names")
    pg_name = f"atrium_ui_names_{worker_tag()}"
    pg = "postgresql" in ENGINES
    eng = NodeProcess("eng", root)
    partner = NodeProcess("partner", root, off_loop(recreate_pg_database, pg_name) if pg else None)
    with ThreadPoolExecutor() as pool:
        tokens = list(pool.map(init_with_token, [eng, partner], ["Acme Engineering", "Partner Co."]))
    eng.write_policy(f'mode = "allowlist"\n[peers."{partner.domain}"]\ntrust = "partner"\n')
    partner.write_policy(f'mode = "allowlist"\n[peers."{eng.domain}"]\ntrust = "public"\n')
    create_users(eng, ["alice", "root"], admins=("root",))
    create_users(partner, ["pat"])
    try:
        with ThreadPoolExecutor() as pool:
            list(pool.map(NodeProcess.start, [eng, partner]))

        async def pat_posts() -> None:
            async with partner.act() as ctx:
                pat = await partner.user(ctx, "pat")
                await create_post(ctx, pat, NewPost(text=PAT_SAYS, visibility="public"))

        off_loop(asyncio.run, pat_posts())
        yield {"eng": UINode(eng, tokens[0]), "partner": UINode(partner, tokens[1])}
    finally:
        eng.stop()
        partner.stop()
        if pg and not os.environ.get("ATRIUM_KEEP_TEST_DATABASES"):
            off_loop(drop_pg_database, pg_name)


def browser_context(browser: Browser, size: str) -> BrowserContext:
    phone = size == "phone"
    ctx = browser.new_context(viewport=SIZES[size], device_scale_factor=1, is_mobile=phone, bypass_csp=True)
    ctx.set_default_timeout(WAIT_MS)
    return ctx


def no_violations(page: Page) -> None:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run scripts/lib/ensure-axe (scripts/test does)")
    assert violations(page) == []


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_an_admin_names_the_node_and_everyone_reads_the_name(
    named: dict[str, UINode], browser: Browser, size: str
) -> None:
    eng = named["eng"]
    ctx = browser_context(browser, size)
    try:
        page = ctx.new_page()
        # Given the node `atrium init --name` called "Acme Engineering" (and the other size's run
        # may have renamed since): its sign-in page says so
        page.goto(f"{eng.url}/signin")
        expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Sign in to Acme Engineering"))
        expect(page.locator(".node-domain")).to_have_text(eng.domain)
        no_violations(page)
        if size == "desktop":
            shot(page, "signin-after")
        # When its admin renames it on the node settings page
        sign_in(page, eng, "root")
        page.goto(f"{eng.url}/admin/settings")
        field = page.get_by_label("Name of this node")
        expect(field).to_have_value(re.compile(r"^Acme Engineering"))
        no_violations(page)
        if size == "desktop":
            shot(page, "admin-settings")
        new_name = f"Acme Engineering ({size})"
        field.fill(new_name)
        page.get_by_role("button", name="Save name").click()
        # Then the page says it is saved, and the header of every page names the node
        expect(page.get_by_role("status")).to_contain_text("name is saved")
        expect(page.locator(".brand .node")).to_have_text(new_name)
        no_violations(page)
        # And the audience picker says who "This node only" reaches by the node's name
        page.goto(f"{eng.url}/")
        expect(page.get_by_text(f"Only people on {new_name}; it never leaves this node").first).to_be_attached()
        # And a bad name is refused with its reason, the field keeping what was typed
        page.goto(f"{eng.url}/admin/settings")
        page.get_by_label("Name of this node").fill("Acme\u200bEngineering")
        page.get_by_role("button", name="Save name").click()
        expect(page.get_by_role("alert")).to_contain_text("control or invisible")
        expect(page.locator(".brand .node")).to_have_text(new_name)
        no_violations(page)
        # (the name the other tests and the screenshots expect, back)
        page.get_by_label("Name of this node").fill("Acme Engineering")
        page.get_by_role("button", name="Save name").click()
        expect(page.locator(".brand .node")).to_have_text("Acme Engineering")
    finally:
        ctx.close()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_remote_profile_is_complete_and_its_follow_button_clear(
    named: dict[str, UINode], browser: Browser, size: str
) -> None:
    eng, partner = named["eng"], named["partner"]
    handle = f"pat@{partner.domain}"
    ctx = browser_context(browser, size)
    try:
        page = ctx.new_page()
        sign_in(page, eng, "alice")
        # When alice opens pat's profile, whom no one on her node follows yet
        page.goto(f"{eng.url}/@{handle}")
        # Then it shows his name, handle, node (by its name), his post read from his node, and
        # the counts in one row
        expect(page.get_by_role("heading", level=1)).to_have_text("pat")
        expect(page.locator(".profile .handle")).to_have_text(f"@{handle}")
        expect(page.locator(".profile-badges")).to_contain_text("on Partner Co.")
        expect(page.locator("article.post", has_text=PAT_SAYS)).to_be_visible()
        counts = page.locator(".profile-counts li")
        expect(counts).to_have_count(3)
        expect(counts.nth(0)).to_have_text(re.compile(r"^\s*\d+ posts?\s*$"))
        expect(counts.nth(1)).to_have_text(re.compile(r"^\s*\d+ following\s*$"))
        expect(counts.nth(2)).to_have_text(re.compile(r"^\s*\d+ followers?\s*$"))
        tops = {round(counts.nth(i).bounding_box()["y"]) for i in range(3)}  # type: ignore[index]
        assert len(tops) == 1, f"the counts are not in one row: {tops}"
        assert "·" not in page.locator(".profile").inner_text()
        # And the Follow button stands clear: right of the name on a desktop, under it and wide
        # on a phone
        button = page.get_by_role("button", name="Follow", exact=True)
        name_box = page.get_by_role("heading", level=1).bounding_box()
        box = button.bounding_box()
        assert name_box is not None and box is not None
        if size == "desktop":
            assert box["x"] > name_box["x"] + name_box["width"] and box["y"] < name_box["y"] + name_box["height"]
        else:
            assert box["y"] > name_box["y"] + name_box["height"] and box["width"] > PHONE["width"] * 0.6
        no_violations(page)
        if size == "desktop":
            shot(page, "profile-after")
        else:
            shot(page, "phone-profile-after")
        # When she follows him (he approves no one by hand: his node accepts at once)
        button.click()
        # Then the button says so, and offers to undo it
        for _ in range(30):
            if page.locator(".follow-state", has_text="Following").count():
                break
            page.wait_for_timeout(300)
            page.reload()
        expect(page.locator(".follow-state")).to_contain_text("Following")
        expect(page.get_by_role("button", name="Unfollow")).to_be_visible()
        no_violations(page)
        # And her own profile counts him
        page.goto(f"{eng.url}/@alice")
        expect(page.locator(".profile-counts li").nth(1)).to_have_text(re.compile(r"^\s*1 following\s*$"))
        expect(page.get_by_role("link", name="Edit profile")).to_be_visible()
        expect(page.locator(".profile-badges")).to_contain_text("on Acme Engineering")
        no_violations(page)

        # And once he follows her back, his profile says he follows her
        async def pat_follows_alice() -> None:
            async with partner.process.act() as pctx:
                pat = await partner.process.user(pctx, "pat")
                alice = await remote.resolve_handle(pctx, f"alice@{eng.domain}")
                if not (await follows.relationship(pctx, pat, alice.id))["following"]:  # the other size's run
                    await follows.follow(pctx, pat, alice.id)
                await eventually(lambda: _accepted(pctx, pat.id, alice.id), what="alice's node accepting")

        off_loop(asyncio.run, pat_follows_alice())
        page.goto(f"{eng.url}/@{handle}")
        expect(page.locator(".profile-badges")).to_contain_text("Follows you")
        no_violations(page)
        # And unfollowing brings the Follow button back
        page.get_by_role("button", name="Unfollow").click()
        expect(page.get_by_role("button", name="Follow", exact=True)).to_be_visible()
    finally:
        ctx.close()


async def _accepted(ctx: NodeContext, follower_id: int, target_id: int) -> bool:
    rel = await follows.relationship(ctx, await get_account(ctx, follower_id), target_id)
    return rel["following"]
