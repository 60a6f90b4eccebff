"""Profile fields and the people directory in a browser (issue #17), at 1280 px and 390 px,
with axe-core finding no serious or critical violation — across three real nodes:

- eng ("Acme Engineering"): alice, who writes her fields in the settings, one of them for the
  organisation only, and whose title and department the company directory filled; lena;
- sales: trusted by eng as `organization` (and trusting eng so); sam looks alice up there;
- partner: trusted by eng as `partner`; pat looks alice up there.

The organisation-only field reaches sales (eng's actor document, fetched signed by sales, has
it), and neither partner nor a visitor of eng who is not signed in.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import update

from storage.models import Account
from tests.conftest import ENGINES, drop_pg_database, recreate_pg_database, worker_tag
from tests.federation.nodes import NodeProcess
from tests.ui.conftest import UINode, create_users, init_with_token, off_loop, sign_in
from tests.ui.test_names_and_profiles import browser_context, no_violations, shot

EXTENSION = "ext-4711"
PRONOUNS = "she/her"


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, UINode]]:
    root: Path = tmp_path_factory.mktemp("fields")
    pg_name = f"atrium_ui_fields_{worker_tag()}"
    pg = "postgresql" in ENGINES
    eng = NodeProcess("eng", root)
    sales = NodeProcess("sales", root, off_loop(recreate_pg_database, pg_name) if pg else None)
    partner = NodeProcess("partner", root)
    with ThreadPoolExecutor() as pool:
        tokens = list(pool.map(init_with_token, [eng, sales, partner], ["Acme Engineering", "Acme Sales", "Partner Co."]))
    eng.write_policy(f'mode = "allowlist"\n[peers."{sales.domain}"]\ntrust = "organization"\n'
                     f'[peers."{partner.domain}"]\ntrust = "partner"\n')
    sales.write_policy(f'mode = "allowlist"\n[peers."{eng.domain}"]\ntrust = "organization"\n')
    partner.write_policy(f'mode = "allowlist"\n[peers."{eng.domain}"]\ntrust = "public"\n')
    create_users(eng, ["alice", "lena", "omar"])
    create_users(sales, ["sam"])
    create_users(partner, ["pat"])

    async def directory_fills() -> None:  # as SCIM provisioning would
        async with eng.act() as ctx, ctx.db.session() as s:
            for name, title, department in (("alice", "Staff Engineer", "Platform"), ("lena", "Designer", "Product"),
                                            ("omar", "SRE", "Platform")):
                await s.execute(update(Account).where(Account.username == name, Account.domain.is_(None))
                                .values(title=title, department=department, location="Berlin"))

    off_loop(asyncio.run, directory_fills())
    try:
        with ThreadPoolExecutor() as pool:
            list(pool.map(NodeProcess.start, [eng, sales, partner]))
        yield {"eng": UINode(eng, tokens[0]), "sales": UINode(sales, tokens[1]), "partner": UINode(partner, tokens[2])}
    finally:
        for n in (eng, sales, partner):
            n.stop()
        if pg and not os.environ.get("ATRIUM_KEEP_TEST_DATABASES"):
            off_loop(drop_pg_database, pg_name)


def _fill_fields(page: Page, node: UINode) -> None:
    page.goto(f"{node.url}/settings")
    page.get_by_label("Label 1").fill("Pronouns")
    page.get_by_label("Content 1").fill(PRONOUNS)
    page.get_by_label("Label 2").fill("Extension")
    page.get_by_label("Content 2").fill(EXTENSION)
    page.get_by_label("Shown to 2").select_option("organization")
    page.get_by_label("Label 3").fill("Team page")
    page.get_by_label("Content 3").fill("<b>wiki</b> https://wiki.acme.test/platform")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("status")).to_contain_text("Your profile is saved")


def test_fields_are_written_in_settings_and_shown_to_exactly_their_audience(three: dict[str, UINode], browser: Browser) -> None:
    eng, sales, partner = three["eng"], three["sales"], three["partner"]
    for size in ("desktop", "phone"):
        ctx = browser_context(browser, size)
        try:
            page = ctx.new_page()
            # Given alice signed in on eng, when she writes three fields in her settings, the
            # second for the organisation only
            sign_in(page, eng, "alice")
            _fill_fields(page, eng)
            # Then the settings keep them, with the directory's attributes shown read-only
            expect(page.get_by_label("Content 2")).to_have_value(EXTENSION)
            expect(page.get_by_label("Shown to 2")).to_have_value("organization")
            expect(page.locator(".directory-fields")).to_contain_text("Staff Engineer")
            no_violations(page)
            shot(page, f"settings-fields-{size}")
            # And her profile shows her title and department, and every field to her
            page.goto(f"{eng.url}/@alice")
            expect(page.locator(".profile-role")).to_contain_text("Staff Engineer · Platform")
            fields = page.locator(".profile-fields")
            expect(fields).to_contain_text(PRONOUNS)
            expect(fields.locator(".profile-field", has_text=EXTENSION)).to_contain_text("Organisation only")
            # the markup she typed is shown as text, the link made a link
            team = fields.locator(".profile-field", has_text="Team page")
            expect(team).to_contain_text("<b>wiki</b>")
            expect(team.get_by_role("link")).to_have_attribute("href", "https://wiki.acme.test/platform")
            no_violations(page)
            shot(page, f"profile-fields-{size}")
        finally:
            ctx.close()

    ctx = browser_context(browser, "desktop")
    try:
        page = ctx.new_page()
        # And a visitor who is not signed in sees the public fields only
        page.goto(f"{eng.url}/@alice")
        expect(page.locator(".profile-fields")).to_contain_text(PRONOUNS)
        assert EXTENSION not in page.content()
        # And sam on sales (trusted as organisation) sees the organisation-only field, read from
        # eng's actor document
        sign_in(page, sales, "sam")
        page.goto(f"{sales.url}/@alice@{eng.domain}")
        expect(page.locator(".profile-fields")).to_contain_text(EXTENSION)
        expect(page.locator(".profile-field", has_text=EXTENSION)).to_contain_text("Organisation only")
        no_violations(page)
        shot(page, "remote-profile-fields-desktop")
    finally:
        ctx.close()
    ctx = browser_context(browser, "desktop")
    try:
        page = ctx.new_page()
        # while pat on partner sees her public fields and not that one
        sign_in(page, partner, "pat")
        page.goto(f"{partner.url}/@alice@{eng.domain}")
        expect(page.locator(".profile-fields")).to_contain_text(PRONOUNS)
        assert EXTENSION not in page.content()
    finally:
        ctx.close()


def test_a_tampered_scope_is_refused_and_nothing_is_saved(three: dict[str, UINode], browser: Browser) -> None:
    eng = three["eng"]
    ctx = browser_context(browser, "desktop")
    try:
        page = ctx.new_page()
        sign_in(page, eng, "lena")
        page.goto(f"{eng.url}/settings")
        page.get_by_label("Label 1").fill("Desk")
        page.get_by_label("Content 1").fill("desk-b2")
        # When the form is sent with a scope the select does not offer
        page.eval_on_selector("#field_scope_0", "s => { s.options[0].value = 'partners'; s.selectedIndex = 0; }")
        page.get_by_role("button", name="Save profile").click()
        # Then it is refused with the reason, and her profile has no such field
        expect(page.get_by_role("alert")).to_contain_text("unknown field scope")
        page.goto(f"{eng.url}/@lena")
        assert "desk-b2" not in page.content()
        # And five fields cannot be sent: the form has four rows
        page.goto(f"{eng.url}/settings")
        expect(page.locator(".field-row")).to_have_count(4)
    finally:
        ctx.close()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_people_directory_finds_colleagues_by_title_and_department(
    three: dict[str, UINode], browser: Browser, size: str
) -> None:
    eng = three["eng"]
    ctx = browser_context(browser, size)
    try:
        page = ctx.new_page()
        sign_in(page, eng, "lena")
        # Given the navigation's People link, when lena opens it
        page.goto(f"{eng.url}/")
        page.locator("a[href='/directory']").first.click(force=True) if size == "desktop" else page.goto(f"{eng.url}/directory")
        expect(page.get_by_role("heading", level=1)).to_have_text("People")
        people = page.locator(".directory-person")
        expect(people).to_have_count(3)
        expect(people.filter(has_text="alice")).to_contain_text("Staff Engineer · Platform")
        no_violations(page)
        shot(page, f"directory-{size}")
        # When she searches a department, then only those people are listed
        page.get_by_label("Search people by name, title or department").fill("platform")
        page.get_by_role("button", name="Search").click()
        expect(people).to_have_count(2)
        expect(page.locator(".directory")).not_to_contain_text("Designer")
        # and by a title
        page.get_by_label("Search people by name, title or department").fill("SRE")
        page.get_by_role("button", name="Search").click()
        expect(people).to_have_count(1)
        # And she follows omar from the directory
        follow = people.first.get_by_role("button", name=re.compile("^(Follow|Unfollow)"))
        if follow.inner_text().startswith("Follow"):
            follow.click()
        expect(people.first.get_by_role("button", name=re.compile("^Unfollow"))).to_be_visible()
        no_violations(page)
        # And a search that finds no one says so
        page.goto(f"{eng.url}/directory?q=nobody-here")
        expect(page.locator(".directory")).to_contain_text("Try another name")
        no_violations(page)
    finally:
        ctx.close()
