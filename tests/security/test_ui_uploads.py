"""The web UI's compose form takes files as a plain multipart form (no JavaScript needed):
each goes through node.media's upload, as the client API's do, then the post attaches them.
Only a signed-in person may send a body larger than the node's 1 MB default; a refused file
is named, and nothing typed is lost. Over real HTTP, both engines.
"""

from __future__ import annotations

import io
import os
import re

import aiohttp
from PIL import Image
from sqlalchemy import select

from node import accounts, instance
from storage.models import MediaAttachment, Post
from tests.factory import LocalNode
from tests.security.clients import session_from
from tests.security.test_one_way_to_post import Browser, browser  # noqa: F401 (the signed-in browser fixture)


def noisy_png(side: int = 700) -> bytes:
    """A PNG of random pixels: it does not compress, so it is larger than 1 MB."""
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "PNG")
    return out.getvalue()


def form_with(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> aiohttp.FormData:
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (file_name, data) in files.items():
        form.add_field(name, data, filename=file_name, content_type="application/octet-stream")
    return form


async def test_the_form_posts_a_picture_larger_than_a_megabyte_with_its_description(
    node: LocalNode, browser: Browser  # noqa: F811
) -> None:
    # Given alice's compose form and a picture of more than 1 MB (the node's default body cap)
    picture = noisy_png()
    assert len(picture) > 1024 * 1024
    fields = {**await browser.compose_form(), "text": "The view from the office", "media_description_1": "A grey sky"}
    # When she sends it as a plain multipart form
    async with browser.http.post("/posts", data=form_with(fields, {"media_file_1": ("view.png", picture)}),
                                 allow_redirects=False) as r:
        assert r.status == 303, (await r.text())[:500]
    # Then the post carries the picture, its description and its name
    alice = await accounts.get_local(node.ctx, "alice")
    async with node.ctx.db.reader() as s:
        post = (await s.scalars(select(Post).where(Post.account_id == alice.id))).one()
        media = (await s.scalars(select(MediaAttachment).where(MediaAttachment.post_id == post.id))).all()
    assert [(m.description, m.file_name, m.kind) for m in media] == [("A grey sky", "view.png", "image")]


async def test_a_visitor_not_signed_in_cannot_send_a_large_body(node: LocalNode) -> None:
    # Given someone not signed in, with a form token of their own
    await instance.create_instance(node.ctx.db, node.ctx.domain)  # the web UI serves an initialised node
    async with session_from("127.0.0.1", node.ctx.base_url) as http:
        async with http.get("/signin") as r:
            token = re.search(r'name="csrf" value="([^"]+)"', await r.text())
            assert token is not None
        # When they send more than 1 MB to the compose form's address
        form = form_with({"csrf": token.group(1), "text": "hi"}, {"media_file_1": ("big.png", noisy_png())})
        async with http.post("/posts", data=form, allow_redirects=False) as r:
            # Then the node stops at its default cap, with a page that says why
            assert r.status == 413
            assert "too large" in await r.text()
    async with node.ctx.db.reader() as s:
        assert (await s.scalars(select(MediaAttachment))).all() == []


async def test_a_refused_file_is_named_and_the_text_and_other_uploads_wait(
    node: LocalNode, browser: Browser  # noqa: F811
) -> None:
    # Given a picture in the first slot and an SVG (never accepted: it can carry script) in the second
    small = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 40, 40)).save(small, "PNG")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    fields = {**await browser.compose_form(), "text": "Keep this text", "media_description_1": "A red square"}
    files = {"media_file_1": ("red.png", small.getvalue()), "media_file_2": ("logo.svg", svg)}
    # When the form is sent
    async with browser.http.post("/posts", data=form_with(fields, files), allow_redirects=False) as r:
        page = await r.text()
        # Then it comes back refused, naming the file, with the text and the picture kept
        assert r.status == 422, page[:500]
    assert "logo.svg: this type of file is not accepted" in page
    assert "Keep this text" in page
    kept = re.search(r'name="media_id_1" value="(\d+)"', page)
    assert kept is not None and "A red square" in page
    async with node.ctx.db.reader() as s:
        assert (await s.scalars(select(Post))).all() == []
        # And sent again as it came back, the kept picture is posted (no second upload)
        rows = (await s.scalars(select(MediaAttachment))).all()
    assert [r.file_name for r in rows] == ["red.png"]
    again = {**dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page)), "text": "Keep this text",
             "visibility": "public", "media_description_1": "A red square"}
    async with browser.http.post("/posts", data=form_with(again, {}), allow_redirects=False) as r:
        assert r.status == 303, (await r.text())[:500]
    async with node.ctx.db.reader() as s:
        posted = (await s.scalars(select(MediaAttachment))).all()
    assert [(m.file_name, m.post_id is not None) for m in posted] == [("red.png", True)]
