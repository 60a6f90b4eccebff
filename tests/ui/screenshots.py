"""Screenshots of the pages a new employee and a new operator see first: sign-in, home,
profile, compose, settings, notifications, search and the trust policy, at desktop (1280×900) and
phone (390×844) size.

    PYTHONPATH=$PWD .venv/bin/python -m tests.ui.screenshots docs/screenshots/after

It starts a node of its own (SQLite, in a temporary folder), seeds it like a small demo (a
few people, posts in several audiences, one with a chart and a PDF and one with a picture
marked sensitive, a partner peer and a sibling node in the policy, a content rule, a few
hundred policy decisions), signs in as an employee and as an admin,
and writes `<page>-<size>.png` into the given folder. The posts are written through the
compose form, as a person would, so the script follows the pages as they change.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw
from playwright.sync_api import Browser, Page, sync_playwright

from node import audit
from node.settings import load
from storage.db import Database
from tests.federation.nodes import NodeProcess
from tests.ui.conftest import (
    CHROMIUM,
    LAUNCH_ARGS,
    UINode,
    attach,
    compose,
    create_users,
    describe,
    init_with_token,
    off_loop,
    sign_in,
)

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


# The smallest PDF a reader opens: one empty page.
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def demo_files(folder: Path) -> dict[str, Path]:
    """A bar chart (PNG), a photo-like picture (JPEG) and a PDF for the posts with attachments."""
    chart = Image.new("RGB", (1200, 675), (248, 249, 252))
    draw = ImageDraw.Draw(chart)
    for i, height in enumerate((180, 240, 310, 290, 420, 520)):
        left = 110 + i * 170
        draw.rectangle((left, 600 - height, left + 110, 600), fill=(53, 70, 199) if i < 5 else (30, 140, 90))
    draw.line((80, 600, 1140, 600), fill=(89, 96, 109), width=3)
    scene = Image.new("RGB", (900, 1100), (120, 170, 215))
    draw = ImageDraw.Draw(scene)
    draw.rectangle((0, 700, 900, 1100), fill=(70, 130, 70))
    draw.ellipse((560, 120, 760, 320), fill=(250, 215, 90))
    made = {"signups-q1.png": folder / "signups-q1.png", "offsite.jpg": folder / "offsite.jpg",
            "Q2 planning.pdf": folder / "Q2 planning.pdf"}
    chart.save(made["signups-q1.png"])
    scene.save(made["offsite.jpg"], quality=88)
    made["Q2 planning.pdf"].write_bytes(PDF)
    return made


def seed_posts(browser: Browser, node: UINode, files: dict[str, Path]) -> None:
    """alice follows lena (her home timeline shows lena's posts), then both post in turn; lena
    shares a chart and the plan, and a picture marked sensitive."""
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
    lena = pages["lena"]
    lena.goto(node.url + "/compose")
    attach(lena, files["offsite.jpg"])
    describe(lena, "offsite.jpg", "The team at the offsite, on a hill under a bright sun")
    lena.get_by_label("Mark media as sensitive", exact=False).check()
    compose(lena, "Faces from the offsite: ask before you share them outside the team.", "Organisation")
    lena.wait_for_load_state()
    lena.goto(node.url + "/compose")
    attach(lena, files["signups-q1.png"], files["Q2 planning.pdf"])
    describe(lena, "signups-q1.png", "Bar chart of sign-ups per month, January to June: rising every month, doubled by June")
    describe(lena, "Q2 planning.pdf", "The plan for the second quarter, as agreed on Monday")
    compose(lena, "Sign-ups doubled since January. The plan for Q2 is attached; comments welcome until Friday.", "Organisation")
    lena.wait_for_load_state()
    for ctx in contexts.values():
        ctx.close()


def capture(browser: Browser, node: UINode, out: Path, files: dict[str, Path]) -> list[Path]:
    shots: list[Path] = []
    for size, viewport in SIZES.items():
        phone = size == "phone"
        pages = {
            None: [("signin", "/signin")],
            "alice": [("home", "/"), ("profile", "/@alice"), ("compose", "/compose"), ("compose-media", "/compose"), ("settings", "/settings"),
                      ("settings-filters", "/settings/filters"), ("settings-blocked", "/blocks"),
                      ("settings-security", "/settings/security"), ("settings-export", "/settings/export")],
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
                if name == "compose-media":  # the composer holding a picture and a document
                    attach(page, files["signups-q1.png"], files["Q2 planning.pdf"])
                    describe(page, "signups-q1.png", "Bar chart of sign-ups per month")
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
                    files = demo_files(Path(root))
                    seed_posts(browser, node, files)
                    for shot in capture(browser, node, out, files):
                        print(shot)
                finally:
                    browser.close()
        finally:
            process.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
