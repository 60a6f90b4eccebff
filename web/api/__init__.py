"""The Mastodon-compatible client API and its OAuth 2 server."""

from __future__ import annotations

from aiohttp import web

from web.api import (
    accounts,
    bookmarks,
    conversations,
    favourites,
    instance,
    markers,
    media,
    notifications,
    oauth,
    preferences,
    relationships,
    search,
    status_edits,
    status_reactors,
    statuses,
    streaming,
    timelines,
)


def setup(app: web.Application) -> None:
    oauth.setup(app)
    instance.setup(app)
    accounts.setup(app)
    statuses.setup(app)
    timelines.setup(app)
    notifications.setup(app)
    relationships.setup(app)
    bookmarks.setup(app)
    favourites.setup(app)
    conversations.setup(app)
    markers.setup(app)
    media.setup(app)
    status_edits.setup(app)
    search.setup(app)
    streaming.setup(app)
    preferences.setup(app)
    status_reactors.setup(app)
