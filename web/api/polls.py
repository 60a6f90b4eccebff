"""Polls in the client API (Mastodon's): `poll[...]` of a new status read here, the Poll
entity (`GET /api/v1/polls/:id`) and votes (`POST /api/v1/polls/:id/votes`, `choices[]`)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from node import polls
from node.posts import NewPoll
from storage.errors import Invalid
from storage.models.polls import MAX_OPTIONS
from web.api import serializers
from web.api.auth import Params, ctx_of, flag, optional_user, params, path_id, require_user

MAX_CHOICES = MAX_OPTIONS  # a vote names each option at most once


def _poll_fields(p: Params) -> dict[str, Any] | None:
    """`poll` as a JSON object, or the form's `poll[...]` keys, as one dict; None without a poll."""
    nested = p.get("poll")
    if isinstance(nested, dict):
        return nested
    if nested not in (None, ""):
        raise Invalid("poll must be an object with options and expires_in")
    flat = {key[5:-1]: value for key, value in p.items() if key.startswith("poll[") and key.endswith("]")}
    return flat or None


def _int(value: object, name: str) -> int:
    if isinstance(value, bool):
        raise Invalid(f"poll {name} must be a number of seconds")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise Invalid(f"poll {name} must be a number of seconds")
    return int(text)


def poll_of(p: Params) -> NewPoll | None:
    """The poll a new status asks for; 422 for one that is malformed. Only as many options as
    the limit allows (and one more, to say so) are ever read: 10,000 options cost nothing."""
    fields = _poll_fields(p)
    if fields is None:
        return None
    options = fields.get("options")
    if options is None:
        raise Invalid("a poll needs options")
    if not isinstance(options, list):
        options = [options]
    if len(options) > MAX_OPTIONS:
        raise Invalid(f"a poll has at most {MAX_OPTIONS} options")
    if any(not isinstance(o, str | int | float) or isinstance(o, bool) for o in options):
        raise Invalid("poll options must be text")
    if fields.get("expires_in") is None:
        raise Invalid("a poll needs expires_in (seconds)")
    return NewPoll(
        options=tuple(str(o) for o in options),
        expires_in=_int(fields["expires_in"], "expires_in"),
        multiple=bool(flag(fields, "multiple", False)),
        hide_totals=bool(flag(fields, "hide_totals", False)),
    )


def _choices(p: Params) -> list[int]:
    raw = p.get("choices")
    if raw is None:
        raise Invalid("choices is required")
    values = raw if isinstance(raw, list) else [raw]
    if len(values) > MAX_CHOICES:
        raise Invalid(f"at most {MAX_CHOICES} choices")
    return [_int(v, "choice") for v in values]


async def show(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await optional_user(request, "read:statuses")
    return web.json_response(serializers.poll(await polls.get_poll(ctx, viewer, path_id(request))))


async def votes(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    voter = await require_user(request, "write:statuses")
    view = await polls.vote(ctx, voter, path_id(request), _choices(await params(request)))
    return web.json_response(serializers.poll(view))


def setup(app: web.Application) -> None:
    app.router.add_get(r"/api/v1/polls/{id}", show)
    app.router.add_post(r"/api/v1/polls/{id}/votes", votes)
