"""What every UI handler shares: the signed-in session, CSRF checks, safe redirects, HTML
errors and rendering with the security headers."""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from functools import cache, wraps
from typing import Any
from urllib.parse import quote

from aiohttp import web
from jinja2 import Environment
from multidict import MultiDict, MultiDictProxy

from node import node_names, notifications, sessions, signin
from node.context import NodeContext
from node.media import Upload
from node.pagination import Page as Cursor
from node.sessions import SignedIn
from storage.errors import AtriumError, Forbidden, Invalid, NotFound
from storage.ids import parse_id
from storage.models import Account
from web.keys import CTX
from web.multipart import read_file_form
from web.ui.render import PAGE_HEADERS

JINJA = web.AppKey("ui_jinja", Environment)
UNREAD_CAP = 20
SESSION: web.RequestKey[SignedIn | None] = web.RequestKey("ui_session")
NEW_ANON_CSRF: web.RequestKey[str] = web.RequestKey("ui_new_anon_csrf")  # the token made for this response
ENROL = "/settings/security"  # where an account that must enrol a second factor is sent


def is_https(ctx: NodeContext) -> bool:
    return ctx.scheme == "https"


@dataclass(frozen=True)
class CookieNames:
    session: str
    csrf: str  # the form token of a visitor not signed in
    sso: str  # binds a single sign-on in flight to the browser that started it (web/ui/pages_sso.py)


@cache
def cookie_names(domain: str, scheme: str) -> CookieNames:
    """The node's own cookie names. A browser keeps cookies by host, not by host and port, so
    two nodes on one host (127.0.0.1:8001 and :8002) that used one name would overwrite each
    other's sign-in: the name carries the node's host and port (`atrium_session_127.0.0.1_8001`;
    every character a cookie name may not hold, `:` and `[]` among them, becomes `_`). Over
    https it also carries the `__Host-` prefix, with which a browser accepts the cookie only
    from this very host, Secure and for path `/` (no sibling subdomain can plant one)."""
    token = re.sub(r"[^a-z0-9.-]+", "_", domain.lower())
    prefix = "__Host-" if scheme == "https" else ""
    return CookieNames(f"{prefix}atrium_session_{token}", f"{prefix}atrium_csrf_{token}", f"{prefix}atrium_sso_{token}")


def cookies_of(ctx: NodeContext) -> CookieNames:
    return cookie_names(ctx.domain, ctx.scheme)


def set_cookie(response: web.StreamResponse, ctx: NodeContext, name: str, value: str, *, max_age: int | None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/", httponly=True, samesite="Lax", secure=is_https(ctx)
    )


def del_cookie(response: web.StreamResponse, ctx: NodeContext, name: str) -> None:
    # Said as it was set: a browser ignores a `__Host-` cookie's removal that is not Secure.
    response.del_cookie(name, path="/", httponly=True, samesite="Lax", secure=is_https(ctx))


async def current_session(request: web.Request) -> SignedIn | None:
    if SESSION not in request:
        token = request.cookies.get(cookies_of(request.app[CTX]).session, "")
        request[SESSION] = await sessions.lookup(request.app[CTX], token) if token else None
    return request[SESSION]


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to go back to; anything else (another site, `//host`) becomes `default`."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


@dataclass
class Page:
    request: web.Request
    ctx: NodeContext
    session: SignedIn | None
    form: MultiDictProxy[str]
    unread: int = 0  # unread notifications, shown in the navigation
    files: dict[str, Upload] = field(default_factory=dict)  # a file form's files (`page(files=...)`)

    @property
    def me(self) -> Account | None:
        return self.session.account if self.session else None

    @property
    def user(self) -> Account:
        if self.session is None:
            raise Forbidden("sign in first", status=401)
        return self.session.account

    def field(self, name: str, default: str = "") -> str:
        value = self.form.get(name, default)
        return value if isinstance(value, str) else default

    def next_url(self, default: str = "/") -> str:
        return safe_next(self.field("next") or self.request.query.get("next"), default)

    def csrf_token(self) -> str:
        if self.session is not None:
            return self.session.csrf_token
        return self.request.cookies.get(cookies_of(self.ctx).csrf) or self._new_anon_token()

    def _new_anon_token(self) -> str:
        token = self.request.get(NEW_ANON_CSRF)
        if token is None:
            token = secrets.token_urlsafe(24)
            self.request[NEW_ANON_CSRF] = token
        return token

    def render(self, template: str, status: int = 200, **values: Any) -> web.Response:
        env = self.request.app[JINJA]
        html = env.get_template(template).render(
            me=self.me, csrf=self.csrf_token(), path=self.request.path, domain=self.ctx.domain,
            node_name=self.ctx.display_name,
            unread=self.unread, **values
        )
        response = web.Response(text=html, content_type="text/html", status=status)
        fresh = self.request.get(NEW_ANON_CSRF)
        if fresh is not None:
            set_cookie(response, self.ctx, cookies_of(self.ctx).csrf, str(fresh), max_age=None)
        return response

    def redirect(self, location: str) -> web.Response:
        return web.Response(status=303, headers={"Location": location})

    def path_id(self, name: str, what: str) -> int:
        """The id in the path's `name` part; one that is no id answers 404, `no such {what}`."""
        found = parse_id(self.request.match_info[name])
        if found is None:
            raise NotFound(f"no such {what}")
        return found


Handler = Callable[[Page], Awaitable[web.StreamResponse]]


def _csrf_ok(request: web.Request, session: SignedIn | None, form: Mapping[str, Any]) -> bool:
    given = form.get("csrf")
    if not isinstance(given, str) or not given:
        return False
    expected = session.csrf_token if session else request.cookies.get(cookies_of(request.app[CTX]).csrf, "")
    return bool(expected) and hmac.compare_digest(given, expected)


async def _posted(
    request: web.Request, files: Collection[str], *, signed_in: bool
) -> tuple[Mapping[str, Any], dict[str, Upload]]:
    """A POST's form: a page that takes `files` reads a multipart body as a stream, each file
    under the node's upload cap (web/multipart.py), for a signed-in person only (nobody else
    spools files here); every other form is small and read whole."""
    if files and signed_in and request.content_type.startswith("multipart/"):
        cap = request.app[CTX].media_limits.max_upload_bytes
        form = await read_file_form(request, files, cap, not_multipart="")
        return form.fields, form.files
    try:
        return await request.post(), {}
    except UnicodeDecodeError as exc:  # raw bytes that are not UTF-8
        raise Invalid("what you sent is not UTF-8 text; nothing was changed", status=400) from exc


def page(
    *, signed_in: bool = True, roles: tuple[str, ...] = (), files: Collection[str] = (), enrolment: bool = False
) -> Callable[[Handler], Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    """Wrap a UI handler: load the session, require one when `signed_in` (and one of `roles`,
    when given: 403 for anyone else), check the CSRF token on every POST, answer failures as
    an HTML page, and add the security headers. A page that takes files names their fields
    (`files`): they are in `Page.files`. An account that must enrol a second factor first
    (node/signin.py `must_enrol`) is sent to do so from every page but those marked
    `enrolment` (the enrolment itself, signing in and out)."""

    def wrap(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        @wraps(handler)
        async def run(request: web.Request) -> web.StreamResponse:
            ctx = request.app[CTX]
            session = await current_session(request)
            form: MultiDictProxy[str] = MultiDictProxy(MultiDict())
            p = Page(request, ctx, session, form)
            response: web.StreamResponse
            await node_names.own_name(ctx)  # fresh for every word of the page that names the node
            if request.method == "POST":
                try:
                    posted, p.files = await _posted(request, files, signed_in=session is not None)
                except web.HTTPRequestEntityTooLarge:  # a form without files, over the small cap
                    response = p.render(
                        "error.html", 413, title="Too large",
                        message=f"What you sent is too large: at most {_megabytes(request.client_max_size)} at once. "
                        + ("Go back and choose smaller or fewer files." if files else "Nothing was changed; go back and send less."),
                    )
                    response.headers.update(PAGE_HEADERS)
                    return response
                except AtriumError as exc:  # a file over the cap, a malformed form
                    response = p.render("error.html", exc.status, title=_title(exc.status), message=exc.reason)
                    response.headers.update(PAGE_HEADERS)
                    return response
                p.form = MultiDictProxy(MultiDict((k, v) for k, v in posted.items() if isinstance(v, str)))
                if not _csrf_ok(request, session, p.form):
                    response = p.render(
                        "error.html", 403, title="Form expired",
                        message="This form has expired or did not come from this site. Go back, reload the page and try again.",
                    )
                    response.headers.update(PAGE_HEADERS)
                    return response
            if signed_in and session is None:
                target = request.path_qs if request.method == "GET" else "/"
                response = p.redirect("/signin?next=" + quote(target, safe="/"))
            elif session is not None and not enrolment and await signin.must_enrol(ctx, session.account):
                response = p.redirect(ENROL)
            else:
                try:
                    if session is not None and request.method == "GET":
                        p.unread = await _unread(ctx, session.account.id)
                    if roles and (p.me is None or p.me.role not in roles):
                        raise Forbidden("this page is for the node's staff")
                    response = await handler(p)
                except AtriumError as exc:
                    response = p.render("error.html", exc.status, title=_title(exc.status), message=exc.reason)
            response.headers.update(PAGE_HEADERS)
            return response

        return run

    return wrap


def _megabytes(n: int) -> str:
    return f"{n / 1048576:.0f} MB" if n >= 1048576 else f"{n // 1024} KB"


async def _unread(ctx: NodeContext, account_id: int) -> int:
    """How many of the newest notifications are unread (counted up to one page: "20+")."""
    recent = await notifications.list_notifications(ctx, account_id, Cursor(limit=UNREAD_CAP))
    return sum(1 for n in recent if not n.read)


def _title(status: int) -> str:
    return {401: "Please sign in", 403: "Not allowed", 404: "Not found", 409: "Already done", 429: "Slow down"}.get(
        status, "Something went wrong"
    )
