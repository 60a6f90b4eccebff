"""WebFinger and host-meta: how peers find this node's accounts."""

from __future__ import annotations

from functools import partial
from urllib.parse import unquote

from aiohttp import web

from node import accounts, community_ap
from node.actors import INSTANCE_ACTOR
from node.domains import canonical_domain
from storage.errors import Invalid, NotFound
from web.keys import CTX
from web.signed import signed_reader

JRD = "application/jrd+json"


async def webfinger(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    resource = request.query.get("resource", "").strip()
    if not resource:
        raise Invalid("resource is required", status=400)
    if len(resource) > 1024:
        raise Invalid("resource is too long", status=400)
    username: str | None = None
    if resource.startswith("acct:"):
        user, sep, host = unquote(resource[5:]).lstrip("@").partition("@")
        if not sep:
            raise Invalid("acct: resources are user@domain", status=400)
        try:
            same = canonical_domain(host, ctx.scheme) == ctx.domain
        except Invalid:
            same = False
        if not same:
            raise NotFound("not an account on this node")
        username = user
    elif resource.startswith(ctx.base_url + "/"):
        path = resource[len(ctx.base_url):]
        if path == f"/{INSTANCE_ACTOR}":
            return _instance_jrd(ctx.base_url, ctx.domain)
        for prefix in ("/users/", "/@"):
            if path.startswith(prefix) and "/" not in path[len(prefix):]:
                username = path[len(prefix):]
    if not username:
        raise NotFound("not an account on this node")
    account = await accounts.get_local(ctx, username)
    if account.disabled:
        raise NotFound("not an account on this node")
    # A community is found only where it may reach: elsewhere, as a name nobody has.
    if not await community_ap.visible_to(ctx, account, partial(signed_reader, request)):
        raise NotFound(f"no such user: {username}")
    actor = ctx.actor_uri(account.username)
    body = {
        "subject": f"acct:{account.username}@{ctx.domain}",
        "aliases": [actor, ctx.profile_url(account.username)],
        "links": [
            {"rel": "self", "type": "application/activity+json", "href": actor},
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": ctx.profile_url(account.username)},
        ],
    }
    return web.json_response(body, content_type=JRD)


def _instance_jrd(base_url: str, domain: str) -> web.Response:
    actor = f"{base_url}/{INSTANCE_ACTOR}"
    body = {
        "subject": f"acct:{domain}@{domain}",
        "aliases": [actor],
        "links": [{"rel": "self", "type": "application/activity+json", "href": actor}],
    }
    return web.json_response(body, content_type=JRD)


async def host_meta(request: web.Request) -> web.Response:
    base = request.app[CTX].base_url
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template="{base}/.well-known/webfinger?resource={{uri}}"/>\n'
        "</XRD>\n"
    )
    return web.Response(text=xml, content_type="application/xrd+xml")


def setup(app: web.Application) -> None:
    app.router.add_get("/.well-known/webfinger", webfinger)
    app.router.add_get("/.well-known/host-meta", host_meta)
