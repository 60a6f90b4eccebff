"""Polls in the web UI: a vote (a plain form POST that redirects back to where it was cast,
so it works without JavaScript), and the composer's poll fields read into a `NewPoll`."""

from __future__ import annotations

from aiohttp import web

from node import polls
from node.posts import NewPoll
from storage.errors import Invalid
from storage.models.polls import MAX_EXPIRY_S, MAX_OPTIONS, MIN_EXPIRY_S, OPTION_CHARS
from web.ui.core import Page, page

# How long a poll stays open, as the composer offers it (Mastodon's choices, within the limits).
DURATIONS = ((300, "5 minutes"), (1800, "30 minutes"), (3600, "1 hour"), (21600, "6 hours"),
             (86400, "1 day"), (259200, "3 days"), (604800, "7 days"))
DEFAULT_DURATION = 86400
assert all(MIN_EXPIRY_S <= s <= MAX_EXPIRY_S for s, _ in DURATIONS)

COMPOSER_LIMITS = {"max_options": MAX_OPTIONS, "option_chars": OPTION_CHARS, "durations": DURATIONS}


def _options(p: Page) -> list[str]:
    """The composer's option fields, in order (one field each: a multipart form keeps one value a name)."""
    return [p.field(f"poll_option_{i}") for i in range(1, MAX_OPTIONS + 1)]


def typed(p: Page) -> dict[str, object]:
    """What the composer's poll fields held, to give back with the form after an error."""
    return {"options": _options(p),
            "expires_in": p.field("poll_expires_in") or str(DEFAULT_DURATION),
            "multiple": bool(p.field("poll_multiple"))}


def poll_of(p: Page) -> NewPoll | None:
    """The poll the composer asks for; None when no option was typed."""
    typed_options = [o.strip() for o in _options(p) if o.strip()]
    if not typed_options:
        return None
    raw = p.field("poll_expires_in") or str(DEFAULT_DURATION)
    if not raw.isdigit():
        raise Invalid("choose how long the poll stays open")
    return NewPoll(options=tuple(typed_options), expires_in=int(raw), multiple=bool(p.field("poll_multiple")))


@page()
async def vote(p: Page) -> web.StreamResponse:
    post_id = p.path_id("post_id", "post")
    raw = [c for c in p.form.getall("choice", []) if isinstance(c, str)][:MAX_OPTIONS + 1]
    if not raw:
        raise Invalid("choose an option to vote")
    if not all(c.isdigit() and len(c) < 3 for c in raw):
        raise Invalid("no such option")
    await polls.vote(p.ctx, p.user, post_id, [int(c) for c in raw])
    return p.redirect(p.next_url("/") + f"#post-{post_id}")


def setup_routes(app: web.Application) -> None:
    app.router.add_post(r"/posts/{post_id:\d+}/vote", vote)
