"""The staff actions that take something away from a person (suspend, silence, disable): what
each does in a sentence, and the confirmation step each needs. The step is a page, not a
script dialog: a form posted without `confirmed=yes` answers with the page that explains the
action and asks again, so nothing is done by a stray click, with or without JavaScript."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from web.ui.core import Page

CONFIRMED = "yes"


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
}


def needs_confirming(p: Page, action: str) -> bool:
    return action in RISKY and p.field("confirmed") != CONFIRMED


def confirm_page(p: Page, action: str, handle: str, back: str) -> web.Response:
    """The page that explains `action` on @`handle` and asks for it once more."""
    risky = RISKY[action]
    return p.render(
        "admin/confirm.html",
        title=f"{risky.label} @{handle}?",
        risky=risky,
        handle=handle,
        action_url=p.request.path,
        back=back,
        confirmed=CONFIRMED,
    )
