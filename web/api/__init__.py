"""The Mastodon-compatible client API and its OAuth 2 server."""

from __future__ import annotations

from aiohttp import web

from web.api import accounts, instance, notifications, oauth, statuses, timelines


def setup(app: web.Application) -> None:
    oauth.setup(app)
    instance.setup(app)
    accounts.setup(app)
    statuses.setup(app)
    timelines.setup(app)
    notifications.setup(app)
