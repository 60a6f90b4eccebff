"""Accounts: the signed-in user's own, one by id, one by handle."""

from __future__ import annotations

from aiohttp import web

from node import accounts
from storage.errors import NotFound
from web.api import serializers
from web.api.auth import ctx_of, optional_user, path_id, require_user


async def verify_credentials(request: web.Request) -> web.Response:
    account = await require_user(request, "read:accounts", "profile")
    return web.json_response(serializers.credential_account(ctx_of(request), account))


async def get_account(request: web.Request) -> web.Response:
    await optional_user(request, "read:accounts")
    account = await accounts.get_account(ctx_of(request), path_id(request))
    return web.json_response(serializers.account(ctx_of(request), account))


async def lookup(request: web.Request) -> web.Response:
    """`acct` is `user` or `user@this-domain`; remote handles are not resolved here yet."""
    await optional_user(request, "read:accounts")
    ctx = ctx_of(request)
    acct = request.query.get("acct", "").lstrip("@")
    username, _, domain = acct.partition("@")
    if not username or (domain and domain.lower() != ctx.domain.lower()):
        raise NotFound("Record not found")
    account = await accounts.get_local(ctx, username)
    return web.json_response(serializers.account(ctx, account))


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/accounts/verify_credentials", verify_credentials)
    app.router.add_get("/api/v1/accounts/lookup", lookup)
    app.router.add_get(r"/api/v1/accounts/{id}", get_account)
