"""The staff pages in a real browser against a real node: role checks, users, reports handled
end to end (remove the post, suspend the author, answer the reporter), moderation lifted, the
decision log recording every action, federation health, and CSRF on the staff's forms.

The solo node has users alice, lena, mallory, gone and root (its admin)."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta

from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from node import peers
from node.settings import load
from storage import jobs
from storage.db import Database
from storage.models import Peer, utcnow
from tests.ui.conftest import UINode, compose, new_context, off_loop, post_card, shot, sign_in


def unique(word: str) -> str:
    return f"{word}-{uuid.uuid4().hex[:8]}"


def as_user(browser: Browser, node: UINode, name: str) -> tuple[BrowserContext, Page]:
    ctx = new_context(browser)
    page = ctx.new_page()
    sign_in(page, node, name)
    return ctx, page


def user_row(page: Page, name: str) -> Locator:
    return page.locator(f"#user-{name}")


def test_staff_pages_answer_403_to_users_and_admin_only_pages_to_moderators(node: UINode, browser: Browser) -> None:
    # Given root (admin) makes lena a moderator on the Users page
    root_ctx, root = as_user(browser, node, "root")
    root.goto(node.url + "/admin/users")
    user_row(root, "lena").get_by_label("Role of @lena").select_option("moderator")
    user_row(root, "lena").get_by_role("button", name="Set role of @lena").click()
    expect(root.get_by_role("status")).to_contain_text("role lena")
    expect(user_row(root, "lena").locator(".badge", has_text="moderator")).to_be_visible()
    shot(root, "admin-users")
    root_ctx.close()
    # Then alice, a user, gets 403 on every staff page and sees no staff links
    alice_ctx, alice = as_user(browser, node, "alice")
    expect(alice.get_by_role("link", name="Reports")).to_have_count(0)
    for path in ("/admin", "/admin/reports", "/admin/accounts", "/admin/users", "/admin/policy", "/admin/federation"):
        response = alice.goto(node.url + path)
        assert response is not None and response.status == 403, path
    # Even with her own valid CSRF token, her posts to the staff's forms are refused
    alice.goto(node.url + "/settings")
    token = alice.locator("input[name=csrf]").first.get_attribute("value") or ""
    for path, fields in (("/admin/users/lena/disable", {}), ("/admin/accounts/1/suspend", {}),
                         ("/admin/users", {"username": "sneaky", "password": "long-enough-pw", "role": "admin"})):
        answer = alice_ctx.request.post(node.url + path, form={"csrf": token, **fields}, max_redirects=0)
        assert answer.status == 403, path
    alice_ctx.close()
    # And lena, a moderator, has the reports and moderation, but not users, policy or federation
    lena_ctx, lena = as_user(browser, node, "lena")
    lena.get_by_role("link", name="Reports").click()
    expect(lena.get_by_role("heading", name="Open reports")).to_be_visible()
    expect(lena.get_by_role("link", name="Users")).to_have_count(0)
    for path in ("/admin/users", "/admin/policy", "/admin/federation"):
        response = lena.goto(node.url + path)
        assert response is not None and response.status == 403, path
    lena_ctx.close()


def test_a_report_is_handled_end_to_end_and_every_action_is_audited(node: UINode, browser: Browser) -> None:
    text = unique("offensive")
    # Given mallory posts something and alice reports it with a comment
    mallory_ctx, mallory = as_user(browser, node, "mallory")
    compose(mallory, text, "Public")
    expect(post_card(mallory, text)).to_be_visible()
    post_id = post_card(mallory, text).get_attribute("data-id")
    alice_ctx, alice = as_user(browser, node, "alice")
    alice.goto(node.url + "/local")
    post_card(alice, text).get_by_role("link", name="Report this post by @mallory").click()
    alice.get_by_label(re.compile("What is wrong with this post")).fill("This is offensive.")
    alice.get_by_role("button", name="Send report").click()
    expect(alice.get_by_role("status")).to_contain_text("moderators of this node will look at it")
    # When root, the admin, opens the report
    root_ctx, root = as_user(browser, node, "root")
    root.goto(node.url + "/admin/reports")
    root.get_by_role("link", name=re.compile("about @mallory")).first.click()
    expect(root.get_by_text("This is offensive.")).to_be_visible()
    expect(root.locator("article.post", has_text=text)).to_be_visible()
    shot(root, "admin-report")
    # And removes the post, suspends mallory and resolves the report with an answer
    root.get_by_role("button", name="Remove post by @mallory").click()
    root.get_by_role("button", name="Remove this post by @mallory").click()  # on the page that asks again
    expect(root.get_by_role("status")).to_contain_text("the post is removed")
    root.get_by_role("button", name="Suspend @mallory").click()
    root.get_by_role("button", name="Suspend @mallory").click()  # on the page that asks again
    expect(root.get_by_role("status")).to_contain_text("the account is suspended")
    root.get_by_label("Answer to the reporter (optional)").fill("Thanks: we removed it and suspended the account.")
    root.get_by_role("button", name="Resolve report").click()
    expect(root.get_by_role("heading", name="Resolved")).to_be_visible()
    # Then the post is gone, mallory's profile is gone and her session has ended
    response = alice.goto(f"{node.url}/@mallory/{post_id}")
    assert response is not None and response.status == 404
    response = alice.goto(node.url + "/@mallory")
    assert response is not None and response.status == 404
    mallory.goto(node.url + "/notifications")
    expect(mallory).to_have_url(re.compile("/signin"))
    # And alice has the answer, as a direct post from root in her notifications
    alice.goto(node.url + "/notifications")
    expect(alice.get_by_text("Thanks: we removed it and suspended the account.")).to_be_visible()
    # And the decision log shows each action, by whom
    root.goto(node.url + "/admin/policy?direction=admin")
    log = root.locator("ol.log")
    for rule in ("admin:remove-post", "admin:suspend", "admin:resolve-report"):
        expect(log.locator("li", has_text=rule).first).to_contain_text("by @root")
    shot(root, "admin-policy")
    # When the suspension is lifted on the moderation page, mallory can sign in again
    root.goto(node.url + "/admin/accounts")
    root.get_by_role("button", name="Lift suspension @mallory").click()
    expect(root.get_by_role("status")).to_contain_text("the suspension is lifted")
    sign_in(mallory, node, "mallory")
    for c in (mallory_ctx, alice_ctx, root_ctx):
        c.close()


def test_a_silenced_account_leaves_the_shared_timelines(node: UINode, browser: Browser) -> None:
    text = unique("silenced-post")
    gone_ctx, gone = as_user(browser, node, "gone")
    compose(gone, text, "Public")
    expect(post_card(gone, text)).to_be_visible()
    root_ctx, root = as_user(browser, node, "root")
    root.goto(node.url + "/local")
    expect(post_card(root, text)).to_be_visible()
    # When root finds gone on the moderation page and silences the account
    root.goto(node.url + "/admin/accounts")
    root.get_by_label("Find an account (username, or user@domain)").fill("gone")
    root.get_by_role("button", name="Find").click()
    root.get_by_role("button", name="Silence @gone").click()
    root.get_by_role("button", name="Silence @gone").click()  # on the page that asks again
    expect(root.get_by_role("status")).to_contain_text("the account is silenced")
    shot(root, "admin-moderation")
    # Then the post is no longer on the node's timeline, yet still on gone's profile
    root.goto(node.url + "/local")
    expect(root.locator("article.post", has_text=text)).to_have_count(0)
    root.goto(node.url + "/@gone")
    expect(post_card(root, text)).to_be_visible()
    root.goto(node.url + "/admin/accounts")
    root.get_by_role("button", name="Lift silence @gone").click()
    expect(root.get_by_role("status")).to_contain_text("the silence is lifted")
    gone_ctx.close()
    root_ctx.close()


def test_admins_create_and_disable_users_and_bad_input_keeps_the_form(node: UINode, browser: Browser) -> None:
    name = unique("new")[:20].replace("-", "_")
    root_ctx, root = as_user(browser, node, "root")
    root.goto(node.url + "/admin/users")
    form = root.locator("form", has=root.get_by_role("button", name="Create user"))
    # A refused creation (a taken username) keeps what was typed and says why
    form.get_by_label("Username").fill("alice")
    form.get_by_label("Email (optional)").fill("someone@example.test")
    form.get_by_label(re.compile("Initial password")).fill("long-enough-password")
    form.get_by_role("button", name="Create user").click()
    expect(root.get_by_role("alert")).to_contain_text("already exists")
    expect(root.get_by_label("Email (optional)")).to_have_value("someone@example.test")
    # A good one makes the user, who can sign in
    root.get_by_label("Username").fill(name)
    root.get_by_label(re.compile("Initial password")).fill("long-enough-password")
    root.get_by_role("button", name="Create user").click()
    expect(user_row(root, name)).to_be_visible()
    newbie_ctx, newbie = as_user_with(browser, node, name, "long-enough-password")
    # When root disables the user, their session ends and they cannot sign in
    user_row(root, name).get_by_role("button", name=f"Disable @{name}").click()
    root.get_by_role("button", name=f"Disable @{name}").click()  # on the page that asks again
    expect(user_row(root, name).locator(".badge", has_text="disabled")).to_be_visible()
    newbie.goto(node.url + "/notifications")
    expect(newbie).to_have_url(re.compile("/signin"))
    # And root cannot disable or demote themself: no controls on their own row
    expect(user_row(root, "root").get_by_role("button")).to_have_count(0)
    newbie_ctx.close()
    root_ctx.close()


def as_user_with(browser: Browser, node: UINode, name: str, password: str) -> tuple[BrowserContext, Page]:
    ctx = new_context(browser)
    page = ctx.new_page()
    sign_in(page, node, name, password)
    return ctx, page


def seed_peers(node: UINode) -> None:
    """In the node's database: a healthy peer, a failing one with two deliveries waiting (due
    tomorrow, so the running node does not try them now) and a dead one."""

    async def seed() -> None:
        settings = load(node.process.data_dir)
        db = Database(settings.resolved_database_url)
        try:
            await peers.record_success(db, "up.example")
            for _ in range(2):
                await peers.record_failure(db, "flaky.example", "connection refused")
                await jobs.enqueue(db, "deliver", b"{}", target="flaky.example", run_at=utcnow() + timedelta(days=1))
            async with db.session() as s:
                s.add(Peer(domain="down.example", consecutive_failures=40, dead=True, last_error="no route to host",
                           last_failure_at=utcnow(), first_failure_at=utcnow() - timedelta(days=3)))
        finally:
            await db.dispose()

    off_loop(asyncio.run, seed())


def test_federation_health_shows_the_queues_and_failing_and_dead_peers(node: UINode, browser: Browser) -> None:
    seed_peers(node)
    root_ctx, root = as_user(browser, node, "root")
    root.goto(node.url + "/admin/federation")
    expect(root.get_by_role("heading", name="Queues")).to_be_visible()
    expect(root.locator("dd").first).to_have_text("2")  # deliveries waiting
    dead = root.locator("ul", has=root.get_by_text("down.example"))
    expect(dead.get_by_text("dead", exact=True)).to_be_visible()
    expect(dead).to_contain_text("no route to host")
    flaky = root.locator("li", has=root.get_by_text("flaky.example"))
    expect(flaky).to_contain_text("2 failures in a row")
    expect(flaky).to_contain_text("2 waiting")
    expect(flaky).to_contain_text("connection refused")
    expect(root.locator("li", has=root.get_by_text("up.example"))).to_contain_text(re.compile("last contact: (just now|1 min ago)"))
    shot(root, "admin-federation")
    root_ctx.close()


def test_staff_forms_without_their_csrf_token_change_nothing(node: UINode, browser: Browser) -> None:
    root_ctx, root = as_user(browser, node, "root")
    # When another site makes root's signed-in browser post the staff's forms without the token
    for path, fields in (("/admin/users", {"username": "forged", "password": "long-enough-pw", "role": "admin"}),
                         ("/admin/users/alice/disable", {}), ("/admin/users/alice/role", {"role": "admin"})):
        answer = root_ctx.request.post(node.url + path, form=fields, max_redirects=0)
        assert answer.status == 403 and "expired" in answer.text(), path
    # Then nothing changed
    root.goto(node.url + "/admin/users")
    expect(user_row(root, "forged")).to_have_count(0)
    expect(user_row(root, "alice").locator(".badge", has_text="user")).to_be_visible()
    expect(user_row(root, "alice").locator(".badge", has_text="disabled")).to_have_count(0)
    root_ctx.close()
