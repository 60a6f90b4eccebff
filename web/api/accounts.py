"""Accounts: the signed-in user's own (read and update), one by id or by handle, search,
an account's statuses, followers and follows."""

from __future__ import annotations

import re

from aiohttp import web

from node import accounts, avatars, follows, preferences, profile_fields, relationships, search, timelines
from node.community_accounts import check_shown, shown
from node.context import NodeContext
from node.domains import canonical_domain
from node.filters_match import FilterContext
from node.media import Upload
from node.outbox import open_web_may_see
from node.pagination import Page
from storage.errors import Invalid, NotFound
from storage.models import Account, Post
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
from web.api.filtered_pages import respond
from web.api.pins import pinned_statuses
from web.api.serializers import JSON
from web.multipart import read_file_form

SEARCH_LIMIT = 40


async def render_accounts(ctx: NodeContext, items: list[Account], viewer: Account | None = None) -> list[JSON]:
    """Accounts with their counts and profile fields: one grouped query per count, and one for
    the fields, for the whole page. Organisation-only fields only for a `viewer` (a token of
    this node's); without one, the public fields."""
    counts = await relationships.counts(ctx, [a.id for a in items])
    fields = await profile_fields.fields_of(ctx, items, organization=viewer is not None)
    return [serializers.account(ctx, a, counts.get(a.id), fields[a.id]) for a in items]


async def render_account(ctx: NodeContext, account: Account, viewer: Account | None = None) -> JSON:
    return (await render_accounts(ctx, [account], viewer))[0]


async def _credential(ctx: NodeContext, account: Account) -> JSON:
    counts = await relationships.counts(ctx, [account.id])
    pending = await relationships.pending_requests(ctx, account.id)
    fields = await profile_fields.all_fields(ctx, account)
    own = await profile_fields.own_fields(ctx, account.id)
    prefs = await preferences.of(ctx, account.id)
    return serializers.credential_account(ctx, account, counts.get(account.id), pending, fields, own, prefs)


FIELD_KEY = re.compile(r"^fields_attributes\[(\d{1,3})\]\[(name|value|atrium_scope)\]$")
MAX_FIELD_ENTRIES = 16  # entries sent, blank ones included; more is refused before reading them


def fields_param(p: Params) -> list[profile_fields.FieldInput] | None:
    """Mastodon's `fields_attributes`: form keys `fields_attributes[i][name]` and `[value]`, or a
    JSON list (or object keyed by index) of `{name, value}`; Atrium's `atrium_scope` (public or
    organization) beside them. None when the request does not touch the fields."""
    entries: dict[int, dict[str, object]] = {}
    raw = p.get("fields_attributes")
    if raw is not None:
        if isinstance(raw, list):
            pairs: list[tuple[object, object]] = list(enumerate(raw))
        elif isinstance(raw, dict):
            pairs = list(raw.items())
        else:
            raise Invalid("fields_attributes must be a list of {name, value}")
        for key, entry in pairs:
            if not isinstance(entry, dict) or not str(key).isascii() or not str(key).isdigit() or len(str(key)) > 3:
                raise Invalid("each of fields_attributes must be an object {name, value}")
            entries[int(str(key))] = dict(entry)
    for key, value in p.items():
        if (m := FIELD_KEY.match(key)) is not None:
            entries.setdefault(int(m.group(1)), {})[m.group(2)] = value
    if raw is None and not entries:
        return None
    if len(entries) > MAX_FIELD_ENTRIES:
        raise Invalid(f"at most {profile_fields.MAX_FIELDS} profile fields")
    out = []
    for _, entry in sorted(entries.items()):
        name, value, scope = entry.get("name", ""), entry.get("value", ""), entry.get("atrium_scope")
        if not isinstance(name, str) or not isinstance(value, str) or not isinstance(scope, str | None):
            raise Invalid("a profile field's name, value and atrium_scope are strings")
        out.append(profile_fields.FieldInput(name, value, profile_fields.parse_scope(scope)))
    return out


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
    """PATCH the profile: display_name, note, locked, fields_attributes (form, JSON or
    multipart; absent or null leaves a field as it is), `source[privacy]`, `source[sensitive]`
    and `source[language]` (the preferences new posts start from, node/preferences.py), and with
    a multipart body the `avatar` and `header` pictures. Everything is checked before anything
    is written. Mastodon's other settings (bot, discoverable, ...) are accepted and ignored."""
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
    fields = fields_param(p)
    if fields is not None:
        profile_fields.check_fields(fields)
    locked = flag(p, "locked")
    change = preference_change(p)  # checked with the texts, before anything is written
    for name, upload in pictures.items():
        await avatars.set_picture(ctx, account, avatars.PICTURE_FIELDS[name], upload)
    updated = await accounts.update_profile(ctx, account.id, display_name=display_name, bio=bio, locked=locked)
    if fields is not None:
        await profile_fields.set_fields(ctx, account.id, fields)
    if change != preferences.Change():
        await preferences.update(ctx, account.id, change)
    return web.json_response(await _credential(ctx, updated))


async def remove_picture(request: web.Request) -> web.Response:
    """Mastodon's `DELETE /api/v1/profile/avatar` and `/header`: the default shows again."""
    ctx = ctx_of(request)
    account = await require_user(request, "write:accounts")
    role = avatars.PICTURE_FIELDS[request.match_info["picture"]]
    return web.json_response(await _credential(ctx, await avatars.set_picture(ctx, account, role, None)))


async def _visible_account(ctx: NodeContext, account_id: int, viewer: Account | None) -> Account:
    account = await accounts.get_account(ctx, account_id)
    if account.suspended or account.deleted_at is not None:
        raise NotFound("Record not found")
    return await check_shown(ctx, account, viewer)


async def get_account(request: web.Request) -> web.Response:
    viewer = await optional_user(request, "read:accounts")
    ctx = ctx_of(request)
    return web.json_response(await render_account(ctx, await _visible_account(ctx, path_id(request), viewer), viewer))


async def lookup(request: web.Request) -> web.Response:
    """`acct` is `user` or `user@this-domain` for a local account, `user@host[:port]` for a
    remote one this node knows (lookup never fetches; search with resolve=true does)."""
    viewer = await optional_user(request, "read:accounts")
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
    await check_shown(ctx, account, viewer)
    return web.json_response(await render_account(ctx, account, viewer))


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
    return web.json_response(await render_accounts(ctx, await shown(ctx, items, viewer), viewer))


async def account_statuses(request: web.Request) -> web.Response:
    """An account's posts the viewer may see; `pinned=true`: its pinned posts (web/api/pins.py).
    `only_media` answers an empty list."""
    ctx = ctx_of(request)
    viewer = await optional_user(request, "read:statuses")
    account = await _visible_account(ctx, path_id(request), viewer)
    p = await params(request)
    if flag(p, "pinned", False):
        if "max_id" in p or "min_id" in p or "since_id" in p:
            return web.json_response([])  # one page holds them all: a client paging on ends here
        return await pinned_statuses(ctx, viewer, account.id)
    if flag(p, "only_media", False):
        return web.json_response([])
    with_boosts = not flag(p, "exclude_reblogs", False)
    no_replies = bool(flag(p, "exclude_replies", False))

    async def fetch(page: Page) -> list[Post]:
        return await timelines.account(ctx, viewer, account.id, page, with_boosts=with_boosts)

    def keep(post: Post) -> bool:
        # Mastodon keeps replies to oneself (threads) when excluding replies.
        if no_replies and post.in_reply_to_id is not None and post.in_reply_to_account_id != account.id:
            return False
        return viewer is not None or open_web_may_see(ctx, post)

    return await respond(request, ctx, viewer, page_of(request), fetch, FilterContext.ACCOUNT, keep)


async def _people(request: web.Request, which: str) -> web.Response:
    ctx = ctx_of(request)
    viewer = await optional_user(request, "read:accounts")
    account = await _visible_account(ctx, path_id(request), viewer)
    lister = follows.followers_page if which == "followers" else follows.following_page
    rows = await lister(ctx, account.id, page_of(request))
    # The communities someone joined are listed only where the reader may see them.
    body = await render_accounts(ctx, await shown(ctx, [a for _, a in rows], viewer), viewer)
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
