"""The first hour of a new employee and a new operator (issue 15), in the browser at desktop
(1280×900) and phone (390×844) size: a composer that leaves the timeline on the first screen,
calm notes for what the author chose, a navigation that fits a phone with the staff pages under
"Admin", risky staff actions that explain themselves and ask again, and a decision log that is
paged, grouped and filterable. axe-core checks each changed page."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.federation.nodes import NodeProcess
from tests.ui.conftest import (
    PHONE,
    WAIT_MS,
    UINode,
    compose,
    create_users,
    init_with_token,
    post_card,
    sign_in,
)
from tests.ui.screenshots import PARTNER, POLICY, seed_decisions
from tests.ui.test_accessibility import violations

DESKTOP = {"width": 1280, "height": 900}
MAX_CHARS = 300  # the node's posts.max_chars, set below the default to show it is the node's own
SIZES = ["desktop", "phone"]


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UINode]:
    """A node whose policy names a partner peer and a sibling node and has a content rule
    ("project-orion"), with a few hundred logged decisions, posts of at most MAX_CHARS
    characters, and users alice, lena, gone and root (admin)."""
    process = NodeProcess("town", tmp_path_factory.mktemp("ui-first-hour"))
    node = UINode(process, init_with_token(process))
    settings = process.data_dir / "atrium.toml"
    settings.write_text(re.sub(r"(?m)^max_chars = \d+$", f"max_chars = {MAX_CHARS}", settings.read_text()))
    process.write_policy(POLICY)
    create_users(process, ["alice", "lena", "gone", "root"], admins=("root",))
    seed_decisions(node)
    try:
        process.start()
        yield node
    finally:
        process.stop()


def context_for(browser: Browser, size: str, *, javascript: bool = True) -> BrowserContext:
    phone = size == "phone"
    ctx = browser.new_context(
        viewport=PHONE if phone else DESKTOP,
        device_scale_factor=1,
        is_mobile=phone,
        bypass_csp=True,
        java_script_enabled=javascript,
    )
    ctx.set_default_timeout(WAIT_MS)
    return ctx


@pytest.fixture(params=SIZES)
def size(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def as_user(
    browser: Browser, node: UINode, name: str, size: str, *, javascript: bool = True
) -> tuple[BrowserContext, Page]:
    ctx = context_for(browser, size, javascript=javascript)
    page = ctx.new_page()
    sign_in(page, node, name)
    return ctx, page


def top_of(page: Page, selector: str, index: int) -> float:
    box = page.locator(selector).nth(index).bounding_box()
    assert box is not None, f"{selector}[{index}] is not shown"
    return float(box["y"])


def no_sideways_scroll(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


# 1. The composer ------------------------------------------------------------------------------


def test_the_composer_leaves_two_timeline_posts_on_the_first_screen(town: UINode, browser: Browser) -> None:
    """Given two posts on alice's home timeline, when she opens it at 1280×900, then both
    posts start on the first screen, below a composer of one line."""
    ctx, page = as_user(browser, town, "alice", "desktop")
    for n in (1, 2):
        compose(page, f"first-screen-{n}-{uuid.uuid4().hex[:6]}", "Public")
    page.goto(town.url + "/")
    expect(page.locator("article.post")).not_to_have_count(0)
    assert top_of(page, "#timeline article.post", 1) + 60 < DESKTOP["height"], "the second post is below the fold"
    textarea = page.get_by_label("What would you like to share?")
    box = textarea.bounding_box()
    assert box is not None and box["height"] < 60, f"the empty composer is {box} high, not one line"
    # And it grows with the text
    textarea.fill("line\n" * 6)
    grown = textarea.bounding_box()
    assert grown is not None and grown["height"] > box["height"] + 40
    ctx.close()


def test_the_audience_picker_explains_only_the_chosen_audience_in_its_words(
    town: UINode, browser: Browser, size: str
) -> None:
    """The explanations keep their words; only the chosen one is shown, and choosing another
    shows that one instead (no script needed: CSS), in a new post and in a reply."""
    ctx, page = as_user(browser, town, "alice", size)
    page.goto(town.url + "/compose")
    form = page.locator("form.compose")
    explanations = form.locator(".audiences .desc")
    expect(explanations).to_have_count(6)
    visible = explanations.filter(visible=True)
    expect(visible).to_have_count(1)
    expect(visible).to_contain_text("Everyone in the organisation")  # the default: Organisation
    form.get_by_role("radio", name=re.compile("^This node only")).check()
    expect(visible).to_have_count(1)
    expect(visible).to_have_text(re.compile(r"^Only people on .*; it never leaves this node$"))
    # The radio says where the post goes to a screen reader too
    expect(form.get_by_role("radio", name=re.compile("^Public"))).to_have_accessible_description(
        re.compile("^Anyone, on this node and beyond")
    )
    assert no_sideways_scroll(page)
    assert violations(page) == []
    # And a reply shows one explanation, not all six
    text = f"reply-here-{uuid.uuid4().hex[:6]}"
    compose(page, text, "Public")
    post_card(page, text).locator("a.when").click()
    reply = page.locator("form#reply-form")
    expect(reply.locator(".audiences .desc").filter(visible=True)).to_have_count(1)
    ctx.close()


def test_the_counter_warns_before_the_limit_and_nothing_is_cut(town: UINode, browser: Browser, size: str) -> None:
    """Given the node's limit of MAX_CHARS characters, the counter warns near it, says by how
    much a pasted text is over (the text is kept whole) and the post is not sent until it fits."""
    ctx, page = as_user(browser, town, "alice", size)
    page.goto(town.url + "/compose")
    textarea = page.get_by_label("What would you like to share?")
    counter = page.locator("#compose-count")
    assert textarea.get_attribute("maxlength") is None, "the browser would cut pasted text silently"
    expect(counter).to_have_text(f"{MAX_CHARS} characters left")
    expect(counter).not_to_have_class(re.compile("warn|over"))
    textarea.fill("a" * (MAX_CHARS - 20))
    expect(counter).to_have_text("20 characters left")
    expect(counter).to_have_class(re.compile(r"\bwarn\b"))
    expect(page.locator("#compose-count-status")).to_have_text("20 characters left")
    long_text = "b" * (MAX_CHARS + 7)
    textarea.fill(long_text)
    expect(counter).to_have_text(f"7 characters over the limit of {MAX_CHARS}")
    expect(counter).to_have_class(re.compile(r"\bover\b"))
    expect(textarea).to_have_attribute("aria-invalid", "true")
    assert textarea.input_value() == long_text
    page.get_by_role("button", name="Post").click()
    expect(page).to_have_url(re.compile("/compose$"))  # held back in the browser, with the reason
    assert "at most" in textarea.evaluate("t => t.validationMessage")
    ctx.close()


def test_editing_a_post_counts_against_the_same_limit(town: UINode, browser: Browser) -> None:
    ctx, page = as_user(browser, town, "alice", "desktop")
    text = f"to-edit-{uuid.uuid4().hex[:6]}"
    compose(page, text, "Public")
    post_card(page, text).get_by_role("link", name="Edit").click()
    expect(page.locator("#edit-count")).to_have_text(f"{MAX_CHARS - len(text)} characters left")
    page.get_by_label("Text", exact=True).fill("d" * (MAX_CHARS + 2))
    expect(page.locator("#edit-count")).to_have_text(f"2 characters over the limit of {MAX_CHARS}")
    ctx.close()


def test_without_script_a_long_post_comes_back_whole_with_the_reason(town: UINode, browser: Browser) -> None:
    ctx, page = as_user(browser, town, "alice", "desktop", javascript=False)
    page.goto(town.url + "/compose")
    expect(page.locator("#compose-count")).to_have_text(f"Up to {MAX_CHARS} characters")
    long_text = "c" * (MAX_CHARS + 1)
    page.get_by_label("What would you like to share?").fill(long_text)
    page.get_by_role("button", name="Post").click()
    expect(page.get_by_role("alert")).to_contain_text(f"at most {MAX_CHARS} characters")
    assert page.get_by_label("What would you like to share?").input_value() == long_text
    ctx.close()


# 2. Expected outcomes are calm ------------------------------------------------------------------


def test_kept_inside_the_organisation_is_a_calm_note_and_a_content_rule_is_a_warning(
    town: UINode, browser: Browser, size: str
) -> None:
    ctx, page = as_user(browser, town, "alice", size)
    org, held, public = (f"{word}-{uuid.uuid4().hex[:6]}" for word in ("org", "held", "public"))
    page.goto(town.url + "/compose")
    compose(page, org, "Organisation")
    page.goto(town.url + "/compose")
    compose(page, f"{held} about project-orion", "Public")
    page.goto(town.url + "/compose")
    compose(page, public, "Public")
    page.goto(town.url + "/")
    # The organisation post: a calm note, no warning colour, nothing a screen reader flags
    calm = post_card(page, org).locator(".kept")
    expect(calm).to_have_count(1)
    expect(calm).to_have_class(re.compile(r"\bkept-calm\b"))
    expect(calm).to_contain_text("Kept inside the organisation, as chosen")
    expect(calm).to_contain_text(PARTNER)
    assert calm.get_attribute("role") is None
    expect(post_card(page, org).locator("[role=alert], [role=note], .kept-held")).to_have_count(0)
    assert calm.evaluate("e => getComputedStyle(e).borderLeftStyle") == "none"
    danger = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--danger').trim()")
    assert calm.evaluate("e => getComputedStyle(e).color") != page.evaluate(
        "c => { const s = document.createElement('span'); s.style.color = c; document.body.append(s);"
        " const v = getComputedStyle(s).color; s.remove(); return v; }",
        danger,
    )
    # The post a content rule held back: the warning the author did not expect
    warning = post_card(page, held).locator(".kept")
    expect(warning).to_have_class(re.compile(r"\bkept-held\b"))
    expect(warning).to_have_attribute("role", "note")
    expect(warning).to_contain_text("content rule")
    expect(warning).to_contain_text("orion")
    # A public post that went everywhere: no note at all
    expect(post_card(page, public).locator(".kept")).to_have_count(0)
    assert violations(page) == []
    ctx.close()


# 3. Navigation ----------------------------------------------------------------------------------


def test_on_a_phone_the_navigation_is_one_bottom_row_and_a_menu(town: UINode, browser: Browser) -> None:
    ctx, page = as_user(browser, town, "alice", "phone")
    page.goto(town.url + "/")
    # The top bar is one row, and the long list of links is folded into the menu
    header = page.locator("header.topbar").bounding_box()
    assert header is not None and header["height"] < 70
    main_nav = page.get_by_role("navigation", name="Main")
    expect(main_nav).to_be_hidden()
    # The bottom bar: the everyday places in one row
    bar = page.get_by_role("navigation", name="Shortcuts")
    expect(bar).to_be_visible()
    links = bar.get_by_role("link")
    expect(links).to_have_count(5)
    tops = {round(float(box["y"])) for box in (links.nth(i).bounding_box() for i in range(5)) if box}
    assert len(tops) == 1, f"the bottom bar wraps: {tops}"
    bar_box = bar.bounding_box()
    assert bar_box is not None and bar_box["y"] + bar_box["height"] <= PHONE["height"] + 1
    expect(bar.get_by_role("link", name="Home")).to_have_attribute("aria-current", "page")
    # The menu opens (no script needed) with every link, and no staff group for an employee
    page.get_by_role("link", name="Menu").click()
    expect(main_nav).to_be_visible()
    for name in ("Home", "Organisation", "This node", "Federated", "Notifications", "Search", "Profile", "Settings"):
        expect(main_nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(main_nav.get_by_role("button", name=re.compile("Sign out"))).to_be_visible()
    expect(main_nav.get_by_text("Admin", exact=True)).to_have_count(0)
    expect(main_nav.get_by_role("link", name="Reports")).to_have_count(0)
    assert no_sideways_scroll(page)
    assert violations(page) == []
    main_nav.get_by_role("link", name="Close menu").click()
    expect(main_nav).to_be_hidden()
    ctx.close()


def test_staff_pages_are_grouped_under_admin_for_staff_only(town: UINode, browser: Browser, size: str) -> None:
    ctx, page = as_user(browser, town, "root", size)
    page.goto(town.url + "/")
    if size == "phone":
        page.get_by_role("link", name="Menu").click()
    nav = page.get_by_role("navigation", name="Main")
    admin = nav.get_by_role("list", name="Admin")
    expect(admin).to_be_visible()
    for name in ("Reports", "Moderation", "Users", "Trust policy", "Federation"):
        expect(admin.get_by_role("link", name=name)).to_be_visible()
    # Not mixed into the employee's links
    expect(nav.get_by_role("link", name="Reports")).to_have_count(1)
    ctx.close()
    ctx, page = as_user(browser, town, "alice", size)
    expect(page.get_by_role("list", name="Admin", include_hidden=True)).to_have_count(0)
    ctx.close()


# 4. Risky staff actions -------------------------------------------------------------------------


def test_suspend_and_silence_look_risky_explain_themselves_and_ask_again(
    town: UINode, browser: Browser, size: str
) -> None:
    ctx, page = as_user(browser, town, "root", size)
    page.goto(town.url + "/admin/accounts?q=gone")
    suspend = page.get_by_role("button", name="Suspend @gone")
    silence = page.get_by_role("button", name="Silence @gone")
    # Styled as destructive: the danger colour, unlike an ordinary button
    for button in (suspend, silence):
        expect(button).to_have_class(re.compile(r"\brisky\b"))
    find = page.get_by_role("button", name="Find")
    assert suspend.evaluate("b => getComputedStyle(b).color") != find.evaluate("b => getComputedStyle(b).color")
    assert suspend.evaluate("b => getComputedStyle(b).backgroundColor") != find.evaluate(
        "b => getComputedStyle(b).backgroundColor"
    )
    # Explained in a sentence each
    expect(page.locator(".explain")).to_contain_text("Suspend")
    expect(page.locator(".explain")).to_contain_text("Hides the account and every post of it")
    expect(page.locator(".explain")).to_contain_text("Keeps the account's posts out of the shared timelines")
    # A click asks again on a page of its own: nothing is done yet
    suspend.click()
    expect(page.get_by_role("heading", name="Suspend @gone?")).to_be_visible()
    expect(page.locator(".confirm")).to_contain_text("Hides the account and every post of it")
    assert violations(page) == []
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("button", name="Suspend @gone")).to_be_visible()
    expect(page.locator(".badge", has_text="suspended")).to_have_count(0)
    # Confirmed, it is done; then lifted again
    page.get_by_role("button", name="Suspend @gone").click()
    page.get_by_label("Reason (optional, kept in the audit log)").fill("checking the confirmation step")
    page.get_by_role("button", name="Suspend @gone").click()
    expect(page.get_by_role("status")).to_contain_text("the account is suspended")
    page.get_by_role("button", name="Lift suspension @gone").first.click()
    expect(page.get_by_role("status")).to_contain_text("the suspension is lifted")
    ctx.close()


def test_the_confirmation_step_works_without_script_and_a_bare_post_does_nothing(
    town: UINode, browser: Browser
) -> None:
    ctx, page = as_user(browser, town, "root", "desktop", javascript=False)
    page.goto(town.url + "/admin/users")
    row = page.locator("#user-gone")
    expect(page.locator(".explain")).to_contain_text("Signs the person out on every device")
    row.get_by_role("button", name="Disable @gone").click()
    expect(page.get_by_role("heading", name="Disable @gone?")).to_be_visible()
    page.get_by_role("link", name="Cancel").click()
    expect(page.locator("#user-gone .badge", has_text="disabled")).to_have_count(0)
    # A form posted straight at the action, without the confirmation, only asks again
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    response = page.request.post(town.url + "/admin/users/gone/disable", form={"csrf": csrf or ""})
    assert response.status == 200 and "Disable @gone?" in response.text()
    page.goto(town.url + "/admin/users")
    expect(page.locator("#user-gone .badge", has_text="disabled")).to_have_count(0)
    ctx.close()


# 5. The decision log ----------------------------------------------------------------------------


def test_the_decision_log_is_paged_grouped_and_short(town: UINode, browser: Browser, size: str) -> None:
    ctx, page = as_user(browser, town, "root", size)
    page.goto(town.url + "/admin/policy")
    groups = page.locator("ol.log > li.log-group")
    expect(groups.first).to_be_visible()
    # Repeated decisions in a row are one group with a count; the objects are folded away
    expect(page.locator("ol.log .times").first).to_have_text(re.compile(r"× \d+"))
    assert groups.count() < 50
    expect(page.locator("ol.log .obj").first).to_be_hidden()
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < (2500 if size == "desktop" else 3500), (
        f"the policy page is {height} px long (it was 4,300 at desktop)"
    )
    # Older decisions are a page away, and the way back
    page.get_by_role("link", name="Older decisions").click()
    expect(page).to_have_url(re.compile(r"before=\d+"))
    expect(groups.first).to_be_visible()
    expect(page.get_by_role("link", name="Newest decisions")).to_be_visible()
    assert no_sideways_scroll(page)
    assert violations(page) == []
    ctx.close()


def test_the_decision_log_filters_by_peer_decision_and_time(town: UINode, browser: Browser, size: str) -> None:
    ctx, page = as_user(browser, town, "root", size)
    page.goto(town.url + "/admin/policy")
    page.get_by_label("Peer domain").fill("spam.example")
    page.get_by_label("Decision", exact=True).select_option("refused")
    page.get_by_label("Time", exact=True).select_option("1h")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"peer=spam.example"))
    groups = page.locator("ol.log > li.log-group")
    expect(groups.first).to_be_visible()
    for i in range(groups.count()):
        expect(groups.nth(i).locator(".log-head")).to_contain_text("spam.example")
        expect(groups.nth(i).locator(".decision")).to_have_text("refused")
    expect(page.locator("#log-shown")).to_contain_text("from the last hour")
    # A peer's name in the log filters by it
    page.goto(town.url + "/admin/policy")
    page.locator("ol.log .log-head a.peer", has_text=PARTNER).first.click()
    expect(page).to_have_url(re.compile(f"peer={re.escape(PARTNER)}"))
    expect(page.locator("ol.log .log-head a.peer", has_text="spam.example")).to_have_count(0)
    ctx.close()


def test_bad_filter_values_are_a_400_that_says_why(town: UINode, browser: Browser) -> None:
    ctx, page = as_user(browser, town, "root", "desktop")
    response = page.goto(town.url + "/admin/policy?decision=bogus&when=forever&before=abc&direction=sideways")
    assert response is not None and response.status == 400
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("decision must be one of")
    expect(alert).to_contain_text("when must be one of")
    expect(alert).to_contain_text("before must be an entry number")
    expect(alert).to_contain_text("direction must be one of")
    expect(page.locator("ol.log > li.log-group").first).to_be_visible()  # the rest still answers
    assert "Traceback" not in page.content()
    ctx.close()
