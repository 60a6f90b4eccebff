"""The actions that take something away (a moderator's suspend, silence, disable and remove;
a person's block of someone or of a whole domain, and delete of their own post): what each does in a sentence, and
the confirmation step each needs. The step is a page, not a
script dialog: a form posted without `confirmed=yes` answers with the page that explains the
action and asks again, so nothing is done by a stray click, with or without JavaScript."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from node.sanitize import html_to_text
from storage.models import Post
from web.ui.core import Page

CONFIRMED = "yes"
QUOTE_CHARS = 280  # enough of a post to recognise it on the page that asks


@dataclass(frozen=True)
class Risky:
    label: str
    explanation: str
    with_reason: bool = True  # the action records a reason in the audit log


RISKY = {
    "suspend": Risky(
        "Suspend",
        "Hides the account and every post of it everywhere on this node; a local person can no longer "
        "sign in and a remote account's activities are refused. You can lift it later.",
    ),
    "silence": Risky(
        "Silence",
        "Keeps the account's posts out of the shared timelines (organisation, this node, federated, "
        "hashtags); people who follow it still see them. You can lift it later.",
    ),
    "disable": Risky(
        "Disable",
        "Signs the person out on every device and refuses their sign-in and apps; their posts stay. "
        "You can enable the account again.",
        with_reason=False,
    ),
    "remove": Risky(
        "Remove",
        "Deletes the post for everyone, here and on the peers that have it. This cannot be undone.",
    ),
    "block": Risky(
        "Block",
        "They can no longer follow you, you stop following each other, and their posts leave your "
        "timelines; their node is told if they are on another. You can unblock them later.",
        with_reason=False,
    ),
    "release": Risky(
        "Release",
        "Ends this case's hold of the account: retention removes its expired posts again, its own "
        "deletes keep no sealed copy, and it can be deleted. Another case holding it still holds it.",
        with_reason=False,
    ),
    "delete-account": Risky(
        "Delete",
        "Deletes your account for good: your posts, boosts and likes, who you follow and who follows "
        "you, your bookmarks, pictures and sign-ins. The other nodes that know you are told to remove "
        "them too. Your name stays reserved and cannot be used again. This cannot be undone.",
        with_reason=False,
    ),
    "block_domain": Risky(
        "Block everyone on",
        "You will no longer see posts or notifications from anyone on this domain, in any of your "
        "timelines. Your follows of people there and their follows of you end, and their node is told "
        "(it is not told of the block itself). You can unblock the domain later from Blocked people.",
        with_reason=False,
    ),
    "delete": Risky(
        "Delete",
        "Deletes the post for everyone, here and on the nodes it reached, with its likes and boosts. "
        "This cannot be undone.",
        with_reason=False,
    ),
}


def needs_confirming(p: Page, action: str) -> bool:
    return action in RISKY and p.field("confirmed") != CONFIRMED


def confirm_page(p: Page, action: str, subject: str, back: str, *, quote: str = "") -> web.Response:
    """The page that explains `action` on `subject` ("@bob", "this post") and asks for it once
    more; `quote`, the start of a post, shows which one. Cancel goes back to `back`, and so
    does the action once done (its `next`)."""
    risky = RISKY[action]
    return p.render(
        "admin/confirm.html",
        title=f"{risky.label} {subject}?",
        risky=risky,
        subject=subject,
        quote=quote,
        reason=p.field("reason"),
        action_url=p.request.path,
        back=back,
        confirmed=CONFIRMED,
    )


def excerpt(post: Post) -> str:
    """The start of a post's text, to show which post a confirmation page is about."""
    text = " ".join((html_to_text(post.content_html) if post.content_html else post.source).split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1].rstrip() + "…"
