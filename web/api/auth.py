"""What every client API handler needs: the bearer token's grant, request parameters
(form-encoded or JSON alike), booleans, ids and Link-header pagination."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from yarl import URL

from node import oauth
from node.context import NodeContext
from node.pagination import MAX_ID, Page
from storage.errors import Forbidden, Invalid, NotFound
from storage.ids import parse_id
from storage.models import Account
from web.keys import CTX

Params = dict[str, Any]
TRUE = ("true", "1", "on", "yes")
FALSE = ("false", "0", "off", "no", "")
# The request's verified grant; absent until first asked for, None when no token was sent.
GRANT: web.RequestKey[oauth.Grant | None] = web.RequestKey("api_grant")


def ctx_of(request: web.Request) -> NodeContext:
    return request.app[CTX]


def bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def grant_of(request: web.Request) -> oauth.Grant | None:
    """The request's grant (cached on the request); None without a token, 401 for a bad one."""
    if GRANT not in request:
        token = bearer(request)
        request[GRANT] = await oauth.verify_token(ctx_of(request), token) if token else None
    return request[GRANT]


def _check_scope(grant: oauth.Grant, scopes: tuple[str, ...]) -> None:
    if not any(grant.allows(s) for s in scopes):
        raise Forbidden("This action is outside the authorized scopes")


async def require_user(request: web.Request, *scopes: str) -> Account:
    """The signed-in account, its token allowing one of `scopes`: else 401, 403 or 422."""
    grant = await grant_of(request)
    if grant is None:
        raise oauth.OAuthError("invalid_token", "The access token is invalid", status=401)
    _check_scope(grant, scopes)
    if grant.account is None:
        raise Invalid("This method requires an authenticated user")
    return grant.account


async def optional_user(request: web.Request, *scopes: str) -> Account | None:
    """The signed-in account if a token was sent (checked as strictly), else None."""
    grant = await grant_of(request)
    if grant is None:
        return None
    _check_scope(grant, scopes)
    return grant.account


async def params(request: web.Request) -> Params:
    """Query, then body parameters: JSON or form. `name[]` form keys become lists."""
    out: Params = {}
    for source in (request.query, await _body(request)):
        for key, value in _items(source):
            if key.endswith("[]"):
                out.setdefault(key[:-2], []).append(value)
            else:
                out[key] = value
    return out


async def _body(request: web.Request) -> Any:
    if not request.can_read_body:
        return {}
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError as exc:
            raise Invalid("the body is not valid JSON") from exc
        if not isinstance(body, dict):
            raise Invalid("the JSON body must be an object")
        return body
    try:
        return await request.post()
    except (ValueError, HttpProcessingError) as exc:  # a malformed form or multipart body
        raise Invalid("the body is not a valid form") from exc


def _items(source: Any) -> list[tuple[str, Any]]:
    return list(source.items())


def flag(p: Params, name: str, default: bool | None = None) -> bool | None:
    value = p.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return bool(value)
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise Invalid(f"{name} must be true or false")


def text_param(p: Params, name: str) -> str | None:
    value = p.get(name)
    if value is None:
        return None
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def id_param(p: Params, name: str) -> int | None:
    """An optional id parameter: None when absent, NotFound when it names no possible record."""
    raw = text_param(p, name)
    if not raw:
        return None
    value = parse_id(raw)
    if value is None:
        raise NotFound("Record not found")
    return value


def path_id(request: web.Request, name: str = "id") -> int:
    raw = request.match_info[name]
    # isascii: str.isdigit() also accepts digits int() refuses, such as "²"; ids are BIGINT.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or int(raw) > MAX_ID:
        raise NotFound("Record not found")
    return int(raw)


def page_of(request: web.Request) -> Page:
    q = request.query
    return Page.parse(q.get("max_id"), q.get("since_id"), q.get("min_id"), q.get("limit"))


def link_header(request: web.Request, ids: list[int]) -> dict[str, str]:
    """Mastodon's Link header: `next` pages older than the last item, `prev` newer than the first."""
    if not ids:
        return {}
    base = URL(f"{ctx_of(request).base_url}{request.path}")
    keep = [(k, v) for k, v in request.query.items() if k not in ("max_id", "min_id", "since_id")]
    nxt = base.with_query([*keep, ("max_id", str(ids[-1]))])
    prev = base.with_query([*keep, ("min_id", str(ids[0]))])
    return {"Link": f'<{nxt}>; rel="next", <{prev}>; rel="prev"'}
