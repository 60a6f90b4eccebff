"""Audience ↔ addressing: how each visibility is written in `to`/`cc`, and read back.

| visibility   | to                 | cc                     | audience_scope |
|--------------|--------------------|------------------------|----------------|
| public       | Public             | followers, mentioned   |                |
| unlisted     | followers          | Public, mentioned      |                |
| followers    | followers          | mentioned              |                |
| direct       | mentioned          |                        |                |
| organization | followers          | mentioned              | organization   |
| local        | never leaves the node                                        |

A boost (`announce`) is to Public for a public post and to the booster's followers otherwise;
a Delete (`deletion`) names Public for a post anyone could see, and nobody otherwise (each
recipient gets it in its own inbox); an actor's update is to everyone (`EVERYONE`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from federation.vocab import PUBLIC, as_list, is_public


class NotFederated(ValueError):
    """A `local` post: it never leaves the node, so it has no addressing."""


@dataclass(frozen=True)
class Addressing:
    to: tuple[str, ...]
    cc: tuple[str, ...]
    scope: str | None = None


def address(visibility: str, followers_uri: str, mention_uris: Sequence[str]) -> Addressing:
    mentions = tuple(dict.fromkeys(mention_uris))
    if visibility == "public":
        return Addressing((PUBLIC,), (followers_uri, *mentions))
    if visibility == "unlisted":
        return Addressing((followers_uri,), (PUBLIC, *mentions))
    if visibility == "followers":
        return Addressing((followers_uri,), mentions)
    if visibility == "direct":
        return Addressing(mentions, ())
    if visibility == "organization":
        return Addressing((followers_uri,), mentions, "organization")
    if visibility == "local":
        raise NotFederated("local posts never leave their node")
    raise ValueError(f"unknown visibility {visibility!r}")


def announce(visibility: str, booster_followers_uri: str, author_uri: str | None) -> Addressing:
    """A boost of a post of `visibility` (a boost keeps its original's audience)."""
    to = (PUBLIC,) if visibility == "public" else (booster_followers_uri,)
    return Addressing(to, (booster_followers_uri, *((author_uri,) if author_uri else ())))


def deletion(visibility: str) -> Addressing:
    """The Delete of a post that had `visibility`."""
    return Addressing((PUBLIC,) if visibility in ("public", "unlisted") else (), ())


EVERYONE = Addressing((PUBLIC,), ())


def visibility_of(to: object, cc: object, followers_uri: str | None, scope: object = None) -> str:
    """The audience a received object declares. The receiving node still judges whether it
    believes an `organization` scope (only from peers it trusts as `organization`)."""
    to_list = [x for x in as_list(to) if isinstance(x, str)]
    cc_list = [x for x in as_list(cc) if isinstance(x, str)]
    if scope == "organization" and not any(is_public(x) for x in to_list + cc_list):
        return "organization"
    if any(is_public(x) for x in to_list):
        return "public"
    if any(is_public(x) for x in cc_list):
        return "unlisted"
    if followers_uri is not None and followers_uri in to_list + cc_list:
        return "followers"
    return "direct"


def recipients(to: object, cc: object, *extra: object) -> list[str]:
    """Every addressed URI (strings only, Public excluded), in order, without duplicates."""
    out: dict[str, None] = {}
    for field in (to, cc, *extra):
        for x in as_list(field):
            if isinstance(x, str) and not is_public(x):
                out[x] = None
    return list(out)
