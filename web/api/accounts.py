"""Accounts: the signed-in user's own (read and update), one by id or by handle, search,
an account's statuses, followers and follows."""

from __future__ import annotations

from aiohttp import web

from node import accounts, avatars, follows, preferences, relationships, search, timelines
from node.context import NodeContext
from node.domains import canonical_domain
from node.media import Upload
from node.outbox import open_web_may_see
from storage.errors import Invalid, NotFound
from storage.models import Account
from web.api import serializers
from web.api.auth import (
    Params,
    ctx_of,
    flag,
    link_header,
    optional_user,
    page_of,
    params,
    path_id,
    require_user,
    text_param,
)
from web.api.serializers import JSON
from web.api.statuses import render_many
from web.multipart import read_file_form

SEARCH_LIMIT = 40


async def render_accounts(ctx: NodeContext, items: list[Account]) -> list[JSON]:
    """Accounts with their counts: one grouped query per count for the whole page."""
    counts = await relationships.counts(ctx, [a.id for a in items])
    return [serializers.account(ctx, a, counts.get(a.id)) for a in items]


async def render_account(ctx: NodeContext, account: Account) -> JSON:
    return (await render_accounts(ctx, [account]))[0]


async def _credential(ctx: NodeContext, account: Account) -> JSON:
    counts = await relationships.counts(ctx, [account.id])
    pending = await relationships.pending_requests(ctx, account.id)
    prefs = await preferences.of(ctx, account.id)
    return serializers.credential_account(ctx, account, counts.get(account.id), pending, prefs)


def _source(p: Params, name: str) -> object:
    """`source[name]` of a form, or `source.name` of a JSON body."""
    nested = p.get("source")
    if isinstance(nested, dict):
        return nested.get(name)
    return p.get(f"source[{name}]")


def preference_change(p: Params) -> preferences.Change:
    """What `source[privacy]`, `source[sensitive]` and `source[language]` ask to change, checked."""
    privacy, language = _source(p, "privacy"), _source(p, "language")
    sensitive = flag({"source[sensitive]": _source(p, "sensitive")}, "source[sensitive]")
    return preferences.Change(
        audience=preferences.audience_of(str(privacy)) if privacy not in (None, "") else None,
        sensitive=sensitive,
        language=preferences.language_of(str(language)) if language is not None else None,
    )


async def verify_credentials(request: web.Request) -> web.Response:
    account = await require_user(request, "read:accounts", "profile")
    return web.json_response(await _credential(ctx_of(request), account))


async def update_credentials(request: web.Request) -> web.Response:
    """PATCH the profile: display_name, note, locked (form, JSON or multipart; absent or null
    leaves a field as it is), `source[privacy]`, `source[sensitive]` and `source[language]`
    (the preferences new posts start from, node/preferences.py), and with a multipart body the
    `avatar` and `header` pictures. Everything is checked before anything is written. Mastodon's other profile fields
    (fields_attributes, ...) are accepted and ignored: Atrium profiles do not have them yet."""
    ctx = ctx_of(request)
    account = await require_user(request, "write:accounts")
    pictures: dict[str, Upload] = {}
    if request.content_type.startswith("multipart/"):
        form = await read_file_form(request, avatars.PICTURE_FIELDS, ctx.media_limits.max_image_bytes,
                                    not_multipart="a multipart body is expected")
        p: Params = {**request.query, **form.fields}
        pictures = form.files
    else:
        p = await params(request)
    display_name, bio = text_param(p, "display_name"), text_param(p, "note")
    accounts.check_profile(display_name=display_name, bio=bio)
    locked = flag(p, "locked")
    change = preference_change(p)  # checked with the texts, before anything is written
    for name, upload in pictures.items():
        await avatars.set_picture(ctx, account, avatars.PICTURE_FIELDS[name], upload)
    updated = await accounts.update_profile(ctx, account.id, display_name=display_name, bio=bio, locked=locked)
    if change != preferences.Change():
        await preferences.update(ctx, account.id, change)
    return web.json_response(await _credential(ctx, updated))


async def remove_picture(request: web.Request) -> web.Response:
    """Mastodon's `DELETE /api/v1/profile/avatar` and `/header`: the default shows again."""
    ctx = ctx_of(request)
    account = await require_user(request, "write:accounts")
    role = avatars.PICTURE_FIELDS[request.match_info["picture"]]
    return web.json_response(await _credential(ctx, await avatars.set_picture(ctx, account, role, None)))


async def _visible_account(ctx: NodeContext, account_id: int) -> Account:
    account = await accounts.get_account(ctx, account_id)
    if account.suspended:
        raise NotFound("Record not found")
    return account


async def get_account(request: web.Request) -> web.Response:
    await optional_user(request, "read:accounts")
    ctx = ctx_of(request)
    return web.json_response(await render_account(ctx, await _visible_account(ctx, path_id(request))))


async def lookup(request: web.Request) -> web.Response:
    """`acct` is `user` or `user@this-domain` for a local account, `user@host[:port]` for a
    remote one this node knows (lookup never fetches; search with resolve=true does)."""
    await optional_user(request, "read:accounts")
    ctx = ctx_of(request)
    acct = request.query.get("acct", "").strip().lstrip("@")
    username, _, host = acct.partition("@")
    if not username:
        raise NotFound("Record not found")
    try:
        domain = canonical_domain(host) if host else None
    except Invalid as exc:
        raise NotFound("Record not found") from exc
    if domain is None or domain == ctx.domain:
        account = await accounts.get_local(ctx, username)
    else:
        found = await search.search(ctx, None, f"{username}@{domain}", kind="accounts", limit=1)
        if not found.accounts:
            raise NotFound("Record not found")
        account = found.accounts[0]
    if account.suspended:
        raise NotFound("Record not found")
    return web.json_response(await render_account(ctx, account))


def _bounded(raw: str | None, name: str, default: int, ceiling: int) -> int:
    if raw in (None, ""):
        return default
    if not (str(raw).isascii() and str(raw).isdigit()) or len(str(raw)) > 9:
        raise Invalid(f"{name} must be a non-negative number")
    return min(int(str(raw)), ceiling)


async def search_accounts(request: web.Request) -> web.Response:
    """`q` by username or display name prefix, or a handle; `resolve=true` (signed in) looks
    an unknown handle up by WebFinger; `following=true` keeps only accounts the viewer follows."""
    ctx = ctx_of(request)
    viewer = await optional_user(request, "read:accounts")
    p = await params(request)
    limit = max(1, _bounded(text_param(p, "limit"), "limit", SEARCH_LIMIT, SEARCH_LIMIT))
    offset = _bounded(text_param(p, "offset"), "offset", 0, 10**9)
    found = await search.search(
        ctx,
        viewer,
        text_param(p, "q") or "",
        kind="accounts",
        resolve=bool(flag(p, "resolve", False)),
        limit=limit,
        offset=offset,
    )
    items = found.accounts
    if flag(p, "following", False) and viewer is not None:
        rels = await relationships.relationships(ctx, viewer, [a.id for a in items])
        followed = {r.id for r in rels if r.following}
        items = [a for a in items if a.id in followed]
    return web.json_response(await render_accounts(ctx, items))


async def account_statuses(request: web.Request) -> web.Response:
    """An account's posts the viewer may see. Atrium has no media or pinned posts yet, so
    `only_media` and `pinned` answer empty lists."""
    ctx = ctx_of(request)
    viewer = await optional_user(request, "read:statuses")
    account = await _visible_account(ctx, path_id(request))
    p = await params(request)
    if flag(p, "pinned", False) or flag(p, "only_media", False):
        return web.json_response([])
    page = page_of(request)
    items = await timelines.account(ctx, viewer, account.id, page, with_boosts=not flag(p, "exclude_reblogs", False))
    ids = [post.id for post in items]
    if flag(p, "exclude_replies", False):
        # Mastodon keeps replies to oneself (threads) when excluding replies.
        items = [post for post in items if post.in_reply_to_id is None or post.in_reply_to_account_id == account.id]
    if viewer is None:
        items = [post for post in items if open_web_may_see(ctx, post)]
    return web.json_response(await render_many(ctx, viewer, items), headers=link_header(request, ids))


async def _people(request: web.Request, which: str) -> web.Response:
    ctx = ctx_of(request)
    await optional_user(request, "read:accounts")
    account = await _visible_account(ctx, path_id(request))
    lister = follows.followers_page if which == "followers" else follows.following_page
    rows = await lister(ctx, account.id, page_of(request))
    body = await render_accounts(ctx, [a for _, a in rows])
    return web.json_response(body, headers=link_header(request, [follow_id for follow_id, _ in rows]))


async def followers(request: web.Request) -> web.Response:
    return await _people(request, "followers")


async def following(request: web.Request) -> web.Response:
    return await _people(request, "following")


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/accounts/verify_credentials", verify_credentials)
    app.router.add_patch("/api/v1/accounts/update_credentials", update_credentials)
    app.router.add_delete("/api/v1/profile/{picture:avatar|header}", remove_picture)
    app.router.add_get("/api/v1/accounts/lookup", lookup)
    app.router.add_get("/api/v1/accounts/search", search_accounts)
    # Numeric ids only, so named routes (relationships, search, ...) never read as an id.
    app.router.add_get(r"/api/v1/accounts/{id:\d+}", get_account)
    app.router.add_get(r"/api/v1/accounts/{id:\d+}/statuses", account_statuses)
    app.router.add_get(r"/api/v1/accounts/{id:\d+}/followers", followers)
    app.router.add_get(r"/api/v1/accounts/{id:\d+}/following", following)
