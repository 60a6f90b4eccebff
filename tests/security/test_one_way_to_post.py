"""One way in for a new post: the client API and the web UI's compose form post through the same
node call (node/posts.py `post_as`), so they share one per-account allowance and one
idempotency, and a key is stored in its post's own transaction: two requests racing with one
key make one post. Both engines, over real HTTP.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from sqlalchemy import func, select

from node import accounts, instance
from node.ratelimit import Limits
from storage.models import Post
from tests.factory import PASSWORD, LocalNode
from tests.security.clients import session_from
from tests.security.conftest import sign_in


@pytest.fixture
def limits() -> Limits:
    """Three posts at once per account, then one an hour: the tests stay inside the hour."""
    return Limits(statuses_per_account_per_hour=1, statuses_per_account_burst=3)


@dataclass
class Browser:
    """A signed-in browser on the web UI: compose forms are read and sent as a person's are."""

    http: aiohttp.ClientSession

    async def compose_form(self) -> dict[str, str]:
        async with self.http.get("/compose") as r:
            page = await r.text()
            assert r.status == 200, page[:500]
        fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page))
        return {**fields, "visibility": "public"}

    async def send(self, form: dict[str, str], text: str) -> aiohttp.ClientResponse:
        async with self.http.post("/posts", data={**form, "text": text}, allow_redirects=False) as r:
            await r.read()
            return r


@pytest.fixture
async def browser(node: LocalNode) -> AsyncIterator[Browser]:
    await instance.create_instance(node.ctx.db, node.ctx.domain)  # the web UI serves an initialised node
    async with session_from("127.0.0.1", node.ctx.base_url) as http:
        async with http.get("/signin") as r:
            token = re.search(r'name="csrf" value="([^"]+)"', await r.text())
            assert token is not None, r.status
        async with http.post(
            "/signin", data={"csrf": token.group(1), "login": "alice", "password": PASSWORD}, allow_redirects=False
        ) as r:
            assert r.status in (302, 303), await r.text()
        yield Browser(http)


async def _posts_of(node: LocalNode, username: str) -> list[str]:
    account = await accounts.get_local(node.ctx, username)
    async with node.ctx.db.reader() as s:
        return list((await s.scalars(select(Post.source).where(Post.account_id == account.id).order_by(Post.id))).all())


async def test_two_requests_racing_with_one_idempotency_key_make_one_post(
    node: LocalNode, http: aiohttp.ClientSession
) -> None:
    # Given alice's client sends the same post twice at once, with one Idempotency-Key
    alice = await sign_in(http, "alice")
    headers = {**alice, "Idempotency-Key": "retry-1"}

    async def send() -> tuple[int, str]:
        async with http.post("/api/v1/statuses", data={"status": "only once"}, headers=headers) as r:
            body = await r.json()
            return r.status, str(body.get("id"))

    answers = await asyncio.gather(send(), send())
    # Then both are answered with the one post, and only one was stored
    assert [status for status, _ in answers] == [200, 200]
    assert answers[0][1] == answers[1][1]
    assert await _posts_of(node, "alice") == ["only once"]
    # and a later retry with the key gets that post back too, without a second
    async with http.post("/api/v1/statuses", data={"status": "only once"}, headers=headers) as r:
        assert (await r.json())["id"] == answers[0][1]
    async with node.ctx.db.reader() as s:
        assert await s.scalar(select(func.count()).select_from(Post)) == 1


async def test_the_web_form_and_the_client_api_share_one_posting_allowance(
    node: LocalNode, http: aiohttp.ClientSession, browser: Browser
) -> None:
    # Given alice may post three at once; she posts once from her app and twice from the web form
    alice = await sign_in(http, "alice")
    async with http.post("/api/v1/statuses", data={"status": "from the app"}, headers=alice) as r:
        assert r.status == 200
    for text in ("from the web", "from the web again"):
        assert (await browser.send(await browser.compose_form(), text)).status in (302, 303)
    # When she posts once more, from either way in, she is refused: the allowance is one
    refused_form = await browser.send(await browser.compose_form(), "one too many")
    assert refused_form.status == 429 and "Retry-After" in refused_form.headers
    async with http.post("/api/v1/statuses", data={"status": "one too many"}, headers=alice) as r:
        assert r.status == 429 and "too many posts" in (await r.json())["error"]
    assert await _posts_of(node, "alice") == ["from the app", "from the web", "from the web again"]
    # and bob's allowance is his own
    async with http.post("/api/v1/statuses", data={"status": "bob here"}, headers=await sign_in(http, "bob")) as r:
        assert r.status == 200


async def test_a_web_form_sent_twice_makes_one_post(node: LocalNode, browser: Browser) -> None:
    # Given alice's compose form, sent twice at once (a double click) and once more later
    form = await browser.compose_form()
    answers = await asyncio.gather(browser.send(form, "clicked twice"), browser.send(form, "clicked twice"))
    again = await browser.send(form, "clicked twice")
    # Then each lands on the one post, as a client's Idempotency-Key would
    assert {r.status for r in [*answers, again]} <= {302, 303}
    assert len({r.headers["Location"] for r in [*answers, again]}) == 1
    assert await _posts_of(node, "alice") == ["clicked twice"]
