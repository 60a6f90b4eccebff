"""The Mastodon-compatible client API and its OAuth 2 server."""

from __future__ import annotations

from aiohttp import web

from web.api import (
    accounts,
    bookmarks,
    conversations,
    domain_blocks,
    favourites,
    instance,
    markers,
    media,
    notification_groups,
    notifications,
    oauth,
    relationships,
    search,
    status_edits,
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
    notification_groups.setup(app)
    relationships.setup(app)
    bookmarks.setup(app)
    favourites.setup(app)
    conversations.setup(app)
    domain_blocks.setup(app)
    markers.setup(app)
    media.setup(app)
    status_edits.setup(app)
    search.setup(app)
    streaming.setup(app)
