"""The default pictures of people, as PNG: `GET /avatars/default/{account_id}.png?size=N` (the
person's initials on their colour) and `GET /headers/default/{account_id}.png`. Public, as
avatars are on Mastodon, and cacheable: the same person gets the same picture until they
change their name.
"""

from __future__ import annotations

import hashlib

from aiohttp import web

from node import avatars
from storage.errors import Invalid, NotFound
from web.keys import CTX

CACHE_CONTROL = "public, max-age=86400"


def _id(request: web.Request) -> int:
    value = int(request.match_info["account_id"])  # the route admits digits only
    if value >= 2**63:
        raise NotFound("no such account")  # beyond any id (a 64-bit integer)
    return value


def _size(request: web.Request) -> int | None:
    raw = request.query.get("size")
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 4:
        raise Invalid("size must be a number of pixels")
    return int(raw)


def _png(request: web.Request, body: bytes) -> web.Response:
    etag = hashlib.sha256(body).hexdigest()[:32]
    headers = {"Cache-Control": CACHE_CONTROL, "X-Content-Type-Options": "nosniff"}
    if request.if_none_match is not None and any(e.value == etag for e in request.if_none_match):
        response = web.Response(status=304, headers=headers)
    else:
        response = web.Response(body=body, content_type="image/png", headers=headers)
    response.etag = etag
    return response


async def default_avatar(request: web.Request) -> web.Response:
    body = await avatars.default_avatar(request.config_dict[CTX], _id(request), _size(request))
    return _png(request, body)


async def default_header(request: web.Request) -> web.Response:
    return _png(request, await avatars.default_header(request.config_dict[CTX], _id(request)))


def setup(app: web.Application) -> None:
    app.router.add_get(avatars.DEFAULT_AVATAR_PATH + r"{account_id:\d{1,20}}.png", default_avatar)
    app.router.add_get(avatars.DEFAULT_HEADER_PATH + r"{account_id:\d{1,20}}.png", default_header)
