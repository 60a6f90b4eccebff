"""The settings page "Import and export" over real HTTP (a node in-process, a browser's cookies):
the person's own archive in Mastodon's shape, follows as CSV, and a following list imported, with
hostile and broken input refused whole."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from sqlalchemy import select

from node import accounts, bookmarks, follows, interactions, posts
from node.audience import Audience
from node.posts import NewPost
from storage.models import Account, Follow
from tests.conftest import StartNode
from tests.factory import PASSWORD, LocalNode
from tests.media_files import stored_media

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Browser:
    http: aiohttp.ClientSession
    csrf: str = ""

    async def page(self, path: str) -> tuple[int, str]:
        async with self.http.get(path, allow_redirects=False) as r:
            text = await r.text()
        if m := CSRF.search(text):
            self.csrf = m.group(1)
        return r.status, text

    async def sign_in(self, login: str) -> None:
        await self.page("/signin")
        async with self.http.post("/signin", data={"login": login, "password": PASSWORD, "csrf": self.csrf},
                                  allow_redirects=False) as r:
            assert r.status == 303, await r.text()
        await self.page("/settings/export")

    async def upload(self, data: bytes, *, csrf: str | None = None) -> tuple[int, str]:
        form = aiohttp.FormData()
        form.add_field("csrf", self.csrf if csrf is None else csrf)
        form.add_field("csv", data, filename="following_accounts.csv", content_type="text/csv")
        async with self.http.post("/settings/export/following", data=form, allow_redirects=False) as r:
            return r.status, await r.text()


@pytest.fixture
async def node(start_node: StartNode) -> LocalNode:
    return await start_node(instance=True, users=("alice", "bob", "carol"))


@pytest.fixture
async def browser(node: LocalNode) -> AsyncIterator[Browser]:
    async with aiohttp.ClientSession(base_url=node.url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield Browser(http)


async def _people(node: LocalNode) -> tuple[Account, Account, Account]:
    ctx = node.ctx
    return (await accounts.get_local(ctx, "alice"), await accounts.get_local(ctx, "bob"),
            await accounts.get_local(ctx, "carol"))


async def test_the_archive_holds_every_post_boost_like_bookmark_and_file(node: LocalNode, browser: Browser) -> None:
    ctx = node.ctx
    alice, bob, _ = await _people(node)
    # Given alice's post with a file, her post for this node only, bob's post she liked, bookmarked and boosted
    post = await posts.create_post(ctx, alice, NewPost("the roadmap, public"))
    pdf = await stored_media(ctx, alice, b"%PDF-1.4 roadmap", "application/pdf", post=post, file_name="roadmap.pdf",
                             extension="pdf")
    local = await posts.create_post(ctx, alice, NewPost("only for this node", visibility=Audience.LOCAL))
    bobs = await posts.create_post(ctx, bob, NewPost("bob's news"))
    await interactions.like(ctx, alice, bobs.id)
    await bookmarks.bookmark(ctx, alice, bobs.id)
    await interactions.boost(ctx, alice, bobs.id)
    await browser.sign_in("alice")
    # When she downloads her archive from the settings page
    async with browser.http.post("/settings/export/archive", data={"csrf": browser.csrf}) as r:
        assert r.status == 200, await r.text()
        assert r.headers["Content-Type"] == "application/zip"
        assert r.headers["Content-Disposition"].startswith('attachment; filename="archive-alice-')
        data = await r.read()
    z = zipfile.ZipFile(io.BytesIO(data))
    # Then outbox.json is an OrderedCollection of the Creates of her posts (every audience) and her boost
    outbox = json.loads(z.read("outbox.json"))
    assert outbox["type"] == "OrderedCollection" and outbox["totalItems"] == 3
    items = {i["type"] + ":" + (i["object"] if isinstance(i["object"], str) else i["object"]["id"]): i
             for i in outbox["orderedItems"]}
    assert set(items) == {f"Create:{post.uri}", f"Create:{local.uri}", f"Announce:{bobs.uri}"}
    note = items[f"Create:{post.uri}"]["object"]
    assert note["content"] == post.content_html and "https://www.w3.org/ns/activitystreams#Public" in note["to"]
    assert items[f"Create:{local.uri}"]["object"]["audience_scope"] == "local"
    # And the file her Note names is in the archive, byte for byte
    [attachment] = note["attachment"]
    assert z.read(attachment["url"]) == b"%PDF-1.4 roadmap" and attachment["url"].endswith(pdf.storage_key or "")
    # And actor.json, likes.json and bookmarks.json are hers
    assert json.loads(z.read("actor.json"))["preferredUsername"] == "alice"
    assert json.loads(z.read("likes.json"))["orderedItems"] == [bobs.uri]
    assert json.loads(z.read("bookmarks.json"))["orderedItems"] == [bobs.uri]
    # And nothing of bob's but the ids of what she liked
    assert "bob's news" not in data.decode("utf-8", "replace")


async def test_the_archive_needs_a_signed_in_person_and_the_form_token(node: LocalNode, browser: Browser) -> None:
    status, _ = await browser.page("/settings/export")
    assert status == 303  # to the sign-in page
    await browser.sign_in("alice")
    async with browser.http.post("/settings/export/archive", data={"csrf": "forged"}) as r:
        assert r.status == 403 and "Form expired" in await r.text()


async def test_follows_export_as_csv_in_mastodons_columns(node: LocalNode, browser: Browser) -> None:
    alice, bob, carol = await _people(node)
    # Given alice follows carol, and bob follows alice
    await follows.follow(node.ctx, alice, carol.id)
    await follows.follow(node.ctx, bob, alice.id)
    await browser.sign_in("alice")
    # When she downloads both lists
    async with browser.http.get("/settings/export/following_accounts.csv") as r:
        following = await r.text()
        assert r.headers["Content-Disposition"] == 'attachment; filename="following_accounts.csv"'
    async with browser.http.get("/settings/export/followers.csv") as r:
        followers = await r.text()
    # Then each is Mastodon's CSV
    assert following == f"Account address,Show boosts,Notify on new posts,Languages\ncarol@{node.ctx.domain},true,false,\n"
    assert followers == f"Account address\nbob@{node.ctx.domain}\n"


async def _following(node: LocalNode, account: Account) -> set[int]:
    async with node.ctx.db.reader() as s:
        return set(await s.scalars(select(Follow.target_id).where(Follow.follower_id == account.id)))


async def test_a_following_list_is_imported_and_a_bad_one_refused_whole(node: LocalNode, browser: Browser) -> None:
    alice, bob, carol = await _people(node)
    d = node.ctx.domain
    await browser.sign_in("alice")
    # When she imports a list with two bad lines among good ones
    bad = f"Account address,Show boosts\nbob@{d},true\nnot an address,true\ncarol@{d},maybe\n".encode()
    status, text = await browser.upload(bad)
    # Then nothing is followed and the page names each bad line
    assert status == 422
    assert "Line 3" in text and "Line 4" in text and "not an account address" in text and "Show boosts" in text
    assert await _following(node, alice) == set()
    # When she imports a good list (yourself and someone unknown are reported, the rest followed)
    good = f"Account address,Show boosts,Notify on new posts,Languages\nbob@{d},true,false,\n@carol@{d},false,false,\n" \
           f"alice@{d},true,false,\nnobody@{d},true,false,\n".encode()
    status, text = await browser.upload(good)
    assert status == 200, text
    assert "2 followed" in text and "2 not followed" in text and "that is you" in text and "no such account here" in text
    assert await _following(node, alice) == {bob.id, carol.id}
    # And importing it again changes nothing
    status, text = await browser.upload(good)
    assert "2 followed already" in text and await _following(node, alice) == {bob.id, carol.id}


@pytest.mark.parametrize("body, reason", [
    (b"\xff\xfe\x00b\x00o\x00b", "not UTF-8"),
    (b"bob@x.test\x00,true\n", "not a CSV text file"),
    (b"a@b.test\n" * 30000, "too large"),
    (b"", "Choose a CSV file"),
])
async def test_hostile_files_are_refused_with_a_reason(node: LocalNode, browser: Browser, body: bytes, reason: str) -> None:
    alice, _, _ = await _people(node)
    await browser.sign_in("alice")
    status, text = await browser.upload(body)
    assert status == 422 and reason in text and "Traceback" not in text
    assert await _following(node, alice) == set()


async def test_an_import_without_the_form_token_is_refused(node: LocalNode, browser: Browser) -> None:
    alice, _, _ = await _people(node)
    await browser.sign_in("alice")
    status, _ = await browser.upload(f"bob@{node.ctx.domain}\n".encode(), csrf="forged")
    assert status == 403
    assert await _following(node, alice) == set()
