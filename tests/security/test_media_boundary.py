"""The media boundary, over HTTP: `/media/<key>` answers a post's attachment exactly to the
post's audience, an upload not posted yet to its uploader alone, and 404 to everyone else (as
to a key never made); what it serves is never run or read as something else (CVE-2024-25623).

The local side of the audience matrix is here: every audience x the node's own readers (the
open web, a follower, an outsider with a token or a web session, a URL signed for the audience,
an expired and a forged signature). Peers' signed fetches, for every audience x trust level,
are the media column of tests/policy/test_outbound_matrix.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from multidict import CIMultiDict

from federation.vocab import AP_CONTENT_TYPE
from node import accounts, media_urls, moderation, posts
from node.audience import Audience
from node.posts import NewPost
from storage.media_store import LocalStore, new_key
from storage.models import Account, Follow
from storage.models.media import MediaRole, MediaState
from tests.conftest import StartNode
from tests.factory import PASSWORD, LocalNode
from tests.media_files import PNG, stored_media
from tests.security.conftest import sign_in
from tests.security.readers import web_sign_in


@dataclass
class People:
    node: LocalNode
    alice: Account  # the author
    bob: Account  # follows alice; her direct posts mention him
    carol: Account  # a local outsider
    http: aiohttp.ClientSession  # anyone: no cookie, no token
    tokens: dict[str, dict[str, str]]  # username -> bearer headers
    browser: aiohttp.ClientSession  # carol signed in to the web UI

    async def get(self, url: str, headers: dict[str, str] | None = None, *, method: str = "GET") -> tuple[int, bytes, CIMultiDict[str]]:
        async with self.http.request(method, url, headers=headers or {}) as r:
            return r.status, await r.read(), r.headers.copy()

    def signed_url(self, key: str, audience: Audience) -> str:
        assert self.node.ctx.media_url_key is not None
        return media_urls.media_url(self.node.ctx.base_url, key, audience, self.node.ctx.media_url_key)

    def bare(self, key: str) -> str:
        return f"{self.node.ctx.base_url}{media_urls.MEDIA_PATH}{key}"


@pytest.fixture
async def people(start_node: StartNode, tmp_path: Path) -> AsyncIterator[People]:
    # Given a node keeping its media in a folder, alice, bob who follows her, and carol
    node = await start_node(users=("alice", "bob", "carol"), instance=True, media=LocalStore(tmp_path / "media"))
    ctx = node.ctx
    alice, bob, carol = [await accounts.get_local(ctx, n) for n in ("alice", "bob", "carol")]
    async with ctx.db.session() as s:
        s.add(Follow(follower_id=bob.id, target_id=alice.id, state="accepted"))
    await media_urls.url_key(ctx)
    async with aiohttp.ClientSession(base_url=ctx.base_url, cookie_jar=aiohttp.DummyCookieJar()) as http:
        tokens = {name: await sign_in(http, name) for name in ("alice", "bob", "carol")}
        browser, _ = await web_sign_in(ctx.base_url, "carol", PASSWORD)
        try:
            yield People(node, alice, bob, carol, http, tokens, browser)
        finally:
            await browser.close()


Y, N = 200, 404
READERS = ("anonymous", "bob_token", "carol_token", "carol_web", "signed", "expired", "forged")
# audience -> the answer to each reader, by hand from docs/policy.md ("Audiences across the boundary") and
# node/visibility.py: the open web has what anyone may see; bob is in every audience; carol,
# a local outsider, is in `organization` and `local` (every local account is) but not in a
# followers-only or direct post's; a URL signed for the audience works for whoever holds it
# until it expires; an expired or forged signature is no signature.
# fmt: off
LOCAL: dict[Audience, tuple[int, ...]] = {
    #                      anonymous bob_token carol_token carol_web signed expired forged
    Audience.PUBLIC:       (Y,        Y,        Y,          Y,        Y,     Y,      Y),
    Audience.UNLISTED:     (Y,        Y,        Y,          Y,        Y,     Y,      Y),
    Audience.FOLLOWERS:    (N,        Y,        N,          N,        Y,     N,      N),
    Audience.DIRECT:       (N,        Y,        N,          N,        Y,     N,      N),
    Audience.ORGANIZATION: (N,        Y,        Y,          Y,        Y,     N,      N),
    Audience.LOCAL:        (N,        Y,        Y,          Y,        Y,     N,      N),
}
# fmt: on


async def test_each_audiences_media_reaches_exactly_its_local_readers(people: People) -> None:
    # Given one post of each audience by alice (the direct one mentions bob), each with a picture
    ctx = people.node.ctx
    keys: dict[Audience, str] = {}
    for audience in Audience:
        post = await posts.create_post(ctx, people.alice, NewPost(f"{audience} @bob", visibility=audience))
        keys[audience] = (await stored_media(ctx, people.alice, post=post)).storage_key or ""
    assert ctx.media_url_key is not None
    # When each reader asks for each picture
    seen: dict[Audience, tuple[int, ...]] = {}
    for audience, key in keys.items():
        expired = int(time.time()) - 60
        forged = people.signed_url(key, Audience.FOLLOWERS).rsplit("=", 1)[0] + "=" + "A" * 43
        answers = {
            "anonymous": (await people.get(people.bare(key)))[0],
            "bob_token": (await people.get(people.bare(key), people.tokens["bob"]))[0],
            "carol_token": (await people.get(people.bare(key), people.tokens["carol"]))[0],
            "signed": (await people.get(people.signed_url(key, Audience.FOLLOWERS)))[0],
            "expired": (await people.get(
                f"{people.bare(key)}?exp={expired}&sig={media_urls.signature(ctx.media_url_key, key, expired)}"))[0],
            "forged": (await people.get(forged))[0],
        }
        async with people.browser.get(f"{media_urls.MEDIA_PATH}{key}") as r:
            answers["carol_web"] = r.status
        seen[audience] = tuple(answers[reader] for reader in READERS)
    # Then each is answered as the table says: the picture, or 404
    assert seen == LOCAL


async def test_an_upload_not_posted_yet_is_its_uploaders_alone(people: People) -> None:
    # Given alice's upload, attached to no post yet
    row = await stored_media(people.node.ctx, people.alice)
    key = row.storage_key or ""
    # When alice, bob and the open web ask for it; and a URL signed for alice is used
    answers = {
        "alice": (await people.get(people.bare(key), people.tokens["alice"]))[0],
        "bob": (await people.get(people.bare(key), people.tokens["bob"]))[0],
        "anonymous": (await people.get(people.bare(key)))[0],
        "signed": (await people.get(people.signed_url(key, Audience.DIRECT)))[0],
    }
    # Then only alice (or her signed URL) has it
    assert answers == {"alice": Y, "bob": N, "anonymous": N, "signed": Y}


async def test_a_deleted_posts_media_is_nobodys(people: People) -> None:
    # Given alice's followers-only post with a picture, and a URL signed for it
    ctx = people.node.ctx
    post = await posts.create_post(ctx, people.alice, NewPost("soon gone", visibility=Audience.FOLLOWERS))
    key = (await stored_media(ctx, people.alice, post=post)).storage_key or ""
    signed = people.signed_url(key, Audience.FOLLOWERS)
    assert (await people.get(signed))[0] == Y
    # When alice deletes the post
    await posts.delete_post(ctx, people.alice, post.id)
    # Then the picture is gone for everyone: alice herself, her follower, the signed URL
    answers = {
        "alice": (await people.get(people.bare(key), people.tokens["alice"]))[0],
        "bob": (await people.get(people.bare(key), people.tokens["bob"]))[0],
        "signed": (await people.get(signed))[0],
    }
    assert answers == {"alice": N, "bob": N, "signed": N}


async def test_avatars_and_headers_are_plain(people: People) -> None:
    # Given alice's avatar and header
    avatar = await stored_media(people.node.ctx, people.alice, role=MediaRole.AVATAR)
    header = await stored_media(people.node.ctx, people.alice, role=MediaRole.HEADER)
    # When the open web asks for them, Then it has them, cacheable by anyone
    for row in (avatar, header):
        status, body, headers = await people.get(people.bare(row.storage_key or ""))
        assert (status, body, headers["Cache-Control"]) == (200, PNG, "public, max-age=86400")


async def test_keys_that_name_nothing_servable_answer_404(people: People) -> None:
    # Given an upload still being processed, and a post whose author staff suspended
    ctx = people.node.ctx
    processing = await stored_media(ctx, people.alice, post=await posts.create_post(ctx, people.alice, NewPost("p")),
                                    state=MediaState.PROCESSING)
    await accounts.create_user(ctx, "mallory", PASSWORD)
    mallory = await accounts.get_local(ctx, "mallory")
    suspended = await stored_media(ctx, mallory, post=await posts.create_post(ctx, mallory, NewPost("gone")))
    admin = await accounts.create_user(ctx, "root", PASSWORD, role="admin")
    await moderation.moderate_account(ctx, admin, mallory.id, "suspend")
    # When anyone asks for them, a key never made, and names that are no key at all
    never = new_key("png")
    paths = [people.bare(never), people.bare(processing.storage_key or ""), people.bare(suspended.storage_key or ""),
             people.signed_url(suspended.storage_key or "", Audience.FOLLOWERS),
             *(f"{ctx.base_url}/media/{name}" for name in ("x", "..%2f..%2fatrium.toml", "..%5catrium.toml", never.upper(),
                                                            f"{never}%00.png", "a" * 300))]
    answers = {path: (await people.get(path, people.tokens["alice"]))[0] for path in paths}
    # Then each is 404, the same answer as for a key never made
    assert answers == dict.fromkeys(paths, 404)


@pytest.mark.parametrize("stored", ["application/activity+json", "application/ld+json", "application/json",
                                    "text/html", "image/svg+xml", "application/javascript"])
async def test_a_stored_actor_document_is_never_served_as_one(people: People, stored: str) -> None:
    # Given a file whose bytes are an ActivityPub actor (CVE-2024-25623), stored with a type a
    # browser would run or a peer would read as ActivityStreams, attached to a public post
    ctx = people.node.ctx
    actor = json.dumps({"@context": ["https://www.w3.org/ns/activitystreams"], "id": people.bare("x"),
                        "type": "Person", "inbox": people.bare("inbox"), "publicKey": {"publicKeyPem": "x"}}).encode()
    post = await posts.create_post(ctx, people.alice, NewPost("an attachment"))
    row = await stored_media(ctx, people.alice, actor, stored, post=post, file_name="actor.json", extension="json")
    # When a peer asks for it as ActivityStreams
    status, body, headers = await people.get(people.bare(row.storage_key or ""), {"Accept": AP_CONTENT_TYPE})
    # Then it gets the bytes as an opaque download the browser may not sniff, in a sandbox
    assert (status, body) == (200, actor)
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Disposition"] == "attachment; filename=\"actor.json\"; filename*=utf-8''actor.json"
    assert headers["Content-Security-Policy"] == "default-src 'none'; sandbox"


async def test_pictures_inline_files_as_downloads_and_caching(people: People) -> None:
    # Given a public post with a picture, a followers-only post with a PDF named in Unicode
    ctx = people.node.ctx
    picture = await stored_media(ctx, people.alice, post=await posts.create_post(ctx, people.alice, NewPost("pic")))
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    report = await stored_media(ctx, people.alice, pdf, "application/pdf", extension="pdf", file_name="Bericht \"Q3\" für.pdf",
                                post=await posts.create_post(ctx, people.alice, NewPost("pdf", visibility=Audience.FOLLOWERS)))
    # When they are asked for (the PDF through a signed URL), then again with the ETag, and by HEAD
    status, body, shown = await people.get(people.bare(picture.storage_key or ""))
    again = (await people.get(people.bare(picture.storage_key or ""), {"If-None-Match": shown["ETag"]}))[0]
    head_status, head_body, head = await people.get(people.bare(picture.storage_key or ""), method="HEAD")
    pdf_status, pdf_body, download = await people.get(people.signed_url(report.storage_key or "", Audience.FOLLOWERS))
    # Then the picture is shown inline, cacheable by anyone, and not sent twice
    assert (status, body, shown["Content-Type"], shown["Cache-Control"]) == (200, PNG, "image/png", "public, max-age=86400")
    assert "Content-Disposition" not in shown and shown["X-Content-Type-Options"] == "nosniff"
    assert again == 304
    assert (head_status, head_body, head["Content-Type"], head["ETag"]) == (200, b"", "image/png", shown["ETag"])
    # and the PDF is a download under its own type and name, kept by the reader's client only
    assert (pdf_status, pdf_body, download["Content-Type"]) == (200, pdf, "application/pdf")
    assert download["Content-Disposition"] == (
        "attachment; filename=\"Bericht _Q3_ f_r.pdf\"; filename*=utf-8''Bericht%20%22Q3%22%20f%C3%BCr.pdf")
    assert download["Cache-Control"] == "private, max-age=3600"
