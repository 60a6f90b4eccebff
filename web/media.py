"""`GET` and `HEAD /media/{key}`: the bytes of pictures and files, to whoever node/media_access.py
says may read them, and 404 to everyone else (as to a key that was never made).

What is served can never be run or read as something else (Mastodon's CVE-2024-25623: an
uploaded JSON file served from the node's origin was taken for an actor): only the picture
types are shown inline; the files an organisation shares are served as downloads
(`Content-Disposition: attachment`) under their own type; anything else — whatever processing
let through, JSON, HTML, SVG, scripts — as `application/octet-stream`, a download. Every answer
carries `X-Content-Type-Options: nosniff` and a sandboxing Content-Security-Policy.
"""

from __future__ import annotations

import hashlib
from email.utils import encode_rfc2231
from functools import partial

from aiohttp import web

from node import media_access, oauth
from node.media_access import Grant, MediaFile
from node.media_urls import MEDIA_PATH
from storage.models import Account
from web.api.auth import grant_of
from web.keys import CTX
from web.signed import signed_reader
from web.ui.core import current_session

# Shown where they are loaded: the picture types processing makes (node/media_processing.py).
INLINE = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})
# Served under their own type, as downloads: the files an organisation shares.
DOWNLOADS = frozenset({
    "application/pdf",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
})
OPAQUE = "application/octet-stream"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Referrer-Policy": "no-referrer",
}
# Media anyone may load is cached for a day (a post may still be deleted or its author
# suspended); personal answers only by the reader's own client, for at most a signed URL's hour.
CACHE = {Grant.PLAIN: "public, max-age=86400", Grant.PERSONAL: "private, max-age=3600"}
READ_SCOPES = ("read", "read:statuses")


def served_type(stored: str) -> tuple[str, bool]:
    """The Content-Type a stored type is served as, and whether it is shown inline (else a
    download). Never a type a browser would run or a peer read as ActivityStreams."""
    kind = stored.split(";", 1)[0].strip().lower()
    if kind in INLINE:
        return kind, True
    return (kind if kind in DOWNLOADS else OPAQUE), False


def disposition(file_name: str | None, key: str) -> str:
    """`attachment` with the name it was uploaded with (RFC 6266: an ASCII fallback and the
    UTF-8 name; the standard library encodes it, aiohttp's helper for it is internal)."""
    name = (file_name or key).replace("\\", "_").replace("/", "_")
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"%;' else "_" for c in name) or key
    return f"attachment; filename=\"{fallback}\"; filename*={encode_rfc2231(name, 'utf-8')}"


async def _viewer(request: web.Request) -> Account | None:
    """The local account asking: the web UI's session, else an API token allowed to read (a
    token that may not read counts as none; a bad token is refused, 401, as by the API)."""
    session = await current_session(request)
    if session is not None:
        return session.account
    grant: oauth.Grant | None = await grant_of(request)
    if grant is None or not any(grant.allows(scope) for scope in READ_SCOPES):
        return None
    return grant.account


def media_headers(found: MediaFile) -> dict[str, str]:
    content_type, inline = served_type(found.content_type)
    headers = {
        **SECURITY_HEADERS,
        "Content-Type": content_type,
        "Cache-Control": CACHE[found.grant],
        "ETag": f'"{hashlib.sha256(found.data).hexdigest()[:32]}"',
    }
    if not inline:
        headers["Content-Disposition"] = disposition(found.file_name, found.key)
    return headers


async def media(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CTX]
    asker = media_access.Asker(
        viewer=await _viewer(request),
        exp=request.query.get("exp", ""),
        sig=request.query.get("sig", ""),
        peer=partial(signed_reader, request),
    )
    found = await media_access.open_media(ctx, request.match_info["key"], asker)
    headers = media_headers(found)
    if any(tag.value == headers["ETag"].strip('"') for tag in request.if_none_match or ()):
        del headers["Content-Type"]
        return web.Response(status=304, headers=headers)
    return web.Response(body=found.data, headers=headers)


def setup(app: web.Application) -> None:
    app.router.add_get(MEDIA_PATH + "{key}", media)
