"""Media through the client API: uploading each type (decided from the bytes), the caps, EXIF
gone from what is stored, attaching uploads to posts (`media_ids[]`) and editing them, and
`media_attachments` in status entities (web/api/media.py, node/media.py)."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from PIL import Image

from node import media
from node.context import NodeContext
from storage.errors import Invalid
from storage.models import Account
from storage.models.media import MediaRole
from tests import media_files
from tests.api.conftest import SignIn, auth
from web.keys import CTX

Client = TestClient[Any, Any]
JSON = dict[str, Any]


def _ctx(api: Client) -> NodeContext:
    return api.server.app[CTX]


async def _upload(
    api: Client, token: str, data: bytes, name: str = "file.bin", *, path: str = "/api/v2/media", **fields: str
) -> tuple[int, JSON]:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name, content_type="application/octet-stream")
    for key, value in fields.items():
        form.add_field(key, value)
    resp = await api.post(path, data=form, headers=auth(token))
    return resp.status, await resp.json()


async def _uploaded(api: Client, token: str, data: bytes, name: str = "file.bin", **fields: str) -> JSON:
    status, body = await _upload(api, token, data, name, **fields)
    assert status == 200, body
    return body


async def _post(api: Client, token: str, **data: Any) -> tuple[int, JSON]:
    resp = await api.post("/api/v1/statuses", json=data, headers=auth(token))
    return resp.status, await resp.json()


async def _account(api: Client, username: str) -> Account:
    from node import accounts

    return await accounts.get_local(_ctx(api), username)


@pytest.mark.parametrize(
    ("data", "name", "kind", "content_type"),
    [
        (media_files.picture("JPEG"), "photo.jpg", "image", "image/jpeg"),
        (media_files.picture("PNG"), "shot.png", "image", "image/png"),
        (media_files.picture("WEBP"), "pic.webp", "image", "image/webp"),
        (media_files.animated_gif(), "fun.gif", "image", "image/gif"),
        (media_files.PDF, "slides.jpg", "unknown", "application/pdf"),
        (media_files.docx(), "report.docx", "unknown",
         "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (media_files.legacy_xls(), "budget.xls", "unknown", "application/vnd.ms-excel"),
    ],
    ids=["jpeg", "png", "webp", "gif", "pdf-named-jpg", "docx", "xls"],
)
async def test_upload_each_type_decided_from_the_bytes(
    api: Client, sign_in: SignIn, data: bytes, name: str, kind: str, content_type: str
) -> None:
    # Given alice signed in
    token = await sign_in("alice")
    # When she uploads a file (a PDF named .jpg among them)
    body = await _uploaded(api, token, data, name, description="what it shows")
    # Then its type is the bytes' own, its name kept for display, its alt text kept
    assert (body["type"], body["atrium_content_type"], body["atrium_file_name"]) == (kind, content_type, name)
    assert body["description"] == "what it shows"
    # And it is stored under a generated key, not its name, and served from /media/
    row = await media.own_media(_ctx(api), await _account(api, "alice"), int(body["id"]))
    assert row.storage_key and name not in row.storage_key
    assert body["url"].startswith(f"{_ctx(api).base_url}/media/{row.storage_key}?exp=")
    # And pictures have their sizes, preview and blurhash; files have neither
    if kind == "image":
        assert body["meta"]["original"]["width"] > 0 and body["meta"]["small"]["width"] <= 640
        assert body["preview_url"] and body["blurhash"]
    else:
        assert body["preview_url"] is None and body["blurhash"] is None and "original" not in body["meta"]


@pytest.mark.parametrize("data", [media_files.HTML, media_files.JSON, media_files.SVG], ids=["html", "json", "svg"])
async def test_html_json_and_svg_are_refused_and_nothing_is_kept(api: Client, sign_in: SignIn, data: bytes) -> None:
    # Given alice signed in, and an empty media store
    token = await sign_in("alice")
    # When she uploads a page, an ActivityStreams document or an SVG named as a picture
    status, body = await _upload(api, token, data, "innocent.png")
    # Then each is refused with 422 and a reason, and the store holds nothing
    assert status == 422 and "not accepted" in body["error"]
    store = _ctx(api).media
    assert store is not None and [k async for k in store.keys()] == []


async def test_exif_gps_is_gone_from_the_stored_original(api: Client, sign_in: SignIn) -> None:
    # Given a photo whose EXIF carries the camera and a GPS position
    token = await sign_in("alice")
    photo = media_files.picture("JPEG", (640, 480), gps=True)
    # When alice uploads it
    body = await _uploaded(api, token, photo, "holiday.jpg")
    # Then the original kept in the store has no EXIF, no GPS, no camera name
    row = await media.own_media(_ctx(api), await _account(api, "alice"), int(body["id"]))
    store = _ctx(api).media
    assert store is not None and row.storage_key is not None
    kept = await store.get(row.storage_key)
    assert not Image.open(io.BytesIO(kept)).getexif() and b"SpyCam" not in kept


async def test_the_pixel_cap_refuses_a_bomb_before_decoding(api: Client, sign_in: SignIn) -> None:
    # Given a tiny PNG whose header claims 60000 x 60000 pixels
    token = await sign_in("alice")
    # When alice uploads it, Then it is refused for its pixels (it was never decoded)
    status, body = await _upload(api, token, media_files.png_claiming(60_000, 60_000), "bomb.png")
    assert status == 422 and "pixels" in body["error"]


async def test_a_body_over_the_cap_is_refused_from_its_length(api: Client, sign_in: SignIn) -> None:
    # Given caps of 10 KB
    ctx = _ctx(api)
    ctx.media_limits = replace(ctx.media_limits, max_image_bytes=10_000, max_file_bytes=10_000)
    token = await sign_in("alice")
    # When alice uploads 200 KB, Then 413
    status, body = await _upload(api, token, media_files.PDF + b" " * 200_000, "big.pdf")
    assert status == 413 and "too large" in body["error"]


async def test_an_upload_needs_a_file_and_the_media_scope(api: Client, sign_in: SignIn) -> None:
    token = await sign_in("alice")
    reader = await sign_in("alice", scope="read")
    resp = await api.post("/api/v2/media", data={"description": "no file"}, headers=auth(token))
    assert resp.status == 422
    assert (await _upload(api, reader, media_files.PDF))[0] == 403


async def test_post_with_media_shows_them_in_the_status_entity(api: Client, sign_in: SignIn) -> None:
    # Given alice uploaded a picture (with alt text and focus) and a PDF through v1
    token = await sign_in("alice")
    picture = await _uploaded(api, token, media_files.picture("PNG", (1280, 720)), "chart.png",
                              description="sales chart", focus="0.5,-0.25")
    status, pdf = await _upload(api, token, media_files.PDF, "q3.pdf", path="/api/v1/media")
    assert status == 200
    # When she posts them publicly with no text at all
    status, post = await _post(api, token, status="", media_ids=[picture["id"], pdf["id"]])
    # Then the status carries both, in order, in Mastodon's shape
    assert status == 200, post
    first, second = post["media_attachments"]
    assert (first["id"], first["type"], second["id"], second["type"]) == (picture["id"], "image", pdf["id"], "unknown")
    assert first["meta"]["original"] == {"width": 1280, "height": 720, "size": "1280x720", "aspect": 1280 / 720}
    assert first["meta"]["small"]["width"] == 640 and first["meta"]["focus"] == {"x": 0.5, "y": -0.25}
    assert first["description"] == "sales chart" and first["blurhash"] and first["remote_url"] is None
    # And a public post's media has plain URLs
    assert "?" not in first["url"] and "?" not in first["preview_url"] and first["url"].endswith(".png")
    # And reading it back, anonymously too, shows the same
    again = await (await api.get(f"/api/v1/statuses/{post['id']}")).json()
    assert [m["id"] for m in again["media_attachments"]] == [picture["id"], pdf["id"]]
    timeline = await (await api.get("/api/v1/timelines/public")).json()
    assert [m["id"] for m in timeline[0]["media_attachments"]] == [picture["id"], pdf["id"]]


async def test_a_followers_only_posts_media_has_signed_urls(api: Client, sign_in: SignIn) -> None:
    token = await sign_in("alice")
    picture = await _uploaded(api, token, media_files.picture("JPEG"), "private.jpg")
    status, post = await _post(api, token, status="for my followers", visibility="private", media_ids=[picture["id"]])
    assert status == 200
    [shown] = post["media_attachments"]
    assert "?exp=" in shown["url"] and "&sig=" in shown["url"] and "?exp=" in shown["preview_url"]


@pytest.mark.parametrize("where", ["text", "alt text"])
async def test_a_public_post_kept_from_the_open_web_has_signed_urls(api: Client, sign_in: SignIn, where: str) -> None:
    # Given the node's content rule keeps "confidential" posts from the open web, and alice's
    # public post with a picture that says so in its text or in the picture's alt text
    token = await sign_in("alice")
    alt = "the confidential chart" if where == "alt text" else "a chart"
    text = "the confidential roadmap" if where == "text" else "the roadmap"
    picture = await _uploaded(api, token, media_files.picture("JPEG"), "chart.jpg", description=alt)
    status, post = await _post(api, token, status=text, visibility="public", media_ids=[picture["id"]])
    assert status == 200
    # When she is shown the post
    [shown] = post["media_attachments"]
    # Then its picture's URL is signed, as a non-public post's is: the bare path answers the
    # open web 404, so an app loading it without credentials needs the signature
    assert "?exp=" in shown["url"] and "&sig=" in shown["url"]
    bare = shown["url"].split("?", 1)[0].removeprefix(_ctx(api).base_url)
    assert (await api.get(bare)).status == 404
    assert (await api.get(shown["url"].removeprefix(_ctx(api).base_url))).status == 200


async def test_media_ids_refused_when_not_ones_own_attached_or_too_many(api: Client, sign_in: SignIn) -> None:
    # Given alice's five uploads and bob's one
    alice, bob = await sign_in("alice"), await sign_in("bob")
    pdf = media_files.PDF
    mine = [(await _uploaded(api, alice, pdf, f"{n}.pdf"))["id"] for n in range(5)]
    bobs = (await _uploaded(api, bob, pdf, "bob.pdf"))["id"]
    # When alice posts with bob's upload, with five, or with an unknown id
    for ids in ([bobs], mine, ["123456789"], ["not-an-id"]):
        status, body = await _post(api, alice, status="look", media_ids=ids)
        # Then each is refused with 422 and nothing is posted
        assert status == 422, body
    # And one attached to a post cannot be attached to another
    assert (await _post(api, alice, status="first", media_ids=mine[:1]))[0] == 200
    status, body = await _post(api, alice, status="second", media_ids=mine[:2])
    assert status == 422 and "cannot be attached" in body["error"]
    statuses = await (await api.get("/api/v1/timelines/public")).json()
    assert [s["content"] for s in statuses] == ["<p>first</p>"]
    # And bob's upload is still his to post
    assert (await _post(api, bob, status="mine", media_ids=[bobs]))[0] == 200


async def test_edit_changes_the_attachments(api: Client, sign_in: SignIn) -> None:
    # Given alice's post with one picture, and two more uploads
    token = await sign_in("alice")
    one, two, three = [(await _uploaded(api, token, media_files.picture("PNG", (60, 40)), f"{n}.png"))["id"] for n in "abc"]
    _, post = await _post(api, token, status="v1", media_ids=[one])
    # When she edits it to carry the other two, in her order
    resp = await api.put(f"/api/v1/statuses/{post['id']}", json={"status": "v2", "media_ids": [three, two]},
                         headers=auth(token))
    edited = await resp.json()
    # Then the post carries those two, in that order
    assert resp.status == 200, edited
    assert [m["id"] for m in edited["media_attachments"]] == [three, two]
    # And an edit that does not name media keeps them
    resp = await api.put(f"/api/v1/statuses/{post['id']}", data={"status": "v3"}, headers=auth(token))
    assert [m["id"] for m in (await resp.json())["media_attachments"]] == [three, two]
    # And the history shows each version's own attachments, the dropped one in the first
    history = await (await api.get(f"/api/v1/statuses/{post['id']}/history", headers=auth(token))).json()
    assert [[m["id"] for m in v["media_attachments"]] for v in history] == [[one], [three, two], [three, two]]
    assert history[0]["media_attachments"][0]["meta"]["original"]["width"] == 60
    # And the dropped one stays the post's: it cannot be posted elsewhere
    assert (await _post(api, token, status="again", media_ids=[one]))[0] == 422
    # And an edit may bring it back, and may leave the post with no attachment
    resp = await api.put(f"/api/v1/statuses/{post['id']}", json={"status": "v4", "media_ids": [one]}, headers=auth(token))
    assert [m["id"] for m in (await resp.json())["media_attachments"]] == [one]
    resp = await api.put(f"/api/v1/statuses/{post['id']}", json={"status": "v5", "media_ids": []}, headers=auth(token))
    assert (await resp.json())["media_attachments"] == []
    # But not with neither text nor attachment
    resp = await api.put(f"/api/v1/statuses/{post['id']}", json={"status": "", "media_ids": []}, headers=auth(token))
    assert resp.status == 422


async def test_get_and_put_ones_own_upload(api: Client, sign_in: SignIn) -> None:
    # Given alice's upload
    alice, bob = await sign_in("alice"), await sign_in("bob")
    upload = await _uploaded(api, alice, media_files.picture("JPEG"), "a.jpg")
    # When she changes its alt text and focus
    resp = await api.put(f"/api/v1/media/{upload['id']}", json={"description": "a lake", "focus": "-1,1"},
                         headers=auth(alice))
    changed = await resp.json()
    # Then it has them, and reading it shows them
    assert resp.status == 200, changed
    assert changed["description"] == "a lake" and changed["meta"]["focus"] == {"x": -1.0, "y": 1.0}
    shown = await (await api.get(f"/api/v1/media/{upload['id']}", headers=auth(alice))).json()
    assert shown["description"] == "a lake"
    # And bob can neither read nor change it: 404
    assert (await api.get(f"/api/v1/media/{upload['id']}", headers=auth(bob))).status == 404
    assert (await api.put(f"/api/v1/media/{upload['id']}", json={"description": "x"}, headers=auth(bob))).status == 404
    # And bad focus or alt text is refused
    for bad in ({"focus": "2,0"}, {"focus": "x"}, {"description": "d" * 1501}):
        assert (await api.put(f"/api/v1/media/{upload['id']}", json=bad, headers=auth(alice))).status == 422
    # And once posted it changes only by editing the post
    await _post(api, alice, status="posted", media_ids=[upload["id"]])
    assert (await api.put(f"/api/v1/media/{upload['id']}", json={"description": "y"}, headers=auth(alice))).status == 422


async def test_the_instance_tells_clients_the_media_limits(api: Client) -> None:
    for path in ("/api/v1/instance", "/api/v2/instance"):
        config = (await (await api.get(path)).json())["configuration"]
        assert config["statuses"]["max_media_attachments"] == 4
        limits = config["media_attachments"]
        assert limits["image_size_limit"] == 16 * 1024 * 1024 and limits["image_matrix_limit"] == 33_177_600
        assert "image/jpeg" in limits["supported_mime_types"] and "application/pdf" in limits["supported_mime_types"]
        assert "text/html" not in limits["supported_mime_types"]


async def test_an_avatar_is_a_400_px_square_with_plain_urls_and_never_a_document(api: Client, sign_in: SignIn) -> None:
    # Given alice, and a wide picture
    ctx, alice = _ctx(api), await _account(api, "alice")
    wide = media_files.picture("PNG", (1000, 500))
    # When it is uploaded as her avatar (as update_credentials does)
    row = await media.upload(ctx, alice, media.Upload(wide, "me.png"), role=MediaRole.AVATAR)
    # Then it is cropped to 400 x 400, and shown to everyone by plain URLs
    shown = await media.view(ctx, row)
    assert (row.role, row.width, row.height) == ("avatar", 400, 400)
    assert shown.url is not None and "?" not in shown.url
    # And it cannot be attached to a post
    status, _ = await _post(api, await sign_in("alice"), status="my face", media_ids=[str(row.id)])
    assert status == 422
    # And a PDF is no avatar
    with pytest.raises(Invalid, match="must be a picture"):
        await media.upload(ctx, alice, media.Upload(media_files.PDF), role=MediaRole.HEADER)

