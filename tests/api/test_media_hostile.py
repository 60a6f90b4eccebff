"""Hostile uploads against the real upload endpoint (`POST /api/v2/media` on a node serving on
loopback): decompression bombs, polyglots, file names that try to be paths, a 1 GB
Content-Length, an SVG carrying script. Each is refused with a 4xx and a reason, or accepted
only as the picture it also is; nothing is written outside the media store, and the node
keeps answering (web/api/media.py, node/media.py, node/media_processing.py, web/media.py)."""

from __future__ import annotations

import asyncio
import gzip
import io
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from PIL import Image

from node.context import NodeContext
from storage.media_store import KEY_PATTERN, LocalStore
from tests import media_files
from tests.api.conftest import SignIn, auth
from web.keys import CTX

Client = TestClient[Any, Any]
JSON = dict[str, Any]
BOUNDARY = "atrium-hostile-boundary"


def _store(api: Client) -> LocalStore:
    ctx: NodeContext = api.server.app[CTX]
    assert isinstance(ctx.media, LocalStore)
    return ctx.media


def _multipart(data: bytes, filename: bytes, **fields: str) -> bytes:
    """A multipart body written by hand, so the file name is sent byte for byte as given (in
    `filename="..."`, or as the whole parameter when it is an RFC 5987 `filename*=`)."""
    name = filename if filename.startswith(b"filename*=") else b'filename="' + filename + b'"'
    parts = [
        b"--" + BOUNDARY.encode() + b"\r\n"
        + b'Content-Disposition: form-data; name="file"; ' + name + b"\r\n"
        + b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n"
    ]
    for name, value in fields.items():
        parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


async def _upload(api: Client, token: str, data: bytes, filename: bytes = b"file.bin") -> tuple[int, JSON]:
    resp = await api.post("/api/v2/media", data=_multipart(data, filename),
                          headers={**auth(token), "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    return resp.status, await resp.json()


def _real_png(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of `width` x `height` pixels, all white: a few hundred KB on the wire,
    gigabytes once decoded. Written row by row (Pillow would have to hold it whole)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    packer = zlib.compressobj(9)
    pixels = b"".join(packer.compress(row * 1000) for _ in range(height // 1000)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


async def _store_files(api: Client) -> list[str]:
    return sorted(p.name for p in _store(api).root.iterdir())


async def test_a_small_file_with_huge_real_pixels_is_refused_before_decoding(api: Client, sign_in: SignIn) -> None:
    # Given a real, valid PNG of 40000 x 40000 pixels (1.6 billion) that weighs little
    token = await sign_in("alice")
    bomb = _real_png(40_000, 40_000)
    assert len(bomb) < 1_000_000
    # When alice uploads it
    status, body = await _upload(api, token, bomb, b"white.png")
    # Then it is refused for its pixels, the store holds nothing, and the node still answers
    assert status == 422 and "pixels" in body["error"], body
    assert await _store_files(api) == []
    assert (await api.get("/api/v1/instance")).status == 200


async def test_a_png_claiming_a_huge_size_is_refused(api: Client, sign_in: SignIn) -> None:
    # Given a PNG whose header claims 2^31-1 x 2^31-1 pixels, its pixel data garbage
    token = await sign_in("alice")
    # When alice uploads it, Then it is refused with a reason, and nothing is kept
    status, body = await _upload(api, token, media_files.png_claiming(2**31 - 1, 2**31 - 1), b"bomb.png")
    assert 400 <= status < 500 and body["error"], body
    assert await _store_files(api) == []


def _jpeg_html_polyglot() -> bytes:
    """A JPEG whose comment segment and trailing bytes are an HTML page: a browser sniffing it
    finds `<html>` and a script."""
    page = b"<html><body><script>alert(document.domain)</script></body></html>"
    jpeg = media_files.picture("JPEG", (64, 64))
    comment = b"\xff\xfe" + struct.pack(">H", len(page) + 2) + page
    return jpeg[:2] + comment + jpeg[2:] + page


def _gif_js_json_polyglot() -> bytes:
    """A GIF that is also JavaScript (`GIF89a=...` assigns, the rest a comment) and carries an
    ActivityStreams actor in its comment extension and after its trailer."""
    actor = b'{"@context":"https://www.w3.org/ns/activitystreams","type":"Person","id":"https://evil.example/a"}'
    out = io.BytesIO()
    Image.new("P", (16, 16), 3).save(out, "GIF", comment=actor)
    gif = out.getvalue()
    # Width bytes "/*" make the header `GIF89a/*...` a JavaScript comment start.
    return gif[:6] + b"/*" + gif[8:] + b"*/=alert(1);" + actor


@pytest.mark.parametrize(
    ("data", "content_type", "payload"),
    [(_jpeg_html_polyglot(), "image/jpeg", b"<script"), (_gif_js_json_polyglot(), "image/gif", b"Person")],
    ids=["jpeg-html", "gif-js-json"],
)
async def test_a_polyglot_is_kept_only_as_the_picture_it_also_is(
    api: Client, sign_in: SignIn, data: bytes, content_type: str, payload: bytes
) -> None:
    # Given a picture that is also a page or a script and an actor document
    token = await sign_in("alice")
    # When alice uploads it named as a page
    status, body = await _upload(api, token, data, b"index.html")
    if status != 200:  # refused outright is as safe: with a reason
        assert 400 <= status < 500 and body["error"], body
        return
    # Then it is a picture of the bytes' type, re-encoded: the other reading is gone
    assert (body["type"], body["atrium_content_type"]) == ("image", content_type)
    [key] = [k for k in await _store_files(api) if ".small." not in k]
    assert payload not in (_store(api).root / key).read_bytes()
    # And it is served only as that picture, never as a page or JSON, with nosniff
    resp = await api.get(body["url"].split(str(api.make_url("")).rstrip("/"), 1)[-1])
    assert resp.status == 200 and resp.headers["Content-Type"] == content_type
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in resp.headers["Content-Security-Policy"]
    assert payload not in await resp.read()


@pytest.mark.parametrize(
    ("filename", "shown"),
    [
        (b"../../../../tmp/atrium-escape.png", "atrium-escape.png"),
        (b"..\\\\..\\\\windows\\\\atrium-escape.png", "atrium-escape.png"),  # quoted-string: \\ is one \
        (b"/etc/cron.d/atrium-escape.png", "atrium-escape.png"),
        (b"filename*=UTF-8''..%2F..%2Fatrium%00escape.png", "atriumescape.png"),
        (b"..", None),
    ],
    ids=["dot-dot", "backslashes", "absolute", "nul-encoded", "only-dots"],
)
async def test_a_file_name_that_is_a_path_writes_nothing_outside_the_store(
    api: Client, sign_in: SignIn, tmp_path: Path, filename: bytes, shown: str | None
) -> None:
    # Given a media store in a folder of its own
    token = await sign_in("alice")
    ctx: NodeContext = api.server.app[CTX]
    box = tmp_path / "box"
    (box / "media").mkdir(parents=True)
    ctx.media = LocalStore(box / "media")
    # When alice uploads a picture under a name that tries to be a path
    status, body = await _upload(api, token, media_files.picture("PNG", (32, 32)), filename)
    # Then it is accepted, its name cleaned for display (no folders, no NUL)
    assert status == 200, body
    assert body["atrium_file_name"] == shown
    # And the store holds its generated keys only, and nothing appeared beside it or at the path
    assert all(KEY_PATTERN.fullmatch(name) for name in await _store_files(api))
    assert len(await _store_files(api)) == 2  # the picture and its preview
    assert [p.name for p in box.iterdir()] == ["media"]
    assert not Path("/tmp/atrium-escape.png").exists() and not Path("/etc/cron.d/atrium-escape.png").exists()


async def _raw_request(api: Client, head: bytes, body: bytes) -> tuple[bytes, asyncio.StreamWriter]:
    """Send `head` and the first `body` bytes on a connection of its own; the answer's status line."""
    reader, writer = await asyncio.open_connection(api.host, api.port)
    writer.write(head + body)
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), timeout=30)
    return status_line, writer


async def test_a_1gb_content_length_is_refused_before_reading_and_the_node_keeps_answering(
    api: Client, sign_in: SignIn
) -> None:
    # Given alice's token, and a connection announcing a 1 GB upload that sends only its start
    token = await sign_in("alice")
    head = (
        f"POST /api/v2/media HTTP/1.1\r\nHost: {api.host}:{api.port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: 1000000000\r\n\r\n"
    ).encode()
    start = _multipart(b"\xff\xd8\xff" + b"\x00" * 60_000, b"huge.jpg")[:40_000]
    # When it is sent, the rest never coming
    status_line, writer = await _raw_request(api, head, start)
    try:
        # Then the node answers 413 at once, from the header (the 999.96 MB never came)
        assert status_line.split()[1] == b"413", status_line
        # And meanwhile another request is answered
        assert (await api.get("/api/v1/instance")).status == 200
    finally:
        writer.close()
    # And nothing was stored
    assert await _store_files(api) == []


async def test_a_nul_in_a_file_name_is_refused_as_a_malformed_form(api: Client, sign_in: SignIn) -> None:
    # Given alice's token
    token = await sign_in("alice")
    # When she sends a file name with a raw NUL byte in the part's header
    status, body = await _upload(api, token, media_files.picture("PNG", (32, 32)), b"atrium\x00escape.png")
    # Then the form is refused with a reason, and nothing is kept
    assert status == 422 and "multipart" in body["error"], body
    assert await _store_files(api) == []


SVG_WITH_SCRIPT = [
    media_files.SVG,
    b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
    b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n<svg xmlns="http://www.w3.org/2000/svg" '
    b'onload="alert(1)"><script>fetch("/api/v1/accounts/verify_credentials")</script></svg>',
    gzip.compress(media_files.SVG),
]


@pytest.mark.parametrize("svg", SVG_WITH_SCRIPT, ids=["bare", "xml-prolog", "svgz"])
async def test_an_svg_with_script_is_refused(api: Client, sign_in: SignIn, svg: bytes) -> None:
    # Given an SVG carrying script (bare, with its XML prolog and doctype, gzipped as .svgz)
    token = await sign_in("alice")
    # When alice uploads it named as a picture, Then 422 with a reason, and nothing is kept
    status, body = await _upload(api, token, svg, b"logo.png")
    assert status == 422 and "not accepted" in body["error"], body
    assert await _store_files(api) == []
