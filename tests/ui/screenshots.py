"""Screenshots of the pages a new employee and a new operator see first: sign-in, home,
profile, compose, settings, notifications, search and the trust policy, at desktop (1280×900) and
phone (390×844) size.

    PYTHONPATH=$PWD .venv/bin/python -m tests.ui.screenshots docs/screenshots/after

It starts a node of its own (SQLite, in a temporary folder), seeds it like a small demo (a
few people, posts in several audiences, a partner peer and a sibling node in the policy, a
content rule, a few hundred policy decisions), signs in as an employee and as an admin,
and writes `<page>-<size>.png` into the given folder. The posts are written through the
compose form, as a person would, so the script follows the pages as they change.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from node import audit
from node.settings import load
from storage.db import Database
from tests.federation.nodes import NodeProcess
from tests.ui.conftest import CHROMIUM, LAUNCH_ARGS, UINode, compose, create_users, init_with_token, off_loop, sign_in

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
PARTNER = "partner.example"
SIBLING = "sales.acme.example"
POLICY = (
    'mode = "allowlist"\n'
    f'[peers."{PARTNER}"]\ntrust = "partner"\n'
    f'[peers."{SIBLING}"]\ntrust = "organization"\n'
    '[peers."spam.example"]\ntrust = "blocked"\n'
    '[[rules]]\nname = "orion"\npattern = "(?i)project-orion"\nbelow = "organization"\n'
)
POSTS = [
    ("alice", "Welcome to the new Atrium node! Say hello and tell us which team you are on. #welcome", "Public"),
    ("lena", "The quarterly planning notes are in the shared drive; comments welcome until Friday.", "Organisation"),
    ("alice", "Lunch & learn on Thursday: accessibility checks with axe. Bring questions.", "Organisation"),
    ("lena", "Draft numbers for project-orion are ready for review by the core team.", "Followers"),
    ("alice", "Thanks @lena for the planning notes, very clear.", "Public"),
]


def seed_decisions(node: UINode, runs: int = 60) -> None:
    """Decisions as a node that has run a while logs them: runs of deliveries, refusals and
    inbound activities from a few peers (a peer's activities come in bursts)."""

    async def write() -> None:
        db = Database(load(node.process.data_dir).resolved_database_url)
        peers = [PARTNER, SIBLING, "spam.example", "unknown.example"]
        n = 0
        try:
            for run in range(runs):
                peer = peers[run % len(peers)]
                blocked = peer in ("spam.example", "unknown.example")
                inbound = run % 3 == 0
                for _ in range(1 + run % 6):
                    n += 1
                    await audit.record_now(
                        db,
                        direction="in" if inbound else "out",
                        peer=peer,
                        obj=f"https://{peer}/users/someone/statuses/{100000 + n}",
                        decision="refused" if blocked else "accepted" if inbound else "delivered",
                        rule="mode = allowlist (unknown domain)" if peer == "unknown.example" else f'peers."{peer}"',
                        reason=f"{peer} is blocked" if blocked else f"{peer} is trusted as partner",
                    )
        finally:
            await db.dispose()

    off_loop(asyncio.run, write())


def seed_posts(browser: Browser, node: UINode) -> None:
    """alice follows lena (her home timeline shows lena's posts), then both post in turn."""
    contexts = {who: browser.new_context(viewport=SIZES["desktop"]) for who in ("alice", "lena")}
    pages = {who: ctx.new_page() for who, ctx in contexts.items()}
    for who, page in pages.items():
        sign_in(page, node, who)
    pages["alice"].goto(node.url + "/@lena")
    pages["alice"].get_by_role("button", name="Follow").first.click()
    pages["alice"].wait_for_load_state()
    for author, text, audience in POSTS:
        page = pages[author]
        page.goto(node.url + "/compose")
        compose(page, text, audience)
        page.wait_for_load_state()
    for ctx in contexts.values():
        ctx.close()


def capture(browser: Browser, node: UINode, out: Path) -> list[Path]:
    shots: list[Path] = []
    for size, viewport in SIZES.items():
        phone = size == "phone"
        pages = {
            None: [("signin", "/signin")],
            "alice": [("home", "/"), ("profile", "/@alice"), ("compose", "/compose"), ("settings", "/settings")],
            # alice followed and mentioned lena: her notifications; and a search for people
            "lena": [("notifications", "/notifications"), ("search", "/search?q=a")],
            "root": [("trust-policy", "/admin/policy")],
        }
        for who, paths in pages.items():
            ctx = browser.new_context(viewport=viewport, device_scale_factor=1, is_mobile=phone, color_scheme="light")
            page: Page = ctx.new_page()
            if who:
                sign_in(page, node, who)
            for name, path in paths:
                page.goto(node.url + path)
                page.wait_for_load_state("networkidle")
                target = out / f"{name}-{size}.png"
                page.screenshot(path=str(target))
                shots.append(target)
            ctx.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="where the PNG files go (made if missing)")
    args = parser.parse_args(argv)
    out: Path = args.folder
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as root:
        process = NodeProcess("demo", Path(root))
        node = UINode(process, init_with_token(process, "Acme Engineering"))
        process.write_policy(POLICY)
        create_users(process, ["alice", "lena", "root"], admins=("root",))
        seed_decisions(node)
        process.start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
                try:
                    seed_posts(browser, node)
                    for shot in capture(browser, node, out):
                        print(shot)
                finally:
                    browser.close()
        finally:
            process.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
