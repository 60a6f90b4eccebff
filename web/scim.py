"""SCIM 2.0 provisioning at `/scim/v2/` (RFC 7644): the company directory creates, changes,
deactivates and deletes people (`Users`) and their `Groups`, and reads what this node declares
(`ServiceProviderConfig`, `Schemas`, `ResourceTypes`). Every request carries a bearer token an
admin made (`atrium scim token create`); bodies are capped and must be JSON objects; every
answer is `application/scim+json`, failures as RFC 7644 §3.12 errors (status, scimType,
detail). The work is node/scim_users.py and node/scim_groups.py; docs/identity.md says how an
identity provider is set up."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web
from scim2_models import Context, Group, ListResponse, ResourceType, ResponseParameters, Schema, SearchRequest

from node import scim_groups, scim_tokens, scim_users
from node.scim_schema import BASE_PATH, MAX_BODY, MAX_RESULTS, PROVIDER, ScimError, ScimUserModel, error_body, reading
from storage.errors import AtriumError
from web.keys import CTX

CONTENT_TYPE = "application/scim+json"
Handler = Callable[[web.Request, str], Awaitable[web.Response]]
DISCOVERY = ("ServiceProviderConfig", "Schemas", "ResourceTypes")


def _answer(body: Any, status: int = 200, **headers: str) -> web.Response:
    return web.Response(text=json.dumps(body), status=status, content_type=CONTENT_TYPE, headers=headers or None)


def _guarded(handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The token first, then the handler; any failure as a SCIM error document."""

    async def run(request: web.Request) -> web.Response:
        try:
            by = await scim_tokens.authenticate(request.app[CTX], request.headers.get("Authorization"))
            return await handler(request, by)
        except AtriumError as exc:
            headers = {"WWW-Authenticate": 'Bearer realm="scim"'} if exc.status == 401 else {}
            return _answer(error_body(exc), exc.status, **headers)

    return run


async def _body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, read under the cap: 413 past it, 400 invalidSyntax for what is not JSON."""
    if (request.content_length or 0) > MAX_BODY:
        raise ScimError(f"the body is larger than {MAX_BODY // 1024} kB", status=413)
    data = await request.content.read(MAX_BODY + 1)
    while len(data) <= MAX_BODY and not request.content.at_eof():
        more = await request.content.read(MAX_BODY + 1 - len(data))
        if not more:
            break
        data += more
    if len(data) > MAX_BODY:
        raise ScimError(f"the body is larger than {MAX_BODY // 1024} kB", status=413)
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ScimError(f"the body is not JSON: {str(exc)[:120]}", scim_type="invalidSyntax") from exc
    if not isinstance(body, dict):
        raise ScimError("the body must be a JSON object", scim_type="invalidSyntax")
    return body


def _params(request: web.Request, model: Any) -> ResponseParameters[Any]:
    q = {k: v for k, v in request.query.items() if k in ("attributes", "excludedAttributes")}
    with reading("the query"):
        return ResponseParameters[model].model_validate(q)


def _search(model: Any, raw: dict[str, Any]) -> SearchRequest[Any]:
    with reading("the search"):
        req: SearchRequest[Any] = SearchRequest[model].model_validate(raw, scim_ctx=Context.SEARCH_REQUEST)
    return req


def _listing(req: SearchRequest[Any], total: int, items: list[Any], model: Any) -> web.Response:
    start = max(req.start_index or 1, 1)
    count = MAX_RESULTS if req.count is None else min(req.count, MAX_RESULTS)
    page = items[start - 1:start - 1 + count]
    listing = ListResponse[model](total_results=total, start_index=start, items_per_page=len(page), resources=page or None)
    return _answer(listing.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=req))


def _query(request: web.Request) -> dict[str, Any]:
    keys = ("filter", "startIndex", "count", "attributes", "excludedAttributes", "sortBy", "sortOrder")
    return {k: request.query[k] for k in keys if k in request.query}


# --- discovery --------------------------------------------------------------------------------


async def service_provider_config(request: web.Request, by: str) -> web.Response:
    config = PROVIDER.config
    assert config is not None
    return _answer(config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


def _discovered(items: Sequence[Schema] | Sequence[ResourceType], model: Any, wanted: str | None, what: str) -> web.Response:
    """The whole list of schemas or resource types, or the one `wanted` names (404 otherwise)."""
    if wanted is None:
        listing = ListResponse[model](total_results=len(items), start_index=1, items_per_page=len(items), resources=list(items))
        return _answer(listing.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    for item in items:
        if item.id == wanted:
            return _answer(item.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    raise ScimError(f"no {what} {wanted!r}", status=404)


async def schemas(request: web.Request, by: str) -> web.Response:
    return _discovered(PROVIDER.schemas, Schema, request.match_info.get("schema_id"), "schema")


async def resource_types(request: web.Request, by: str) -> web.Response:
    return _discovered(PROVIDER.resource_types, ResourceType, request.match_info.get("type_id"), "resource type")


# --- Users and Groups -------------------------------------------------------------------------


class _Kind:
    """What differs between Users and Groups: the model and the node module."""

    def __init__(self, model: Any, create: Any, get: Any, search: Any, replace: Any, patch: Any, remove: Any) -> None:
        self.model, self.create, self.get, self.search = model, create, get, search
        self.replace, self.patch, self.remove = replace, patch, remove

    async def list(self, request: web.Request, by: str) -> web.Response:
        req = _search(self.model, _query(request))
        total, items = await self.search(request.app[CTX], req)
        return _listing(req, total, items, self.model)

    async def post_search(self, request: web.Request, by: str) -> web.Response:
        req = _search(self.model, await _body(request))
        total, items = await self.search(request.app[CTX], req)
        return _listing(req, total, items, self.model)

    async def post(self, request: web.Request, by: str) -> web.Response:
        made = await self.create(request.app[CTX], await _body(request), by=by)
        where = made.meta.location if made.meta else ""
        return _answer(made.model_dump(scim_ctx=Context.RESOURCE_CREATION_RESPONSE), 201, Location=str(where))

    async def read(self, request: web.Request, by: str) -> web.Response:
        params = _params(request, self.model)
        found = await self.get(request.app[CTX], request.match_info["scim_id"])
        return _answer(found.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=params))

    async def put(self, request: web.Request, by: str) -> web.Response:
        body = await _body(request)
        done = await self.replace(request.app[CTX], request.match_info["scim_id"], body, by=by)
        return _answer(done.model_dump(scim_ctx=Context.RESOURCE_REPLACEMENT_RESPONSE))

    async def patch_one(self, request: web.Request, by: str) -> web.Response:
        body = await _body(request)
        done = await self.patch(request.app[CTX], request.match_info["scim_id"], body, by=by)
        return _answer(done.model_dump(scim_ctx=Context.RESOURCE_PATCH_RESPONSE))

    async def delete(self, request: web.Request, by: str) -> web.Response:
        await self.remove(request.app[CTX], request.match_info["scim_id"], by=by)
        return web.Response(status=204)


USERS = _Kind(ScimUserModel, scim_users.create_user, scim_users.get_user, scim_users.search_users,
              scim_users.replace_user, scim_users.patch_user, scim_users.delete_user)
GROUPS = _Kind(Group, scim_groups.create_group, scim_groups.get_group, scim_groups.search_groups,
               scim_groups.replace_group, scim_groups.patch_group, scim_groups.delete_group)


async def search_all(request: web.Request, by: str) -> web.Response:
    """`POST /.search` at the root: Users and Groups at once, each filtered by its own model."""
    ctx, raw = request.app[CTX], await _body(request)
    user_req, group_req = _search(ScimUserModel, raw), _search(Group, raw)
    _, users = await scim_users.search_users(ctx, user_req)
    _, groups = await scim_groups.search_groups(ctx, group_req)
    items: list[Any] = [*users, *groups]
    return _listing(user_req, len(items), items, ScimUserModel | Group)


async def elsewhere(request: web.Request, by: str) -> web.Response:
    """Anything else under /scim/v2: the discovery endpoints answer only GET (405), the rest is 404."""
    tail = request.match_info["tail"].strip("/").split("/")[0]
    if tail in DISCOVERY:
        raise ScimError(f"{request.method} is not allowed on /{tail}", status=405)
    raise ScimError(f"no SCIM endpoint at {request.path}", status=404)


def setup(app: web.Application) -> None:
    r = app.router
    for path, handler in (("/ServiceProviderConfig", service_provider_config), ("/Schemas", schemas),
                          ("/Schemas/{schema_id}", schemas), ("/ResourceTypes", resource_types),
                          ("/ResourceTypes/{type_id}", resource_types)):
        r.add_get(BASE_PATH + path, _guarded(handler))
    for endpoint, kind in (("/Users", USERS), ("/Groups", GROUPS)):
        r.add_get(BASE_PATH + endpoint, _guarded(kind.list))
        r.add_post(BASE_PATH + endpoint, _guarded(kind.post))
        r.add_post(BASE_PATH + endpoint + "/.search", _guarded(kind.post_search))
        r.add_get(BASE_PATH + endpoint + "/{scim_id}", _guarded(kind.read))
        r.add_put(BASE_PATH + endpoint + "/{scim_id}", _guarded(kind.put))
        r.add_patch(BASE_PATH + endpoint + "/{scim_id}", _guarded(kind.patch_one))
        r.add_delete(BASE_PATH + endpoint + "/{scim_id}", _guarded(kind.delete))
    r.add_post(BASE_PATH + "/.search", _guarded(search_all))
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        r.add_route(method, BASE_PATH + "/{tail:.*}", _guarded(elsewhere))
