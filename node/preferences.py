"""A person's preferences, as Mastodon's `/api/v1/preferences` names them: the audience,
sensitivity and language new posts start with, and whether media and content warnings are
shown expanded. Stored per local account (storage.models.AccountPreferences); the client API
(`/api/v1/preferences`, `update_credentials`' `source[...]`) and the web UI's settings page
read and write the same row, and the composer and `POST /api/v1/statuses` start from it.

An account that never saved a default audience has none: apps then post `public` (Mastodon's
default, what a client that sends no visibility expects), the web UI's composer offers
`organization` (WEB_DEFAULT_AUDIENCE) — once chosen, both use the choice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from node.audience import Audience
from node.context import NodeContext
from storage.errors import Invalid, NotFound
from storage.models import Account, AccountPreferences

API_DEFAULT_AUDIENCE = Audience.PUBLIC
WEB_DEFAULT_AUDIENCE = Audience.ORGANIZATION
EXPAND_MEDIA = ("default", "show_all", "hide_all")
# An ISO 639-1 or 639-3 code (Mastodon's `language`): two or three lowercase letters.
_LANGUAGE = re.compile(r"[a-z]{2,3}")


@dataclass(frozen=True)
class Preferences:
    audience: Audience | None = None  # None: never chosen
    sensitive: bool = False
    language: str | None = None
    expand_media: str = "default"
    expand_spoilers: bool = False

    @property
    def api_audience(self) -> Audience:
        """What a post made through the client API without a visibility gets."""
        return self.audience or API_DEFAULT_AUDIENCE

    @property
    def web_audience(self) -> Audience:
        """What the web UI's composer offers first."""
        return self.audience or WEB_DEFAULT_AUDIENCE


@dataclass(frozen=True)
class Change:
    """What to change: None leaves a preference as it is (`language=""` clears it)."""

    audience: Audience | None = None
    sensitive: bool | None = None
    language: str | None = None
    expand_media: str | None = None
    expand_spoilers: bool | None = None


def audience_of(word: str) -> Audience:
    """An audience named by Mastodon's words (`private`) or Atrium's own; Invalid otherwise."""
    audience = Audience.from_mastodon(word.strip())
    if audience is None:
        raise Invalid(f"unknown visibility {word[:40]!r}: one of {', '.join(Audience.mastodon_words())}")
    return audience


def language_of(word: str) -> str:
    """A language code, lowercased; "" clears the default. Invalid for anything else."""
    code = word.strip().lower()
    if code and not _LANGUAGE.fullmatch(code):
        raise Invalid(f"language {word[:40]!r} is not an ISO 639 code (two or three letters)")
    return code


def _checked(change: Change) -> Change:
    if change.expand_media is not None and change.expand_media not in EXPAND_MEDIA:
        raise Invalid(f"reading:expand:media must be one of {', '.join(EXPAND_MEDIA)}")
    if change.language is not None:
        language_of(change.language)
    return change


def _of(row: AccountPreferences | None) -> Preferences:
    if row is None:
        return Preferences()
    return Preferences(
        audience=Audience(row.default_audience) if row.default_audience in set(Audience) else None,
        sensitive=row.default_sensitive,
        language=row.default_language,
        expand_media=row.expand_media if row.expand_media in EXPAND_MEDIA else "default",
        expand_spoilers=row.expand_spoilers,
    )


async def of(ctx: NodeContext, account_id: int) -> Preferences:
    async with ctx.db.reader() as s:
        return _of(await s.get(AccountPreferences, account_id))


async def update(ctx: NodeContext, account_id: int, change: Change) -> Preferences:
    """Save what `change` names (all checked before anything is written) and return the whole."""
    _checked(change)
    async with ctx.db.session() as s:
        account = await s.get(Account, account_id)
        if account is None or account.domain is not None:
            raise NotFound("no such local account")
        row = await s.get(AccountPreferences, account_id)
        if row is None:
            row = AccountPreferences(account_id=account_id, default_sensitive=False, expand_media="default",
                                     expand_spoilers=False)
            s.add(row)
        if change.audience is not None:
            row.default_audience = change.audience.value
        if change.sensitive is not None:
            row.default_sensitive = change.sensitive
        if change.language is not None:
            row.default_language = language_of(change.language) or None
        if change.expand_media is not None:
            row.expand_media = change.expand_media
        if change.expand_spoilers is not None:
            row.expand_spoilers = change.expand_spoilers
        await s.flush()
        return _of(row)
