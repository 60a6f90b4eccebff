"""The addresses media is served at, and the expiring signatures that guard non-public media.

Apps load pictures without credentials, so an attachment of a post not everyone may see
(`followers`, `direct`, `organization`, `local`) is served only through a URL carrying an
HMAC over its storage key and an expiry (`?exp=…&sig=…`), made when the post is rendered for
a viewer who may see it; the bare path answers 404. Media of a post anyone may see (public,
unlisted) has a plain URL. The HMAC key is the node's own (`node_settings`, made on first
use, shared by every process), so a URL made by a web process is checked by any other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

from node.audience import Audience
from node.context import NodeContext
from storage.db import insert_ignoring_conflicts
from storage.media_store import check_key
from storage.models import NodeSetting, utcnow

MEDIA_PATH = "/media/"
URL_KEY_SETTING = "media_url_key"
# How long a signed URL works after it was made: long enough for an app left open on a
# timeline, short enough that a URL passed on stops working the same day.
SIGNED_URL_SECONDS = 4 * 3600


async def url_key(ctx: NodeContext) -> bytes:
    """The node's URL-signing key: read once per process, made by the first process to ask."""
    if ctx.media_url_key is not None:
        return ctx.media_url_key
    async with ctx.db.session() as s:
        await s.execute(
            insert_ignoring_conflicts(s, NodeSetting).values(
                key=URL_KEY_SETTING, value=secrets.token_hex(32), version=1, updated_at=utcnow()
            )
        )
        row = await s.get(NodeSetting, URL_KEY_SETTING)
        assert row is not None
        value = row.value
    ctx.media_url_key = bytes.fromhex(value)
    return ctx.media_url_key


def signature(key: bytes, storage_key: str, expires: int) -> str:
    mac = hmac.new(key, f"{check_key(storage_key)}\n{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def signature_holds(key: bytes, storage_key: str, expires: str, sig: str, *, now: float | None = None) -> bool:
    """Whether `?exp=&sig=` is one this node made for this key and it has not expired."""
    if not (expires.isascii() and expires.isdigit()) or len(expires) > 12:
        return False
    exp = int(expires)
    at = time.time() if now is None else now
    if exp < at or exp > at + SIGNED_URL_SECONDS + 3600 + 60:  # media_url rounds up to the hour
        return False
    return hmac.compare_digest(signature(key, storage_key, exp), sig)


def media_url(
    base_url: str, storage_key: str, audience: Audience, key: bytes, *, now: float | None = None
) -> str:
    """Where a viewer who may see the post loads this file: plain for media anyone may see,
    signed and expiring otherwise. Expiries are rounded up to the next hour, so the same
    viewer gets the same URL for an hour and apps' image caches keep working."""
    path = f"{base_url}{MEDIA_PATH}{check_key(storage_key)}"
    if audience.rules.anyone_may_see:
        return path
    at = time.time() if now is None else now
    exp = int(at + SIGNED_URL_SECONDS) // 3600 * 3600 + 3600
    return f"{path}?exp={exp}&sig={signature(key, storage_key, exp)}"
