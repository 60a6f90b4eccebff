"""The node's icon: /favicon.ico answers with an icon, and every page names its icons."""

from __future__ import annotations

import re

from storage.db import Database
from tests.web.conftest import Serve


async def test_favicon_ico_is_an_icon(db: Database, serve: Serve) -> None:
    async with serve(db) as client:
        # When a browser asks for /favicon.ico, as it does whatever the page names
        answer = await client.get("/favicon.ico")
        # Then it gets an icon (ICO header: reserved 0, type 1), not a 404
        assert answer.status == 200
        assert answer.headers["Content-Type"] == "image/x-icon"
        assert (await answer.read())[:4] == b"\x00\x00\x01\x00"


async def test_pages_name_icons_that_answer(db: Database, serve: Serve) -> None:
    async with serve(db) as client:
        # Given the sign-in page, which any visitor sees first
        page = await (await client.get("/signin")).text()
        icons = re.findall(r'<link rel="icon" href="([^"]+)"', page)
        # Then it names an SVG icon and the ICO, and each answers with an image
        assert icons == ["/static/favicon.svg", "/favicon.ico"]
        for href in icons:
            answer = await client.get(href)
            assert answer.status == 200, href
            assert answer.headers["Content-Type"].startswith("image/"), href
