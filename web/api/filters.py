"""Filters as Mastodon 4 serves them: `/api/v2/filters` (a filter with its keywords and
posts, each also at `/api/v2/filters/keywords/:id` and `/api/v2/filters/statuses/:id`), and
`/api/v1/filters`, the older view in which each keyword is a filter. Another account's
filter is 404; bad input is 422 with nothing written."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from node import filters
from node.filters import FilterChange, KeywordChange
from storage.errors import Invalid
from storage.ids import parse_id
from web.api import filter_entities as entities
from web.api.auth import Params, ctx_of, flag, params, path_id, require_user, text_param

READ, WRITE = ("read:filters",), ("write:filters",)
_FORM_KEYWORD = re.compile(r"^keywords_attributes\[(\d*)\]\[(\w+)\]$")
MAX_ATTRIBUTES = 1000  # entries of keywords_attributes read at all


def _contexts(p: Params) -> tuple[str, ...] | None:
    raw = p.get("context")
    if raw is None:
        return None
    return tuple(str(v) for v in (raw if isinstance(raw, list) else [raw]))


def _expires_in(p: Params) -> int | None:
    """Absent: None (unchanged); empty or null: 0 (no expiry); else whole seconds."""
    if "expires_in" not in p:
        return None
    raw = p["expires_in"]
    if raw is None or str(raw).strip() == "":
        return 0
    text = str(raw).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise Invalid("expires_in must be a number of seconds")
    return int(text)


def _keyword_change(entry: Any) -> KeywordChange:
    if not isinstance(entry, dict):
        raise Invalid("keywords_attributes entries must be objects")
    raw_id = entry.get("id")
    kid = None
    if raw_id not in (None, ""):
        kid = parse_id(str(raw_id))
        if kid is None:
            raise Invalid("keywords_attributes id is not one")
    keyword = entry.get("keyword")
    return KeywordChange(
        id=kid,
        keyword=None if keyword is None else str(keyword),
        whole_word=flag(entry, "whole_word"),
        destroy=bool(flag(entry, "_destroy", False)),
    )


async def _keyword_entries(request: web.Request, p: Params) -> list[Any]:
    """`keywords_attributes` as JSON (a list, or an object by index) or as a Rails form
    (`keywords_attributes[][keyword]`, `keywords_attributes[0][keyword]`)."""
    raw = p.get("keywords_attributes")
    if isinstance(raw, list):
        entries = list(raw)
    elif isinstance(raw, dict):
        entries = [raw[k] for k in sorted(raw, key=lambda k: (len(str(k)), str(k)))]
    else:
        entries = []
        if request.content_type != "application/json" and request.body_exists:
            indexed: dict[str, dict[str, Any]] = {}
            for key, value in (await request.post()).items():
                m = _FORM_KEYWORD.match(key)
                if m is None:
                    continue
                index, name = m.groups()
                if index:
                    indexed.setdefault(index, {})[name] = value
                elif not entries or name in entries[-1]:
                    entries.append({name: value})  # Rails: a repeated name starts the next entry
                else:
                    entries[-1][name] = value
            entries += [indexed[k] for k in sorted(indexed, key=int)]
    if len(entries) > MAX_ATTRIBUTES:
        raise Invalid(f"at most {MAX_ATTRIBUTES} keywords_attributes at once")
    return entries


async def _change(request: web.Request) -> FilterChange:
    p = await params(request)
    return FilterChange(
        title=text_param(p, "title"),
        contexts=_contexts(p),
        action=text_param(p, "filter_action"),
        expires_in=_expires_in(p),
        keywords=tuple(_keyword_change(e) for e in await _keyword_entries(request, p)),
    )


async def list_v2(request: web.Request) -> web.Response:
    viewer = await require_user(request, *READ)
    return web.json_response([entities.filter_v2(v) for v in await filters.list_filters(ctx_of(request), viewer)])


async def show_v2(request: web.Request) -> web.Response:
    viewer = await require_user(request, *READ)
    return web.json_response(entities.filter_v2(await filters.get_filter(ctx_of(request), viewer, path_id(request))))


async def create_v2(request: web.Request) -> web.Response:
    viewer = await require_user(request, *WRITE)
    change = await _change(request)
    return web.json_response(entities.filter_v2(await filters.create_filter(ctx_of(request), viewer, change)))


async def update_v2(request: web.Request) -> web.Response:
    viewer = await require_user(request, *WRITE)
    change = await _change(request)
    view = await filters.update_filter(ctx_of(request), viewer, path_id(request), change)
    return web.json_response(entities.filter_v2(view))


async def delete_v2(request: web.Request) -> web.Response:
    viewer = await require_user(request, *WRITE)
    await filters.delete_filter(ctx_of(request), viewer, path_id(request))
    return web.json_response({})


async def list_keywords(request: web.Request) -> web.Response:
    viewer = await require_user(request, *READ)
    found = await filters.list_keywords(ctx_of(request), viewer, path_id(request))
    return web.json_response([entities.keyword(k) for k in found])


async def add_keyword(request: web.Request) -> web.Response:
    viewer = await require_user(request, *WRITE)
    p = await params(request)
    whole = flag(p, "whole_word", True)
    kw = await filters.add_keyword(ctx_of(request), viewer, path_id(request), text_param(p, "keyword") or "", bool(whole))
    return web.json_response(entities.keyword(kw))


async def show_keyword(request: web.Request) -> web.Response:
    viewer = await require_user(request, *READ)
    return web.json_response(entities.keyword(await filters.get_keyword(ctx_of(request), viewer, path_id(request))))


async def update_keyword(request: web.Request) -> web.Response:
    viewer = await require_user(request, *WRITE)
    p = await params(request)
    kw = await filters.update_keyword(
        ctx_of(request), viewer, path_id(request), text_param(p, "keyword"), flag(p, "whole_word")
    )
    return web.json_response(entities.keyword(kw))


async def delete_keyword(request: web.Request) -> web.Response:
    viewer = await require_user(request, *WRITE)
    await filters.delete_keyword(ctx_of(request), viewer, path_id(request))
    return web.json_response({})


async def list_statuses(request: web.Request) -> web.Response:
    viewer = await require_user(request, *READ)
    found = await filters.list_statuses(ctx_of(request), viewer, path_id(request))
    return web.json_response([entities.filter_status(s) for s in found])


async def add_status(request: web.Request) -> web.Response:
    viewer = await require_user(request, *WRITE)
    raw = text_param(await params(request), "status_id") or ""
    post_id = parse_id(raw.strip())
    if post_id is None:
        raise Invalid("status_id must be a status id")
    fs = await filters.add_status(ctx_of(request), viewer, path_id(request), post_id)
    return web.json_response(entities.filter_status(fs))


async def show_status(request: web.Request) -> web.Response:
    viewer = await require_user(request, *READ)
    return web.json_response(entities.filter_status(await filters.get_status(ctx_of(request), viewer, path_id(request))))


async def delete_status(request: web.Request) -> web.Response:
    viewer = await require_user(request, *WRITE)
    await filters.delete_status(ctx_of(request), viewer, path_id(request))
    return web.json_response({})


# v1: each keyword is a filter (Mastodon 4 keeps this view for older clients).


async def list_v1(request: web.Request) -> web.Response:
    viewer = await require_user(request, *READ)
    views = await filters.list_filters(ctx_of(request), viewer)
    return web.json_response([entities.filter_v1(k, v) for v in views for k in v.keywords])


async def show_v1(request: web.Request) -> web.Response:
    viewer = await require_user(request, *READ)
    ctx = ctx_of(request)
    kw = await filters.get_keyword(ctx, viewer, path_id(request))
    return web.json_response(entities.filter_v1(kw, await filters.get_filter(ctx, viewer, kw.filter_id)))


def _v1_change(p: Params, with_keyword: bool) -> FilterChange:
    irreversible = flag(p, "irreversible")
    phrase = text_param(p, "phrase")
    return FilterChange(
        title=phrase if with_keyword else None,
        contexts=_contexts(p),
        action=None if irreversible is None else ("hide" if irreversible else "warn"),
        expires_in=_expires_in(p),
        keywords=(KeywordChange(keyword=phrase or "", whole_word=flag(p, "whole_word", True)),) if with_keyword else (),
    )


async def create_v1(request: web.Request) -> web.Response:
    viewer = await require_user(request, *WRITE)
    p = await params(request)
    view = await filters.create_filter(ctx_of(request), viewer, _v1_change(p, with_keyword=True))
    return web.json_response(entities.filter_v1(view.keywords[0], view))


async def update_v1(request: web.Request) -> web.Response:
    viewer = await require_user(request, *WRITE)
    ctx, p = ctx_of(request), await params(request)
    kw = await filters.get_keyword(ctx, viewer, path_id(request))
    change = _v1_change(p, with_keyword=False)
    edit = KeywordChange(id=kw.id, keyword=text_param(p, "phrase"), whole_word=flag(p, "whole_word"))
    view = await filters.update_filter(ctx, viewer, kw.filter_id, FilterChange(
        contexts=change.contexts, action=change.action, expires_in=change.expires_in, keywords=(edit,)))
    return web.json_response(entities.filter_v1(next(k for k in view.keywords if k.id == kw.id), view))


async def delete_v1(request: web.Request) -> web.Response:
    viewer = await require_user(request, *WRITE)
    await filters.delete_keyword(ctx_of(request), viewer, path_id(request), drop_empty=True)
    return web.json_response({})


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v2/filters", list_v2)
    r.add_post("/api/v2/filters", create_v2)
    r.add_get("/api/v2/filters/keywords/{id}", show_keyword)
    r.add_put("/api/v2/filters/keywords/{id}", update_keyword)
    r.add_delete("/api/v2/filters/keywords/{id}", delete_keyword)
    r.add_get("/api/v2/filters/statuses/{id}", show_status)
    r.add_delete("/api/v2/filters/statuses/{id}", delete_status)
    r.add_get("/api/v2/filters/{id}", show_v2)
    r.add_put("/api/v2/filters/{id}", update_v2)
    r.add_delete("/api/v2/filters/{id}", delete_v2)
    r.add_get("/api/v2/filters/{id}/keywords", list_keywords)
    r.add_post("/api/v2/filters/{id}/keywords", add_keyword)
    r.add_get("/api/v2/filters/{id}/statuses", list_statuses)
    r.add_post("/api/v2/filters/{id}/statuses", add_status)
    r.add_get("/api/v1/filters", list_v1)
    r.add_post("/api/v1/filters", create_v1)
    r.add_get("/api/v1/filters/{id}", show_v1)
    r.add_put("/api/v1/filters/{id}", update_v1)
    r.add_delete("/api/v1/filters/{id}", delete_v1)
