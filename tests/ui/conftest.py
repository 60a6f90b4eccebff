"""Browser tests of the web UI: Debian's chromium driven by Playwright, against real
`atrium serve` processes (two nodes that federate over real HTTP).

One browser and one pair of nodes per test module. Not one browser per session: Playwright's
sync API keeps its event loop marked running while it is started, so every later asyncio test
in the same worker would fail; module scope stops it when the module is done.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, Playwright, expect, sync_playwright

from node import accounts
from node.settings import load
from storage.db import Database
from tests.conftest import ENGINES, drop_pg_database, recreate_pg_database, worker_tag
from tests.factory import node_context
from tests.federation.nodes import ATRIUM, NodeProcess

T = TypeVar("T")
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1200, "height": 900}
# The machine running the tests may be loaded: waits are generous, never sleeps.
WAIT_MS = 30_000
expect.set_options(timeout=WAIT_MS)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/lib/ensure-chromium (scripts/test does)")
    # launch() gives the browser a fresh temporary profile of its own, removed at close.
    with tempfile.TemporaryDirectory() as downloads:
        b = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, downloads_path=downloads)
        try:
            yield b
        finally:
            b.close()


def new_context(browser: Browser, *, phone: bool = False) -> BrowserContext:
    ctx = browser.new_context(viewport=PHONE if phone else DESKTOP, device_scale_factor=1, is_mobile=phone)
    ctx.set_default_timeout(WAIT_MS)
    return ctx


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = new_context(browser)
    yield ctx
    ctx.close()


def shot(page: Page, name: str, *, full_page: bool = False) -> None:
    """Save what the screen shows (the README uses a few of these, from docs/screenshots/)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def off_loop(fn: Callable[..., T], *args: object) -> T:
    """Run a helper that calls asyncio.run() on a thread of its own: in this thread a started
    Playwright keeps its event loop marked running."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args).result()


def create_users(node: NodeProcess, users: list[str], admins: tuple[str, ...] = ()) -> None:
    """Accounts `NAME` with password `NAME-password`, made through the node layer in this
    process (a CLI process per user costs seconds on a loaded machine)."""

    async def make() -> None:
        settings = load(node.data_dir)
        db = Database(settings.resolved_database_url)
        try:
            ctx = node_context(db, settings.domain, scheme=settings.scheme)
            for name in users:
                await accounts.create_user(ctx, name, f"{name}-password", role="admin" if name in admins else "user")
        finally:
            await db.dispose()

    off_loop(asyncio.run, make())


@dataclass
class UINode:
    """A node process, the setup token its `atrium init` printed, and its base URL."""

    process: NodeProcess
    setup_token: str

    @property
    def url(self) -> str:
        return self.process.base_url

    @property
    def domain(self) -> str:
        return self.process.domain


def init_with_token(node: NodeProcess, name: str | None = None) -> str:
    args = [*ATRIUM, "init", "--domain", node.domain, "--scheme", "http", *(["--name", name] if name else [])]
    if node.database_url:
        args += ["--database-url", node.database_url]
    out = subprocess.run(args, check=True, env=node.env, capture_output=True, text=True).stdout
    match = re.search(r"setup token[^:]*: (\S+)", out)
    assert match, out
    return match.group(1)


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, UINode]]:
    """eng (SQLite) and partner (PostgreSQL when tested) trust each other as partners; eng
    keeps posts naming "project-orion" inside the organisation (a content rule)."""
    root: Path = tmp_path_factory.mktemp("ui")
    pg_name = f"atrium_ui_{worker_tag()}"
    pg = "postgresql" in ENGINES
    eng = NodeProcess("eng", root)
    partner = NodeProcess("partner", root, off_loop(recreate_pg_database, pg_name) if pg else None)
    with ThreadPoolExecutor() as pool:
        tokens = list(pool.map(init_with_token, [eng, partner]))
    eng.write_policy(
        f'mode = "allowlist"\n[peers."{partner.domain}"]\ntrust = "partner"\n'
        '[[rules]]\nname = "orion"\npattern = "(?i)project-orion"\nbelow = "organization"\n'
    )
    partner.write_policy(f'mode = "allowlist"\n[peers."{eng.domain}"]\ntrust = "public"\n')
    create_users(eng, ["alice", "lena"])
    create_users(partner, ["pat"])
    try:
        with ThreadPoolExecutor() as pool:
            list(pool.map(NodeProcess.start, [eng, partner]))
        yield {"eng": UINode(eng, tokens[0]), "partner": UINode(partner, tokens[1])}
    finally:
        eng.stop()
        partner.stop()
        if pg and not os.environ.get("ATRIUM_KEEP_TEST_DATABASES"):
            off_loop(drop_pg_database, pg_name)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UINode]:
    """One node (SQLite) with users alice, lena, mallory and gone, already set up (admin root)."""
    process = NodeProcess("solo", tmp_path_factory.mktemp("ui-solo"))
    token = init_with_token(process)
    create_users(process, ["alice", "lena", "mallory", "gone", "root"], admins=("root",))
    try:
        process.start()
        yield UINode(process, token)
    finally:
        process.stop()


def sign_in(page: Page, node: UINode, username: str, password: str | None = None) -> None:
    page.goto(f"{node.url}/signin")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(password or f"{username}-password")
    page.get_by_role("button", name="Sign in").click()
    # Signed in: the navigation offers to sign out (inside the menu on a phone).
    expect(page.get_by_role("button", name=re.compile("Sign out"), include_hidden=True)).to_have_count(1)


def compose(page: Page, text: str, audience: str, *, warning: str = "") -> None:
    """Write a post from the page's compose form, choosing the audience by its label."""
    form = page.locator("form.compose").first
    form.get_by_label(re.compile("What would you like to share|Your reply")).fill(text)
    if warning:
        form.get_by_text("Add a content warning").click()
        form.get_by_label("Content warning (shown before the post)").fill(warning)
    form.get_by_role("radio", name=re.compile(f"^{audience}")).check()
    form.get_by_role("button", name=re.compile("^(Post|Reply)$")).click()


def post_card(page: Page, text: str) -> Locator:
    return page.locator("article.post", has_text=text).first


def attach(page: Page, *files: Path, form: Locator | None = None) -> None:
    """Choose files for the compose form through its "Attach" button (atrium.js's picker)."""
    form = form or page.locator("form.compose").first
    with page.expect_file_chooser() as chooser:
        form.get_by_role("button", name=re.compile("^Attach")).click()
    chooser.value.set_files([str(f) for f in files])


def describe(page: Page, file_name: str, text: str) -> None:
    """Write the alt text of an attached file, found by its name in the composer."""
    slot = page.locator("form.compose .media-slot.filled", has_text=file_name).first
    slot.get_by_label(re.compile("^Description")).fill(text)
