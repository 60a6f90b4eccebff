"""The Mastodon-compatible client API and its OAuth 2 server."""

from __future__ import annotations

from aiohttp import web

from web.api import (
    accounts,
    announcements,
    bookmarks,
    conversations,
    directory,
    domain_blocks,
    favourites,
    filters,
    instance,
    lists,
    markers,
    media,
    notification_groups,
    notifications,
    oauth,
    pins,
    polls,
    preferences,
    relationships,
    reports,
    scheduled_statuses,
    search,
    status_edits,
    status_reactors,
    statuses,
    streaming,
    tags,
    timelines,
    trends,
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
    lists.setup(app)
    favourites.setup(app)
    filters.setup(app)
    conversations.setup(app)
    domain_blocks.setup(app)
    markers.setup(app)
    media.setup(app)
    status_edits.setup(app)
    search.setup(app)
    reports.setup(app)
    scheduled_statuses.setup(app)
    streaming.setup(app)
    directory.setup(app)
    tags.setup(app)
    trends.setup(app)
    preferences.setup(app)
    status_reactors.setup(app)
    pins.setup(app)
    polls.setup(app)
    announcements.setup(app)
