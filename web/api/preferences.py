"""`GET /api/v1/preferences`: the signed-in person's preferences (node/preferences.py), in
Mastodon's keys; the default audience as Mastodon's word, and Atrium's own beside it."""

from __future__ import annotations

from aiohttp import web

from node import preferences
from web.api.auth import ctx_of, require_user
from web.api.serializers import JSON


def render(prefs: preferences.Preferences) -> JSON:
    audience = prefs.api_audience
    return {
        "posting:default:visibility": audience.rules.mastodon,
        "posting:default:sensitive": prefs.sensitive,
        "posting:default:language": prefs.language,
        "reading:expand:media": prefs.expand_media,
        "reading:expand:spoilers": prefs.expand_spoilers,
        # Mastodon's word for `organization` is `unlisted`: Atrium's clients read the audience here.
        "atrium:posting:default:visibility": audience.value,
    }


async def show(request: web.Request) -> web.Response:
    account = await require_user(request, "read:accounts")
    return web.json_response(render(await preferences.of(ctx_of(request), account.id)))


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/preferences", show)
