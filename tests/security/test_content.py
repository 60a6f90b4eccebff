"""Content injection: HTML and script a peer (or a local author) writes into any field never
comes back out as markup a browser would run, through the client API or the pages.

HTML fields (content, bio) are sanitised; text fields (content warning, display name) are text
(the API returns them as JSON strings, the pages escape them).
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import aiohttp
from sqlalchemy import update

from node import accounts, posts, remote
from node.posts import NewPost
from storage.models import Account
from tests.factory import LocalNode
from tests.federation.fake_peer import FakePeer
from tests.security.conftest import sign_in

PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(2)">',
    '<a href="javascript:alert(3)">x</a>',
    '<svg onload="alert(4)"></svg>',
    '<iframe src="https://evil.example/"></iframe>',
    "<style>body{display:none}</style>",
    '"><script>alert(5)</script>',
    "</textarea><script>alert(6)</script>",
]
ALL = "".join(PAYLOADS)
NAME = PAYLOADS[0] + PAYLOADS[1] + PAYLOADS[6]  # fits a display name (255 characters)
SAFE_TAGS = {"p", "br", "a", "span", "strong", "em", "b", "i", "u", "del", "s", "code", "pre", "blockquote",
             "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "sub", "sup"}


class _Markup(HTMLParser):
    """Every tag and attribute a browser would see in a piece of HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in SAFE_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name in ("style", "srcdoc", "formaction"):
                self.problems.append(f"{tag}[{name}]")
            if name in ("href", "src") and not (value or "").lower().startswith(("http://", "https://", "mailto:")):
                self.problems.append(f"{tag}[{name}={value}]")


def _dangerous_html(value: Any) -> list[str]:
    """What in `value`, put in a page as HTML, would run or load something."""
    if not isinstance(value, str):
        return []
    parser = _Markup()
    parser.feed(value)
    parser.close()
    return parser.problems


async def test_a_peers_script_in_every_field_is_inert_in_the_api(
    node: LocalNode, peer: FakePeer, http: aiohttp.ClientSession, alice_follows_mallory: Account
) -> None:
    # Given mallory's profile and post carry script in every field a reader sees
    doc = peer.actor_document("mallory") | {"name": f"Mallory {ALL}", "summary": f"<p>bio {ALL}</p>"}
    await remote.upsert_actor(node.ctx, remote.parse_actor(doc))
    note = peer.note("mallory", 1, f"<p>post {ALL}</p>", summary=f"cw {ALL}", sensitive=True,
                     attachment=[{"type": "Document", "mediaType": "image/png", "url": "https://x.example/a.png",
                                  "name": f"alt {ALL}"}],
                     tag=[{"type": "Hashtag", "name": "#<script>alert(7)</script>", "href": "https://x.example/t"}])
    assert (await peer.post(node.inbox, peer.create("mallory", note), as_actor="mallory"))[0] == 202
    await node.process()
    # When alice reads her home timeline through the API
    async with http.get("/api/v1/timelines/home", headers=await sign_in(http, "alice")) as r:
        assert r.status == 200
        [status] = await r.json()
    # Then the HTML fields are sanitised, keeping the words
    assert _dangerous_html(status["content"]) == [] and "post" in status["content"]
    assert _dangerous_html(status["account"]["note"]) == [] and "bio" in status["account"]["note"]
    # and the text fields hold no markup a page could run once escaped: a CW is plain text
    assert _dangerous_html(status["spoiler_text"]) == [] and status["spoiler_text"].startswith("cw")
    for attachment in status.get("media_attachments", []):
        assert _dangerous_html(attachment.get("description")) == []
    for tag in status.get("tags", []):
        assert _dangerous_html(tag.get("name")) == [] and _dangerous_html(tag.get("url")) == []


async def test_a_local_authors_script_is_escaped_in_the_pages(node: LocalNode, http: aiohttp.ClientSession) -> None:
    # Given alice's display name, post and content warning carry script
    alice = await accounts.get_local(node.ctx, "alice")
    async with node.ctx.db.session() as s:
        await s.execute(update(Account).where(Account.id == alice.id).values(display_name=f"Alice {NAME}"))
    post = await posts.create_post(node.ctx, alice, NewPost(f"hello {ALL}", summary=f"cw {ALL}"))
    # When anyone opens the post's page and her profile page
    for path in (f"/@alice/{post.id}", "/@alice"):
        async with http.get(path, headers={"Accept": "text/html"}) as r:
            body = await r.text()
        # Then the page exists, shows the words, and every payload is escaped
        assert r.status == 200 and "html" in r.content_type, path
        assert all(p not in body for p in PAYLOADS), path
        assert "&lt;script&gt;alert(1)" in body or "alert(1)" in body, path
    # and the API gives the post's HTML sanitised, its text fields as JSON strings (for the
    # client to escape, as Mastodon's do), never as a page
    async with http.get(f"/api/v1/statuses/{post.id}") as r:
        assert r.content_type == "application/json"
        status = await r.json()
    assert _dangerous_html(status["content"]) == [] and "hello" in status["content"]
    assert status["spoiler_text"].startswith("cw")
