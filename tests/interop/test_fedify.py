"""Atrium and a real Fedify 2.3.6 server, federating over loopback.

Fedify signs its requests RFC 9421 first and falls back to draft-cavage only when a peer refuses
the first knock ("double-knocking"); it attaches a Data Integrity proof (eddsa-jcs-2022, from
the actor's Ed25519 Multikey) and an RsaSignature2017 to what it sends, and embeds the Follow
object inside its Accept. Atrium signs draft-cavage. Each side admits the other; everything
between them crosses real HTTP, signed, and each assertion reads what the other side stored or
recorded after verifying.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from federation.vocab import id_of
from node import follows, media, notifications, posts, remote
from node.pagination import Page
from node.posts import NewPost
from storage.models import InboxEntry, Post
from storage.models.media import MediaKind
from tests.federation.nodes import NodeProcess, eventually
from tests.interop.fedify_peer import CAVAGE, RFC9421, FedifyPeer, ensure_fedify


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProcess, FedifyPeer]]:
    node_binary = ensure_fedify()
    root: Path = tmp_path_factory.mktemp("fedify")
    atrium = NodeProcess("atrium", root)
    fedify = FedifyPeer(root)
    atrium.init()
    atrium.write_policy(f'mode = "allowlist"\n[peers."{fedify.domain}"]\ntrust = "public"\n')
    atrium.create_user("alice")
    atrium.create_user("bob")
    try:
        fedify.start(node_binary)
        atrium.start()
        yield atrium, fedify
    finally:
        atrium.stop()
        fedify.stop()


async def _follows_fedify(atrium: NodeProcess, fedify: FedifyPeer, username: str) -> bool:
    async with atrium.act() as ctx:
        me = await atrium.user(ctx, username)
        fedi = await remote.resolve_handle(ctx, fedify.handle)
        return (await follows.relationship(ctx, me, fedi.id))["following"]


async def _stored(atrium: NodeProcess, uri: str) -> Post | None:
    async with atrium.act() as ctx, ctx.db.reader() as s:
        return await s.scalar(select(Post).where(Post.uri == uri))


async def _inbox_outcome(atrium: NodeProcess, activity_id: str) -> str | None:
    async with atrium.act() as ctx, ctx.db.reader() as s:
        entry = await s.scalar(select(InboxEntry).where(InboxEntry.activity_id == activity_id))
    return None if entry is None or entry.outcome == "queued" else f"{entry.outcome}: {entry.reason or ''}"


async def _received(fedify: FedifyPeer, type_: str, **where: str) -> dict[str, Any] | None:
    for entry in await fedify.received():
        if entry["type"] == type_ and all(entry.get(k) == v for k, v in where.items()):
            return entry
    return None


def _sent_to(sent: list[dict[str, Any]], atrium: NodeProcess, activity_id: str) -> list[dict[str, Any]]:
    return [
        r for r in sent
        if r["url"].startswith(atrium.base_url) and isinstance(r["activity"], dict) and r["activity"].get("id") == activity_id
    ]


async def _fedify_follows(atrium: NodeProcess, fedify: FedifyPeer, username: str) -> str:
    """The Fedify actor follows `username` on Atrium; returns the Follow's id once Accepted."""
    follow_id = await fedify.follow(f"{atrium.base_url}/users/{username}")
    await eventually(lambda: _received(fedify, "Accept", object_id=follow_id), timeout=30, what="Atrium's Accept at Fedify")
    return follow_id


async def test_atrium_user_follows_fedify_and_the_accept_embedding_the_follow_is_honoured(pair: tuple[NodeProcess, FedifyPeer]) -> None:
    atrium, fedify = pair
    # Given alice on Atrium follows the Fedify actor by its handle (WebFinger, then the actor)
    async with atrium.act() as ctx:
        alice = await atrium.user(ctx, "alice")
        fedi = await remote.resolve_handle(ctx, fedify.handle)
        assert fedi.actor_uri == fedify.actor_uri and fedi.key_id == f"{fedify.actor_uri}#main-key"
        follow = await follows.follow(ctx, alice, fedi.id)
    assert follow.state == "pending" and follow.uri
    # Then Fedify verifies Atrium's draft-cavage Follow …
    got = await eventually(lambda: _received(fedify, "Follow", id=follow.uri), timeout=30, what="alice's Follow at Fedify")
    assert got["spec"] == CAVAGE and got["object_id"] == fedify.actor_uri
    # … and answers with an Accept whose object is that Follow, embedded, which Atrium honours
    await eventually(lambda: _follows_fedify(atrium, fedify, "alice"), timeout=30, what="alice's follow accepted at Atrium")
    accepts = [
        r for r in await fedify.sent()
        if isinstance(r["activity"], dict) and r["activity"].get("type") == "Accept"
        and isinstance(r["activity"].get("object"), dict) and r["activity"]["object"].get("id") == follow.uri
    ]
    assert accepts, "Fedify sent no Accept embedding alice's Follow"
    accept = accepts[-1]["activity"]
    assert accept["object"]["type"] == "Follow"
    # (Fedify embeds the Follow as its listener saw it: with alice's actor document, dereferenced)
    assert id_of(accept["object"]["actor"]) == f"{atrium.base_url}/users/alice"
    assert accept["object"]["object"] == fedify.actor_uri
    assert await _inbox_outcome(atrium, accept["id"]) == "done: "


async def test_fedify_follows_an_atrium_user_and_atrium_accept_reaches_fedify(pair: tuple[NodeProcess, FedifyPeer]) -> None:
    atrium, fedify = pair
    # When the Fedify actor follows bob
    follow_id = await _fedify_follows(atrium, fedify, "bob")
    # Then Atrium's Accept, signed draft-cavage, was verified by Fedify and embeds the Follow
    accept = await _received(fedify, "Accept", object_id=follow_id)
    assert accept is not None
    assert accept["actor"] == f"{atrium.base_url}/users/bob"
    assert accept["spec"] == CAVAGE
    embedded = accept["raw"]["object"]
    assert isinstance(embedded, dict) and embedded["type"] == "Follow" and embedded["id"] == follow_id
    # And Atrium counts the Fedify actor among bob's followers
    async with atrium.act() as ctx:
        bob = await atrium.user(ctx, "bob")
        assert fedify.actor_uri in [a.actor_uri for a in await follows.followers(ctx, bob.id, Page())]
    # And Fedify's Follow reached Atrium with an RFC 9421 signature on the first knock
    sent = _sent_to(await fedify.sent(), atrium, follow_id)
    assert sent and sent[0]["spec"] == RFC9421 and sent[0]["status"] == 202, sent


async def test_a_repeated_follow_from_fedify_gets_an_accept_of_its_own(pair: tuple[NodeProcess, FedifyPeer]) -> None:
    """Fedify dedupes inbound activities by id: an Accept that reused the id of an earlier one
    (one id per follow row, not per Follow) would be dropped unread, the new Follow left pending."""
    atrium, fedify = pair
    first = await _fedify_follows(atrium, fedify, "bob")
    second = await _fedify_follows(atrium, fedify, "bob")
    accepts = [await _received(fedify, "Accept", object_id=f) for f in (first, second)]
    assert first != second and accepts[0] and accepts[1] and accepts[0]["id"] != accepts[1]["id"]


async def test_fedify_create_note_signed_rfc9421_with_proof_is_stored(pair: tuple[NodeProcess, FedifyPeer]) -> None:
    atrium, fedify = pair
    # When the Fedify actor sends alice a public note that mentions her
    out = await fedify.post(f"{atrium.base_url}/users/alice", "hello from Fedify")
    # Then Atrium stores it as a remote, public post by the Fedify actor
    post = await eventually(lambda: _stored(atrium, out["note_id"]), timeout=30, what="Fedify's note at Atrium")
    assert not post.local and post.visibility == "public"
    assert "hello from Fedify" in post.content_html
    async with atrium.act() as ctx:
        alice = await atrium.user(ctx, "alice")
        fedi = await remote.resolve_handle(ctx, fedify.handle)
        assert post.account_id == fedi.id
        kinds = [(n.type, n.post_id) for n in await notifications.list_notifications(ctx, alice.id, Page(limit=40))]
    assert ("mention", post.id) in kinds
    assert await _inbox_outcome(atrium, out["activity_id"]) == "done: "
    # And it went out the Fedify way: RFC 9421 on the first knock, accepted at once (no
    # draft-cavage retry), with a Data Integrity proof from the Ed25519 Multikey and an
    # RsaSignature2017 in the body
    sent = _sent_to(await fedify.sent(), atrium, out["activity_id"])
    assert [(r["spec"], r["status"]) for r in sent] == [(RFC9421, 202)], sent
    assert 'keyid="' + fedify.actor_uri + '#main-key"' in (sent[0]["signature_input"] or "")
    activity = sent[0]["activity"]
    proof = activity["proof"]
    assert proof["type"] == "DataIntegrityProof" and proof["cryptosuite"] == "eddsa-jcs-2022"
    assert proof["verificationMethod"].startswith(f"{fedify.actor_uri}#multikey-")
    assert proof["proofPurpose"] == "assertionMethod" and proof["proofValue"].startswith("z")
    assert activity["signature"]["type"] == "RsaSignature2017"
    # And nothing Fedify ever sent Atrium needed the draft-cavage fallback
    to_atrium = [r for r in await fedify.sent() if r["url"].startswith(atrium.base_url)]
    assert to_atrium and all(r["spec"] == RFC9421 and r["status"] == 202 for r in to_atrium), to_atrium


async def test_atrium_post_reaches_fedify_signed_draft_cavage(pair: tuple[NodeProcess, FedifyPeer]) -> None:
    atrium, fedify = pair
    # Given the Fedify actor follows bob
    await _fedify_follows(atrium, fedify, "bob")
    # When bob posts publicly
    async with atrium.act() as ctx:
        bob = await atrium.user(ctx, "bob")
        post = await posts.create_post(ctx, bob, NewPost("Hello Fedify, from Atrium #interop"))
    assert post.uri
    # Then Fedify verifies the draft-cavage signature and hands the Create to its listener
    got = await eventually(
        lambda: _find_create(fedify, post.uri or ""), timeout=30, what="bob's post at Fedify"
    )
    assert got["spec"] == CAVAGE
    assert got["actor"] == f"{atrium.base_url}/users/bob"
    note = got["raw"]["object"]
    assert note["type"] == "Note" and note["attributedTo"] == got["actor"]
    assert "Hello Fedify, from Atrium" in note["content"]
    assert not await fedify.errors(), await fedify.errors()


async def _find_create(fedify: FedifyPeer, note_uri: str) -> dict[str, Any] | None:
    for entry in await fedify.received():
        if entry["type"] == "Create" and isinstance(entry["raw"], dict):
            obj = entry["raw"].get("object")
            if isinstance(obj, dict) and obj.get("id") == note_uri:
                return entry
    return None


async def test_fedify_attachments_are_stored_in_order_and_shown_by_reference(pair: tuple[NodeProcess, FedifyPeer]) -> None:
    atrium, fedify = pair
    photo = f"{fedify.base_url}/media/harbour.jpg"
    slides = f"{fedify.base_url}/media/q3.pdf"
    # When the Fedify actor sends alice a note with a picture (alt text, sizes), a PDF, and an
    # attachment whose URL is not http(s), each written by Fedify's vocabulary (Image, Document)
    out = await fedify.post(f"{atrium.base_url}/users/alice", "pictures from Fedify", [
        {"type": "Image", "url": photo, "mediaType": "image/jpeg", "name": "the harbour at dawn",
         "width": 1200, "height": 800},
        {"type": "Document", "url": slides, "mediaType": "application/pdf", "name": "Q3 slides"},
        {"type": "Image", "url": "ftp://127.0.0.1/cat.jpg", "mediaType": "image/jpeg", "name": "by ftp"},
    ])
    # Then Atrium stores the note, and the two usable attachments in order, by reference
    post = await eventually(lambda: _stored(atrium, out["note_id"]), timeout=30, what="Fedify's note at Atrium")
    assert await _inbox_outcome(atrium, out["activity_id"]) == "done: "
    async with atrium.act() as ctx:
        [views] = (await media.views_of(ctx, None, [post])).values()
    assert [(v.kind, v.remote_url, v.content_type, v.description) for v in views] == [
        (MediaKind.IMAGE, photo, "image/jpeg", "the harbour at dawn"),
        (MediaKind.UNKNOWN, slides, "application/pdf", "Q3 slides"),
    ]
    assert (views[0].width, views[0].height, views[0].file_name) == (1200, 800, "harbour.jpg")
    # And shown as Mastodon clients read them: the peer's URL, no bytes held here
    async with aiohttp.ClientSession() as http, http.get(f"{atrium.base_url}/api/v1/statuses/{post.id}") as resp:
        shown = (await resp.json())["media_attachments"]
    assert [(m["type"], m["url"], m["remote_url"], m["description"]) for m in shown] == [
        ("image", photo, photo, "the harbour at dawn"), ("unknown", slides, slides, "Q3 slides"),
    ]
