"""The web UI's report form for a post of another node: "Also send to <their node>" (unchecked
at first, as in Mastodon's report dialog), and the copy showing in that node's moderation
queue as forwarded from eng, without the reporter's name — real nodes, a real browser, axe,
screenshots at 1280 and 390 px."""

from __future__ import annotations

import asyncio
import re
import uuid

from playwright.sync_api import Browser, expect
from sqlalchemy import select

from node import posts, remote
from node.follows import follow
from node.posts import NewPost
from storage.models import Follow, Post
from tests.federation.nodes import eventually
from tests.ui.conftest import UINode, create_users, new_context, off_loop, shot, sign_in
from tests.ui.test_accessibility import axe_context, violations


def _arrived(eng: UINode, partner: UINode, text: str) -> int:
    """alice on eng follows pat on partner; pat posts `text`; the id it has on eng."""

    async def run() -> int:
        async with eng.process.act() as ctx:
            alice = await eng.process.user(ctx, "alice")
            pat = await remote.resolve_handle(ctx, f"pat@{partner.domain}")
            await follow(ctx, alice, pat.id)

        async def accepted() -> bool:
            # pat's node has alice as a follower once its Accept is back here: until then a
            # post of pat's has nobody on eng to go to (a fixed wait lost that race under load).
            async with eng.process.act() as ctx, ctx.db.reader() as s:
                state = await s.scalar(select(Follow.state).where(Follow.follower_id == alice.id,
                                                                  Follow.target_id == pat.id))
            return state == "accepted"

        await eventually(accepted, what="pat's node to accept alice's follow")
        async with partner.process.act() as ctx:
            await posts.create_post(ctx, await partner.process.user(ctx, "pat"), NewPost(text))

        async def stored() -> int | None:
            async with eng.process.act() as ctx, ctx.db.reader() as s:
                return await s.scalar(select(Post.id).where(Post.content_html.contains(text)))

        return await eventually(stored, what="pat's post to reach eng")

    return off_loop(asyncio.run, run())


def test_a_report_of_another_nodes_post_can_be_sent_there_too(nodes: dict[str, UINode], browser: Browser) -> None:
    eng, partner = nodes["eng"], nodes["partner"]
    text = f"unwelcome-{uuid.uuid4().hex[:8]}"
    post_id = _arrived(eng, partner, text)
    create_users(partner.process, ["pam"], admins=("pam",))
    # Given alice on eng opens the report form for pat's post, on a desktop and on a phone
    for phone in (False, True):
        ctx = axe_context(browser, phone=phone)
        page = ctx.new_page()
        sign_in(page, eng, "alice")
        page.goto(f"{eng.url}/report/{post_id}")
        forward = page.get_by_label(re.compile("Also send to"))
        # Then it offers to send it to pat's node too, unchecked at first, and passes axe
        expect(forward).not_to_be_checked()
        expect(page.get_by_text("but not your name")).to_be_visible()
        assert violations(page) == []
        shot(page, f"report-forward-{390 if phone else 1280}")
        ctx.close()
    # When she sends it with a comment and the box checked
    ctx = new_context(browser)
    page = ctx.new_page()
    sign_in(page, eng, "alice")
    page.goto(f"{eng.url}/report/{post_id}")
    page.get_by_label(re.compile("What is wrong with this post")).fill("Not how we talk here.")
    page.get_by_label(re.compile("Also send to")).check()
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_role("status").first).to_contain_text("moderators of this node will look at it")
    expect(page.get_by_text(re.compile("A copy without your name is on its way"))).to_be_visible()
    ctx.close()
    # Then pam, partner's admin, finds it in the queue, forwarded from eng, with the post and comment
    ctx = new_context(browser)
    page = ctx.new_page()
    sign_in(page, partner, "pam")
    page.goto(f"{partner.url}/admin/reports")
    for _ in range(30):  # the Flag is delivered in the background
        if page.locator("li.person", has_text="about @pat").count():
            break
        page.wait_for_timeout(1000)
        page.reload()
    row = page.locator("li.person", has_text="about @pat")
    expect(row).to_contain_text("Forwarded")
    expect(row).to_contain_text(eng.domain)
    expect(row).not_to_contain_text("alice")
    row.get_by_role("link").click()
    expect(page.get_by_text("Not how we talk here.")).to_be_visible()
    expect(page.locator("article.post", has_text=text)).to_be_visible()
    expect(page.get_by_text("The person who reported it is not named.")).to_be_visible()
    shot(page, "report-forwarded-in")
    ctx.close()
