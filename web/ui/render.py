"""Jinja2 environment (autoescape on every template) and the headers every UI page carries."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from node import avatars
from node.audience_words import LABELS
from storage.models import Account

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

# Static files only: no inline script or style anywhere, so nothing injected can run. `blob:`
# pictures are only the page's own: the composer's previews of files chosen on it.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    if moment is None:
        return ""
    now = now or datetime.now(UTC)
    seconds = int((now - moment).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    if seconds < 7 * 86400:
        return f"{seconds // 86400} d ago"
    return moment.strftime("%d %b %Y")


def iso(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else ""


def avatar_src(account: Account, size: int) -> str:
    """A person's avatar as pages load it: from this node only (the page's policy loads no
    image from elsewhere, and a reader's browser never calls on a peer), so a peer's picture
    not copied here shows the default drawn here."""
    return avatars.avatar_url("", account, size=size, here_only=True)


def header_src(account: Account) -> str:
    return avatars.header_url("", account, here_only=True)


def make_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ago"] = ago
    env.filters["iso"] = iso
    env.globals["AUDIENCE_LABELS"] = LABELS
    # Each compose form carries a fresh key: a form sent twice (a double click, a resend after
    # a dropped answer) makes one post, as a client's Idempotency-Key does.
    env.globals["new_post_key"] = lambda: secrets.token_urlsafe(16)
    env.globals["avatar_src"] = avatar_src
    env.globals["header_src"] = header_src
    return env
