"""Avatars and headers (docs/architecture.md, node/avatars.py): every account has pictures —
its default ones (initials on a colour, drawn as PNG by the node) until it has its own; a
local account's uploaded pictures are named in its actor document (`icon`, `image`); a remote
account's are what its actor document names, recorded as media rows and shown in the account
entity by their URL.

Remote actors live on a fake peer over real HTTP on loopback; the node fetches them as a
signed-in user's search does (`/api/v2/search?resolve=true`).
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDictProxy
from PIL import Image
from sqlalchemy import select

from node import accounts, remote
from node.default_pictures import colour_of
from storage.media_store import new_key
from storage.models import Account, Job, MediaAttachment, MediaKind, MediaRole, MediaState
from tests.api.conftest import SignIn, auth
from tests.api.social import Client, account_id, admitting, call, node_of
from tests.factory import fake_peer
from tests.federation.fake_peer import FakePeer
from tests.media_files import PDF, SVG, picture

PNG = "image/png"


async def _png(api: Client, url: str, **headers: str) -> tuple[int, CIMultiDictProxy[str], bytes]:
    base = str(api.make_url("/"))
    assert url.startswith(base.rstrip("/")), url
    resp = await api.get(url.removeprefix(base.rstrip("/")), headers=headers)
    return resp.status, resp.headers, await resp.read()


async def test_an_account_without_pictures_shows_its_default_avatar_and_header(api: Client) -> None:
    # Given alice, who uploaded no picture, with a display name of two words
    ctx = node_of(api)
    alice = await account_id(api, "alice")
    await accounts.update_profile(ctx, int(alice), display_name="Ada Lovelace")
    # When anyone reads her account
    shown = await call(api, "GET", f"/api/v1/accounts/{alice}")
    # Then her avatar and header are the node's default pictures of her, never a dead link
    base = ctx.base_url
    assert shown["avatar"] == shown["avatar_static"] == f"{base}/avatars/default/{alice}.png"
    assert shown["header"] == shown["header_static"] == f"{base}/headers/default/{alice}.png"
    # And the avatar is a 400x400 PNG of her colour (its corner), cacheable by anyone
    status, headers, body = await _png(api, shown["avatar"])
    assert status == 200 and headers["Content-Type"] == PNG
    assert "public" in headers["Cache-Control"] and headers["X-Content-Type-Options"] == "nosniff"
    image = Image.open(io.BytesIO(body))
    assert image.size == (400, 400)
    assert image.convert("RGB").getpixel((2, 2)) == colour_of(f"alice@{ctx.domain}")
    # And her initials are drawn in white at its centre line
    assert any(image.convert("RGB").getpixel((x, 200)) == (255, 255, 255) for x in range(100, 300))
    # And the header is Mastodon's header size, a lighter shade of the same colour
    status, headers, body = await _png(api, shown["header"])
    header = Image.open(io.BytesIO(body))
    assert status == 200 and header.size == (1500, 500)
    assert all(c >= o for c, o in zip(header.convert("RGB").getpixel((0, 0)), colour_of(f"alice@{ctx.domain}"), strict=True))


async def test_a_default_avatar_comes_in_the_sizes_listed_and_is_the_same_each_time(api: Client) -> None:
    # Given bob's default avatar
    bob = await account_id(api, "bob")
    url = f"{node_of(api).base_url}/avatars/default/{bob}.png"
    # When it is asked at 96 pixels, twice
    status, headers, body = await _png(api, f"{url}?size=96")
    again = await _png(api, f"{url}?size=96")
    # Then it is 96x96, and the same picture with the same ETag
    assert status == 200 and Image.open(io.BytesIO(body)).size == (96, 96)
    assert again[2] == body and again[1]["ETag"] == headers["ETag"]
    # And a client that holds it is told it has not changed
    status, _, body304 = await _png(api, f"{url}?size=96", **{"If-None-Match": headers["ETag"]})
    assert status == 304 and body304 == b""
    # And a size not listed is refused with the reason, as is one that is not a number
    for size in ("97", "5000", "x"):
        resp = await api.get(f"/avatars/default/{bob}.png", params={"size": size})
        assert resp.status == 422 and "size" in (await resp.json())["error"], size
    # And an account that does not exist has no picture
    for missing in ("1", "99999999999999999999"):
        assert (await api.get(f"/avatars/default/{missing}.png")).status == 404
        assert (await api.get(f"/headers/default/{missing}.png")).status == 404


async def _uploaded(api: Client, username: str, role: MediaRole, key: str) -> None:
    """A picture the account uploaded, as media-core's upload leaves it: a ready row whose
    bytes are in the store under `key`, the account pointing at it."""
    async with node_of(api).db.session() as s:
        account = await s.scalar(select(Account).where(Account.username == username, Account.domain.is_(None)))
        assert account is not None
        row = MediaAttachment(account_id=account.id, role=role.value, kind=MediaKind.IMAGE.value,
                              state=MediaState.READY.value, content_type="image/png", storage_key=key)
        s.add(row)
        await s.flush()
        if role == MediaRole.AVATAR:
            account.avatar_id = row.id
        else:
            account.header_id = row.id


async def test_a_local_accounts_uploaded_pictures_are_in_its_actor_document_and_account(api: Client) -> None:
    # Given alice, whose actor document names no picture while she has none
    ctx = node_of(api)
    resp = await api.get("/users/alice", headers={"Accept": "application/activity+json"})
    assert "icon" not in await resp.json(content_type=None)
    # When she has an avatar and a header of her own
    avatar, header = new_key("png"), new_key("png")
    await _uploaded(api, "alice", MediaRole.AVATAR, avatar)
    await _uploaded(api, "alice", MediaRole.HEADER, header)
    # Then her actor document names them as Mastodon does: an Image with its type and URL
    resp = await api.get("/users/alice", headers={"Accept": "application/activity+json"})
    document = await resp.json(content_type=None)
    assert document["icon"] == {"type": "Image", "mediaType": PNG, "url": f"{ctx.base_url}/media/{avatar}"}
    assert document["image"] == {"type": "Image", "mediaType": PNG, "url": f"{ctx.base_url}/media/{header}"}
    # And her account shows them (plain URLs: pictures of people are public)
    shown = await call(api, "GET", f"/api/v1/accounts/{await account_id(api, 'alice')}")
    assert shown["avatar"] == shown["avatar_static"] == document["icon"]["url"]
    assert shown["header"] == shown["header_static"] == document["image"]["url"]
    # And bob, who has none, still shows his defaults
    bob = await call(api, "GET", f"/api/v1/accounts/{await account_id(api, 'bob')}")
    assert bob["avatar"].endswith(f"/avatars/default/{bob['id']}.png")


@pytest.fixture
async def peer(api: Client) -> AsyncIterator[FakePeer]:
    """A fake peer with dana (an avatar and a header, as Mastodon sends them), eli (none),
    and the API's node able to fetch from it."""
    async with fake_peer("dana", "eli") as fake, admitting(api, fake):
        fake.actor_extra["dana"] = {
            "icon": {"type": "Image", "mediaType": "image/jpeg", "url": f"{fake.base}/pics/dana.jpg"},
            "image": {"type": "Image", "mediaType": "image/png", "url": f"{fake.base}/pics/dana-header.png"},
        }
        yield fake


async def _rows(api: Client, account: str) -> list[MediaAttachment]:
    async with node_of(api).db.reader() as s:
        return list(await s.scalars(select(MediaAttachment).where(MediaAttachment.account_id == int(account))
                                    .order_by(MediaAttachment.role)))


async def test_a_remote_accounts_icon_and_image_are_recorded_and_shown(api: Client, sign_in: SignIn, peer: FakePeer) -> None:
    token = await sign_in("alice")
    # Given dana, whose actor document names an avatar and a header
    # When a signed-in user looks her up by URL
    found = await call(api, "GET", "/api/v2/search", token, params={"q": peer.actor("dana"), "resolve": "true"})
    (listed,) = found["accounts"]
    shown = await call(api, "GET", f"/api/v1/accounts/{listed['id']}")
    # Then her account shows her pictures by the peer's URLs, in the search and when read again
    for entity in (listed, shown):
        assert entity["avatar"] == entity["avatar_static"] == f"{peer.base}/pics/dana.jpg"
        assert entity["header"] == entity["header_static"] == f"{peer.base}/pics/dana-header.png"
    # And each is a media row of hers, kept by reference (no bytes here), ready
    avatar, header = await _rows(api, listed["id"])
    assert (avatar.role, avatar.remote_url, avatar.storage_key, avatar.state, avatar.content_type) == (
        MediaRole.AVATAR, f"{peer.base}/pics/dana.jpg", None, MediaState.READY, "image/jpeg")
    assert (header.role, header.remote_url) == (MediaRole.HEADER, f"{peer.base}/pics/dana-header.png")
    # And eli, whose document names none, shows the defaults and has no rows
    found = await call(api, "GET", "/api/v2/search", token, params={"q": peer.actor("eli"), "resolve": "true"})
    (eli,) = found["accounts"]
    assert eli["avatar"].endswith(f"/avatars/default/{eli['id']}.png") and await _rows(api, eli["id"]) == []
    # And the web UI shows dana with the default drawn here, loading nothing from the peer
    page = await (await api.get(f"/@dana@{peer.domain}")).text()
    assert f'src="/avatars/default/{listed["id"]}.png?size=192"' in page and peer.base not in page.split("<main")[1]


async def test_a_remote_account_that_changes_or_drops_its_pictures_is_shown_as_it_now_is(api: Client, sign_in: SignIn, peer: FakePeer) -> None:
    # Given dana, stored with her avatar and header
    token = await sign_in("alice")
    found = await call(api, "GET", "/api/v2/search", token, params={"q": peer.actor("dana"), "resolve": "true"})
    dana = found["accounts"][0]["id"]
    # When her avatar changes and her header goes, and the node reads her document again
    peer.actor_extra["dana"] = {"icon": {"type": "Image", "url": f"{peer.base}/pics/dana-2.webp"}}
    await remote.fetch_actor(node_of(api), peer.actor("dana"))
    # Then her account shows the new avatar and the default header
    shown = await call(api, "GET", f"/api/v1/accounts/{dana}")
    assert shown["avatar"] == f"{peer.base}/pics/dana-2.webp"
    assert shown["header"].endswith(f"/headers/default/{dana}.png")
    # And only the new avatar's row is left
    (row,) = await _rows(api, dana)
    assert (row.role, row.remote_url, row.content_type) == (MediaRole.AVATAR, f"{peer.base}/pics/dana-2.webp",
                                                            "application/octet-stream")
    # When her document is read again unchanged, the row stays the same one
    await remote.fetch_actor(node_of(api), peer.actor("dana"))
    assert [r.id for r in await _rows(api, dana)] == [row.id]


async def test_pictures_a_peer_may_not_plant_are_left_out(api: Client, sign_in: SignIn, peer: FakePeer) -> None:
    # Given dana's document naming a script URL as avatar and an SVG (which may carry script)
    # as header
    peer.actor_extra["dana"] = {
        "icon": {"type": "Image", "url": "javascript:alert(1)"},
        "image": {"type": "Image", "mediaType": "image/svg+xml", "url": f"{peer.base}/pics/x.svg"},
    }
    token = await sign_in("alice")
    # When the node reads it
    found = await call(api, "GET", "/api/v2/search", token, params={"q": peer.actor("dana"), "resolve": "true"})
    (dana,) = found["accounts"]
    # Then she is stored, with the default pictures and no media rows
    assert dana["avatar"].endswith(f"/avatars/default/{dana['id']}.png")
    assert dana["header"].endswith(f"/headers/default/{dana['id']}.png")
    assert await _rows(api, dana["id"]) == []


async def _patch(api: Client, token: str, files: dict[str, bytes], **fields: str) -> tuple[int, Any]:
    """`PATCH /api/v1/accounts/update_credentials` as a multipart form, as apps send pictures."""
    form = aiohttp.FormData()
    for name, data in files.items():
        form.add_field(name, data, filename=f"{name}.bin", content_type="application/octet-stream")
    for key, value in fields.items():
        form.add_field(key, value)
    resp = await api.patch("/api/v1/accounts/update_credentials", data=form, headers=auth(token))
    return resp.status, await resp.json()


async def _stored(api: Client, url: str) -> Image.Image:
    """The picture a media URL of this node names, read from its store (the /media route is
    served by web/media.py)."""
    key = url.split("/media/", 1)[1]
    store = node_of(api).media
    assert store is not None
    return Image.open(io.BytesIO(await store.get(key)))


async def test_an_uploaded_avatar_and_header_are_cropped_shown_and_sent_to_followers(api: Client, sign_in: SignIn) -> None:
    token = await sign_in("alice")
    ctx = node_of(api)
    # Given two pictures of the wrong shape for an avatar and a header
    # When alice uploads them as her avatar and header, with a new display name
    status, own = await _patch(api, token, {"avatar": picture("PNG", (800, 600)), "header": picture("JPEG", (1000, 1000))},
                               display_name="Alice A.")
    # Then her account shows them from this node's media, cropped and scaled as Mastodon's are
    assert status == 200, own
    assert own["display_name"] == "Alice A."
    assert own["avatar"].startswith(f"{ctx.base_url}/media/") and own["avatar_static"] == own["avatar"]
    assert own["header"].startswith(f"{ctx.base_url}/media/") and own["header_static"] == own["header"]
    assert (await _stored(api, own["avatar"])).size == (400, 400)
    assert (await _stored(api, own["header"])).size == (1500, 500)
    # And everyone reading her account sees them, as does her actor document
    shown = await call(api, "GET", f"/api/v1/accounts/{own['id']}")
    assert (shown["avatar"], shown["header"]) == (own["avatar"], own["header"])
    resp = await api.get("/users/alice", headers={"Accept": "application/activity+json"})
    document = await resp.json(content_type=None)
    assert document["icon"] == {"type": "Image", "mediaType": "image/png", "url": own["avatar"]}
    assert document["image"] == {"type": "Image", "mediaType": "image/jpeg", "url": own["header"]}
    # And an Update of her actor is queued for her followers' nodes, once per picture
    async with ctx.db.reader() as s:
        fanouts = [json.loads(j.payload) for j in await s.scalars(select(Job).where(Job.queue == "fanout"))]
    assert [f["kind"] for f in fanouts] == ["ActorUpdate", "ActorUpdate"]


async def test_a_new_avatar_replaces_the_old_one_and_removing_it_brings_the_default_back(api: Client, sign_in: SignIn) -> None:
    token = await sign_in("alice")
    store = node_of(api).media
    assert store is not None
    # Given alice with an avatar
    _, first = await _patch(api, token, {"avatar": picture("PNG")})
    old_key = first["avatar"].split("/media/", 1)[1]
    # When she uploads another
    _, second = await _patch(api, token, {"avatar": picture("JPEG")})
    # Then the new one shows, and the old one's row and bytes are gone
    assert second["avatar"] != first["avatar"] and second["avatar"].endswith(".jpg")
    assert not await store.exists(old_key)
    assert [r.storage_key for r in await _rows(api, second["id"])] == [second["avatar"].split("/media/", 1)[1]]
    # When she removes it, as Mastodon's apps do
    removed = await call(api, "DELETE", "/api/v1/profile/avatar", token)
    # Then her default avatar shows again, and nothing of the picture is kept
    assert removed["avatar"].endswith(f"/avatars/default/{second['id']}.png")
    assert await _rows(api, second["id"]) == [] and not await store.exists(second["avatar"].split("/media/", 1)[1])
    # And removing a header she never had is no error
    assert (await call(api, "DELETE", "/api/v1/profile/header", token))["header"].endswith(".png")


@pytest.mark.parametrize(
    ("files", "fields", "reason"),
    [
        ({"avatar": PDF}, {}, "must be a picture"),
        ({"header": SVG}, {}, "not accepted"),
        ({"avatar": picture("PNG")}, {"display_name": "x" * 1000}, "display name too long"),
    ],
)
async def test_a_refused_picture_or_profile_changes_nothing(
    api: Client, sign_in: SignIn, files: dict[str, bytes], fields: dict[str, str], reason: str
) -> None:
    token = await sign_in("alice")
    # Given alice's profile as it is
    before = await call(api, "GET", "/api/v1/accounts/verify_credentials", token)
    # When she sends a file that is no picture, or a picture beside a text that is refused
    status, body = await _patch(api, token, files, note="a new bio", **fields)
    # Then it is refused with the reason, and nothing of the request is written
    assert status == 422 and reason in body["error"], body
    after = await call(api, "GET", "/api/v1/accounts/verify_credentials", token)
    assert after == before and await _rows(api, before["id"]) == []
