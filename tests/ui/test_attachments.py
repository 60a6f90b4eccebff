"""Pictures and files in the web UI, in a real browser, across two real nodes: the composer's
picker (atrium.js), drag and drop, alt text per file, removing a file before posting, the
sensitive flag, the form without JavaScript, and what a colleague on another node sees.

eng trusts partner as `partner`; partner trusts eng as `public` (tests/ui/conftest.py `nodes`).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.ui.conftest import (
    DESKTOP,
    WAIT_MS,
    UINode,
    attach,
    compose,
    describe,
    new_context,
    post_card,
    shot,
    sign_in,
)
from tests.ui.test_accessibility import AXE, axe_context, violations
from tests.ui.test_flows import unique, until_visible

# The smallest PDF a reader opens: one empty page.
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A landscape chart (PNG), a portrait photo (JPEG), a square, and a PDF."""
    root = tmp_path_factory.mktemp("files")
    made: dict[str, Path] = {}
    for name, size, colour in (("chart.png", (1200, 750), (53, 70, 199)), ("photo.jpg", (600, 800), (30, 110, 60)),
                               ("square.png", (500, 500), (168, 67, 26)), ("extra.png", (300, 200), (90, 90, 90))):
        picture = Image.new("RGB", size, colour)
        picture.paste((250, 220, 90), (size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2))
        picture.save(root / name)
        made[name] = root / name
    made["plan.pdf"] = root / "plan.pdf"
    made["plan.pdf"].write_bytes(PDF)
    return made


def composer(page: Page) -> Locator:
    return page.locator("form.compose").first


def post(page: Page, text: str, audience: str = "Public") -> Locator:
    """Send the composer as it is (its files attached) and find the new post."""
    compose(page, text, audience)
    card = post_card(page, text)
    expect(card).to_be_visible()
    return card


@pytest.fixture
def alice(nodes: dict[str, UINode], context: BrowserContext) -> Page:
    page = context.new_page()
    sign_in(page, nodes["eng"], "alice")
    return page


@pytest.fixture
def pat_follows_alice(nodes: dict[str, UINode], browser: Browser) -> Iterator[Page]:
    """pat on partner, signed in, following alice on eng (found by her handle)."""
    eng, partner = nodes["eng"], nodes["partner"]
    ctx = new_context(browser)
    page = ctx.new_page()
    sign_in(page, partner, "pat")
    page.goto(f"{partner.url}/search?q=alice@{eng.domain}")
    page.get_by_role("link", name=re.compile(f"@alice@{re.escape(eng.domain)}")).click()
    page.get_by_role("button", name="Follow", exact=True).click()
    until_visible(page, lambda: page.get_by_role("button", name="Unfollow"), "eng to accept pat's follow")
    yield page
    ctx.close()


# The branch media-fed carries attachments between nodes (outbound notes and inbound rows);
# this branch (media-ui) does not hold it yet. Strict: once media-fed is merged this passes,
# and the mark must go (it passed on media-ui with media-fed b7e3a82 merged in a trial).
def test_an_image_and_a_pdf_with_alt_text_reach_a_colleague_on_another_node(
    nodes: dict[str, UINode], alice: Page, pat_follows_alice: Page, files: dict[str, Path]
) -> None:
    pat = pat_follows_alice
    # Given pat on partner follows alice on eng
    # When alice attaches a picture and a PDF, describes each, and posts
    attach(alice, files["chart.png"], files["plan.pdf"])
    expect(composer(alice).locator(".media-slot.filled")).to_have_count(2)
    expect(composer(alice).locator(".media-slot.filled img.media-thumb")).to_have_count(1)  # the picture's preview
    expect(composer(alice).locator(".media-slot.filled", has_text="plan.pdf")).to_contain_text("PDF")
    describe(alice, "chart.png", "Bar chart: sign-ups doubled in March")
    describe(alice, "plan.pdf", "The spring plan, one page")
    shot(alice, "attach-composer")
    text = unique("Spring numbers and the plan")
    card = post(alice, text)
    # Then her post shows the picture with its alt text and the PDF as a card to download
    picture = card.locator(".media-grid img")
    expect(picture).to_have_attribute("alt", "Bar chart: sign-ups doubled in March")
    assert picture.evaluate("img => img.decode().then(() => img.naturalWidth, () => 0)") > 0, "the picture did not load"
    expect(card.locator(".file-card")).to_contain_text("plan.pdf")
    expect(card.locator(".file-card")).to_contain_text("The spring plan, one page")
    expect(card.get_by_role("link", name=re.compile("Download plan.pdf"))).to_be_visible()
    shot(alice, "attach-posted")
    # And pat on partner sees both with their alt text: the picture (inline once partner
    # holds a copy, else a link to it on eng) and the PDF (ActivityPub carries no file
    # name: the card names it by its description)
    pat.goto(nodes["partner"].url + "/")
    seen = until_visible(pat, lambda: post_card(pat, text), "alice's post on partner")
    picture_there = seen.locator(
        "img[alt='Bar chart: sign-ups doubled in March'], .file-card:has-text('Bar chart: sign-ups doubled in March')"
    )
    expect(picture_there).to_have_count(1)
    expect(seen.locator(".file-card", has_text="The spring plan, one page")).to_contain_text("PDF")
    shot(pat, "attach-on-partner")


def test_a_picture_opens_full_size(alice: Page, files: dict[str, Path]) -> None:
    # Given a post with a picture
    attach(alice, files["photo.jpg"])
    describe(alice, "photo.jpg", "A green field")
    card = post(alice, unique("Full size"))
    # When it is clicked, it opens over the page, full size, with its description
    card.locator("a.media-item").click()
    dialog = alice.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("img")).to_have_attribute("alt", "A green field")
    expect(dialog).to_contain_text("A green field")
    # And Escape goes back to the post
    alice.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(card.locator("a.media-item")).to_be_focused()


def test_sensitive_media_stay_hidden_until_clicked(alice: Page, files: dict[str, Path]) -> None:
    # Given alice marks her picture as sensitive
    attach(alice, files["square.png"])
    describe(alice, "square.png", "An orange square")
    composer(alice).get_by_label(re.compile("Mark media as sensitive")).check()
    card = post(alice, unique("Careful"))
    # Then the picture is hidden behind a click, the text is not
    expect(card.locator(".media-sensitive")).to_contain_text("Sensitive content")
    expect(card.locator("img[alt='An orange square']")).to_be_hidden()
    shot(alice, "attach-sensitive")
    # When the reader clicks Show, the picture appears
    card.get_by_text("Show", exact=True).click()
    expect(card.locator("img[alt='An orange square']")).to_be_visible()
    # And an edit of the text shows the attachments and keeps them sensitive
    card.get_by_role("link", name="Edit").click()
    expect(alice.locator(".edit-media img[alt='An orange square']")).to_be_visible()
    expect(alice.get_by_label(re.compile("Mark media as sensitive"))).to_be_checked()
    alice.get_by_label("Text").fill("Careful, edited")
    alice.get_by_role("button", name="Save").click()
    edited = post_card(alice, "Careful, edited")
    expect(edited.locator(".media-sensitive")).to_contain_text("Sensitive content")
    expect(edited.locator("img[alt='An orange square']")).to_be_hidden()


def test_a_file_removed_before_posting_is_not_posted(alice: Page, files: dict[str, Path]) -> None:
    # Given alice attaches a picture and a PDF
    attach(alice, files["chart.png"], files["plan.pdf"])
    expect(composer(alice).locator(".media-slot.filled")).to_have_count(2)
    # When she removes the PDF before posting
    composer(alice).get_by_role("button", name="Remove plan.pdf").click()
    expect(composer(alice).locator(".media-slot.filled")).to_have_count(1)
    expect(composer(alice).get_by_role("status").filter(has_text="removed")).to_contain_text("plan.pdf removed")
    card = post(alice, unique("Only the chart"))
    # Then only the picture is posted
    expect(card.locator(".media-grid img")).to_have_count(1)
    expect(card.locator(".file-card")).to_have_count(0)


def test_at_most_four_files_and_the_fifth_is_refused_before_sending(alice: Page, files: dict[str, Path]) -> None:
    # When alice chooses five files
    attach(alice, files["chart.png"], files["photo.jpg"], files["square.png"], files["extra.png"], files["plan.pdf"])
    # Then four are attached, the fifth is refused with the reason, and the button says it is full
    expect(composer(alice).locator(".media-slot.filled")).to_have_count(4)
    expect(composer(alice).locator(".media-note")).to_contain_text("At most 4 files per post: plan.pdf was not added")
    expect(composer(alice).get_by_role("button", name=re.compile("^Attach"))).to_be_disabled()
    card = post(alice, unique("Four pictures"))
    expect(card.locator(".media-grid.n4 img")).to_have_count(4)
    shot(alice, "attach-four")


def test_a_file_dropped_on_the_composer_is_attached(alice: Page, files: dict[str, Path]) -> None:
    # When a PDF is dragged from the desktop and dropped on the composer
    data = base64.b64encode(files["plan.pdf"].read_bytes()).decode()
    holder = alice.evaluate_handle(
        """data => { const t = new DataTransfer();
           t.items.add(new File([Uint8Array.from(atob(data), c => c.charCodeAt(0))], "dropped.pdf", {type: "application/pdf"}));
           return t; }""",
        data,
    )
    composer(alice).dispatch_event("dragover", {"dataTransfer": holder})
    expect(composer(alice)).to_have_class(re.compile("dragging"))
    composer(alice).dispatch_event("drop", {"dataTransfer": holder})
    # Then it waits in the composer as a file card, and is posted with the text
    expect(composer(alice).locator(".media-slot.filled")).to_contain_text("dropped.pdf")
    card = post(alice, unique("Dropped in"))
    expect(card.locator(".file-card")).to_contain_text("dropped.pdf")


def test_without_javascript_the_form_posts_files_and_keeps_them_when_refused(
    nodes: dict[str, UINode], browser: Browser, files: dict[str, Path]
) -> None:
    ctx = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    ctx.set_default_timeout(WAIT_MS)
    try:
        page = ctx.new_page()
        sign_in(page, nodes["eng"], "lena")
        # Given the plain form: the slots are file inputs, each with its description
        form = composer(page)
        form.get_by_text("Add images or files").click()
        form.get_by_label("Image or file 1").set_input_files(str(files["chart.png"]))
        form.locator("#compose-alt-1").fill("A blue chart")
        form.get_by_label("Image or file 2").set_input_files(str(files["plan.pdf"]))
        # When the post is refused (too long), the uploads wait in their slots with their descriptions
        form.get_by_label("What would you like to share?").fill("x" * 6000)
        form.get_by_role("button", name="Post").click()
        expect(page.get_by_role("alert")).to_contain_text("too long")
        kept = composer(page).locator(".media-slot.kept")
        expect(kept).to_have_count(2)
        expect(composer(page).locator("#compose-alt-1")).to_have_value("A blue chart")
        shot(page, "attach-nojs-kept")
        # And sent again, shorter and with the PDF removed, the post carries the picture only
        text = unique("No script needed")
        composer(page).get_by_label("What would you like to share?").fill(text)
        composer(page).locator(".media-slot.kept", has_text="plan.pdf").get_by_label("Remove").check()
        composer(page).get_by_role("radio", name=re.compile("^Public")).check()
        composer(page).get_by_role("button", name="Post").click()
        card = post_card(page, text)
        expect(card.locator("img[alt='A blue chart']")).to_be_visible()
        expect(card.locator(".file-card")).to_have_count(0)
    finally:
        ctx.close()


@pytest.fixture(params=["desktop", "phone", "dark-phone"])
def size(request: pytest.FixtureRequest) -> Iterator[str]:
    yield request.param


def test_the_composer_and_posts_with_media_pass_axe(nodes: dict[str, UINode], browser: Browser, files: dict[str, Path], size: str) -> None:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run scripts/lib/ensure-axe (scripts/test does)")
    ctx = axe_context(browser, phone=size != "desktop", dark=size.startswith("dark"))
    try:
        page = ctx.new_page()
        sign_in(page, nodes["eng"], "lena")
        page.goto(nodes["eng"].url + "/compose")
        # The composer with a picture and a PDF waiting, and a sensitive post and a plain one
        attach(page, files["photo.jpg"], files["plan.pdf"])
        describe(page, "photo.jpg", "A green field")
        composer(page).get_by_label(re.compile("Mark media as sensitive")).check()
        assert violations(page) == []
        shot(page, f"attach-composer-{size}")
        text = unique(f"axe-{size}")
        card = post(page, text)
        attach(page, files["chart.png"], files["square.png"], files["plan.pdf"])
        post(page, unique(f"axe-plain-{size}"))
        card.get_by_text("Show", exact=True).click()
        assert violations(page) == []
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways"
        page.evaluate("window.scrollTo(0, 0)")
        shot(page, f"attach-home-{size}", full_page=True)
    finally:
        ctx.close()
