"""The policy editor in a real browser against a real `atrium serve` node (docs/compliance.md,
"Editing the policy in the browser"): an admin writes a mistake, sees it with its line, fixes
it, reads the difference and saves; policy.toml and the policy in force both change. Users are
refused. axe finds nothing serious at 1280 and 390 px; screenshots of each step. The editor
works without JavaScript too.

The solo node has users alice, lena, mallory, gone and root (its admin)."""

from __future__ import annotations

import asyncio
import re

from playwright.sync_api import Browser, BrowserContext, Page, expect

from node import policy_edit
from node.settings import load
from storage.db import Database
from tests.ui.conftest import WAIT_MS, UINode, off_loop, shot, sign_in
from tests.ui.test_accessibility import AXE, violations

WIDE = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PEER = "partner.example"


def context(browser: Browser, *, phone: bool = False, script: bool = True, dark: bool = False) -> BrowserContext:
    # bypass_csp: the page admits only the node's own scripts, and axe is injected
    ctx = browser.new_context(viewport=PHONE if phone else WIDE, device_scale_factor=1, is_mobile=phone,
                              bypass_csp=True, java_script_enabled=script, color_scheme="dark" if dark else "light")
    ctx.set_default_timeout(WAIT_MS)
    return ctx


def in_force(node: UINode) -> str:
    async def read() -> str:
        db = Database(load(node.process.data_dir).resolved_database_url)
        try:
            shared = await policy_edit.in_force(db)
            return shared.value if shared is not None else ""
        finally:
            await db.dispose()

    return off_loop(asyncio.run, read())


def no_violations(page: Page) -> None:
    assert AXE.exists(), f"{AXE} is missing: run scripts/lib/ensure-axe (scripts/test does)"
    assert violations(page) == []


def editor(page: Page, peer: str = PEER) -> tuple[str, str]:
    """The text in the editor, and the text with a mistake added after it (a peer named once:
    the tests of this module share one node)."""
    text = page.get_by_label(re.compile("^Policy text")).input_value()
    return text, text + f'\n[peers."{peer}"]\ntrust = "trusted"\n'


def root_checks_a_mistake(browser: Browser, node: UINode, peer: str, **options: bool) -> tuple[BrowserContext, Page, str]:
    """root, in a browser of its own, checks the editor's text with a mistake about `peer` added."""
    ctx = context(browser, **options)
    page = ctx.new_page()
    sign_in(page, node, "root")
    page.goto(node.url + "/admin/policy/edit")
    _, wrong = editor(page, peer)
    page.get_by_label(re.compile("^Policy text")).fill(wrong)
    page.get_by_role("button", name="Check").click()
    return ctx, page, wrong


def test_an_admin_fixes_a_mistake_reads_the_difference_and_saves(node: UINode, browser: Browser) -> None:
    ctx = context(browser)
    page = ctx.new_page()
    sign_in(page, node, "root")
    # Given root opens the editor from the policy page
    page.goto(node.url + "/admin/policy")
    page.get_by_role("link", name="Edit the policy").click()
    expect(page.get_by_role("heading", name="Edit the trust policy")).to_be_visible()
    before, wrong = editor(page)
    assert before == in_force(node) and before.startswith("# Atrium trust policy")
    expect(page.locator(".editor .gutter")).to_contain_text("1")  # numbered lines
    no_violations(page)
    shot(page, "policy-edit-1280")
    # When root adds a peer with a trust level that does not exist and checks it
    line = wrong.count("\n")  # the last line: trust = "trusted"
    text = page.get_by_label(re.compile("^Policy text"))
    text.fill(wrong)
    page.get_by_role("button", name="Check").click()
    # Then the problem is shown with its line, in the words of `atrium policy check`, and its line is marked
    problems = page.get_by_role("alert")
    expect(problems).to_contain_text("1 problem: nothing was applied")
    expect(problems).to_contain_text(f"policy.toml:{line}: peers.{PEER}: trust must be one of organization, partner")
    expect(problems).to_contain_text('trust = "trusted"')
    expect(page.locator(".editor .gutter .bad")).to_have_text(str(line))
    expect(page.get_by_role("button", name="Save and apply")).to_have_count(0)
    no_violations(page)
    shot(page, "policy-edit-problem-1280")
    # and following the problem puts the cursor on that line
    problems.get_by_role("link").click()
    assert text.evaluate("t => t.value.slice(t.selectionStart, t.selectionEnd)") == 'trust = "trusted"'
    # When root fixes it and checks again
    fixed = wrong.replace('"trusted"', '"partner"')
    text.fill(fixed)
    page.get_by_role("button", name="Check").click()
    # Then the difference from the policy in force is shown, each line signed, and Save is offered
    changes = page.get_by_role("region", name=re.compile("Your changes"))
    expect(changes.locator("tr.diff-added")).to_have_count(3)
    added = changes.locator("tr.diff-added").last
    expect(added.locator("td.sign")).to_contain_text("+")  # the sign, not only the colour
    expect(added.locator("td.code")).to_have_text('trust = "partner"')
    expect(added).to_have_accessible_name(re.compile('added trust = "partner"'))
    expect(changes.locator("tr.diff-removed")).to_have_count(0)
    no_violations(page)
    shot(page, "policy-edit-diff-1280", full_page=True)
    # When root saves
    page.get_by_role("button", name="Save and apply").click()
    # Then the policy page says it is in force, and lists the new peer
    expect(page.get_by_role("status")).to_contain_text("is in force: every process of this node enforces it")
    expect(page.locator(".person", has_text=PEER)).to_contain_text("partner")
    expect(page.locator(".log-group", has_text="from the web UI, by @root").first).to_be_visible()
    shot(page, "policy-saved-1280")
    ctx.close()
    # and policy.toml on disk and the policy in force are both the new text
    assert (node.process.data_dir / "policy.toml").read_text() == fixed
    assert in_force(node) == fixed


def test_the_editor_at_phone_width_and_without_javascript(node: UINode, browser: Browser) -> None:
    # At 390 px (in dark colours), the editor, a problem and the difference fit and pass axe
    ctx, page, wrong = root_checks_a_mistake(browser, node, "phone.example", phone=True, dark=True)
    expect(page.get_by_role("alert")).to_contain_text("peers.phone.example: trust must be one of")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    no_violations(page)
    shot(page, "policy-edit-problem-390", full_page=True)
    page.get_by_label(re.compile("^Policy text")).fill(wrong.replace('"trusted"', '"limited"'))
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_role("button", name="Save and apply")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    no_violations(page)
    shot(page, "policy-edit-diff-390", full_page=True)
    ctx.close()
    # Without JavaScript the same check names the line (no numbers beside the text, the line quoted)
    ctx, page, wrong = root_checks_a_mistake(browser, node, "nojs.example", script=False)
    expect(page.get_by_role("alert")).to_contain_text(f"policy.toml:{wrong.count(chr(10))}: peers.nojs.example")
    expect(page.locator(".editor .gutter")).to_be_hidden()
    ctx.close()


def test_users_are_refused_the_editor(node: UINode, browser: Browser) -> None:
    ctx = context(browser)
    page = ctx.new_page()
    sign_in(page, node, "alice")
    response = page.goto(node.url + "/admin/policy/edit")
    assert response is not None and response.status == 403
    expect(page.get_by_role("link", name="Trust policy")).to_have_count(0)
    page.goto(node.url + "/settings")
    token = page.locator("input[name=csrf]").first.get_attribute("value") or ""
    answer = ctx.request.post(node.url + "/admin/policy/edit", form={"csrf": token, "text": 'mode = "open"', "action": "save"},
                              max_redirects=0)
    assert answer.status == 403
    ctx.close()
    assert "open" not in in_force(node).split("mode = ", 1)[1][:8]
