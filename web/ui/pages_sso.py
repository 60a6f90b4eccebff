"""Single sign-on in the web UI: "Sign in with <provider>" sends the browser to the company's
OpenID provider (node/oidc.py `begin`), and the provider sends it back to the callback, where
the ID token is checked whole (`finish`) and node/signin.py's door signs the person in — the
same session as a password sign-in. The OAuth authorize page (web/api/oauth.py) links here
with itself as `next`, so a Mastodon app signs in through the provider too.

`next` is a local path only (web/ui/core.py `safe_next`), kept server-side with the state, and
the provider's redirect URI is fixed (`/auth/oidc/callback`): nothing in the flow names
another site to go to."""

from __future__ import annotations

from aiohttp import web

from node import oidc, signin
from storage.errors import AtriumError
from web.ui.core import ENROL, Page, cookies_of, del_cookie, page, safe_next, set_cookie
from web.ui.pages_auth import start_session


@page(signed_in=False, enrolment=True)
async def sso_start(p: Page) -> web.StreamResponse:
    if p.me is not None:
        return p.redirect(p.next_url())
    begun = await oidc.begin(p.ctx, p.next_url())
    response = p.redirect(begun.url)
    set_cookie(response, p.ctx, cookies_of(p.ctx).sso, begun.browser_token,
               max_age=int(oidc.LOGIN_LIFETIME.total_seconds()))
    return response


@page(signed_in=False, enrolment=True)
async def sso_callback(p: Page) -> web.StreamResponse:
    q = p.request.query
    name = cookies_of(p.ctx).sso
    try:
        done, next_path = await signin.single_sign_on(
            p.ctx, state=q.get("state", ""), code=q.get("code", ""),
            error=q.get("error_description") or q.get("error", ""), browser_token=p.request.cookies.get(name, ""))
    except AtriumError as exc:
        response: web.StreamResponse = p.render("error.html", exc.status, title="Sign-in failed",
                                                message=exc.reason)
    else:
        response = await start_session(p, done.account, ENROL if done.must_enrol else safe_next(next_path))
    del_cookie(response, p.ctx, name)
    return response


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/auth/oidc", sso_start)
    app.router.add_get(oidc.CALLBACK_PATH, sso_callback)
