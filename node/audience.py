"""The six audiences of a post, each with its rules: the one definition every other place asks.

| audience     | who may see it                      | listed | leaves the node to   | boost | narrows replies | Mastodon |
|--------------|-------------------------------------|--------|----------------------|-------|-----------------|----------|
| public       | anyone                              | yes    | peers not blocked    | yes   |                 | public   |
| unlisted     | anyone                              |        | peers not blocked    | yes   |                 | unlisted |
| followers    | accepted followers, mentioned people|        | peers not blocked    |       |                 | private  |
| direct       | mentioned people                    |        | peers not blocked    |       |                 | direct   |
| organization | the organisation, mentioned people  | yes    | `organization` peers | yes   | yes             | unlisted |
| local        | people on the node it was written on| yes    | never                | yes   | yes             | unlisted |

Listed: shown in shared timelines. Narrows replies: a reply to it is kept to it (or direct).
The author always sees their own post. An `Audience` is a `StrEnum`: its value is the string
stored in `posts.visibility` (storage.models.VISIBILITIES, the same six) and written on the
wire (the client API's `atrium_visibility`, NodeInfo), so a member compares equal to what
the database returns. How each is written in ActivityPub's `to`/`cc` is
federation/addressing.py (the wire format; `address` and `addressed` here ask it); what the
policy makes of it per peer is `Policy.outbound`, through `admits`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from federation import addressing
from node.trust import Trust
from storage.errors import Invalid


@dataclass(frozen=True)
class Rules:
    """What an audience means, rule by rule (the table above); a rule not named is false."""

    label: str  # its name in the web UI
    mastodon: str  # Mastodon's visibility for it, in the client API
    least_trust: Trust | None  # the least trust a peer needs to receive it; None: it never leaves the node
    anyone_may_see: bool = False  # anyone, signed in or not, here or anywhere
    followers_may_see: bool = False  # the author's accepted followers
    mentioned_may_see: bool = False  # the people the post mentions (and addresses)
    organization_may_see: bool = False  # everyone in the organisation (node.organization)
    local_users_may_see: bool = False  # people on this node, for a post written on this node
    listed: bool = False  # in shared timelines (local, organisation, hashtag), for those who may see it
    to_followers: bool = False  # goes to the author's followers' homes (here, and on peers the policy admits)
    boostable: bool = False  # a boost keeps the audience: not for lists of people, whom a boost would widen
    may_be_local_only: bool = False  # the client API's `local_only` may narrow it to `local`
    narrows_replies: bool = False  # a reply to it is kept to it (unless the reply is direct)


class Audience(StrEnum):
    PUBLIC = "public"
    UNLISTED = "unlisted"
    FOLLOWERS = "followers"
    DIRECT = "direct"
    ORGANIZATION = "organization"
    LOCAL = "local"

    @property
    def rules(self) -> Rules:
        return _RULES[self]

    @property
    def federates(self) -> bool:
        """Whether it ever leaves the node (to a peer, or to an anonymous reader)."""
        return _RULES[self].least_trust is not None

    def admits(self, trust: Trust) -> bool:
        """May a peer trusted as `trust` receive a post of this audience (content rules
        aside)? Asked by `Policy.outbound`; a blocked peer receives nothing."""
        return trust in _ADMITTED[self]

    def may_see(
        self, *, follower: bool, mentioned: bool, in_organization: bool, local_user: bool, local_post: bool
    ) -> bool:
        """Whether someone other than the author may see a post of this audience, given what
        is true of them (node.visibility asks it for one post, and writes the same as SQL)."""
        r = _RULES[self]
        return (
            r.anyone_may_see
            or (r.followers_may_see and follower)
            or (r.mentioned_may_see and mentioned)
            or (r.organization_may_see and in_organization)
            or (r.local_users_may_see and local_user and local_post)
        )

    def reply_audience(self, asked: Audience) -> Audience:
        """The audience of a reply to a post of this one, asked as `asked`: a reply to an
        inward-facing post never reaches further than its parent did (direct stays direct)."""
        if _RULES[self].narrows_replies and asked not in (Audience.DIRECT, self):
            return self
        return asked

    def as_claimed_by(self, trust: Trust) -> Audience:
        """The audience a received post keeps when a peer trusted as `trust` declares this
        one. Only peers that may receive an audience may speak for it: an outsider's
        `organization` claim is narrowed to its followers, never widened into the organisation."""
        if self is Audience.ORGANIZATION and not self.admits(trust):
            return Audience.FOLLOWERS
        return self

    def address(self, followers_uri: str, mention_uris: Sequence[str]) -> addressing.Addressing:
        """ActivityPub's `to`/`cc` (and scope) for a post of this audience; `local` has none
        (`addressing.NotFederated`)."""
        return addressing.address(self.value, followers_uri, mention_uris)

    def announce_addressing(self, booster_followers_uri: str, author_uri: str | None) -> addressing.Addressing:
        """`to`/`cc` of a boost of a post of this audience."""
        return addressing.announce(self.value, booster_followers_uri, author_uri)

    def delete_addressing(self) -> addressing.Addressing:
        """`to`/`cc` of the Delete of a post that had this audience."""
        return addressing.deletion(self.value)

    @classmethod
    def addressed(cls, to: object, cc: object, followers_uri: str | None, scope: object = None) -> Audience:
        """The audience a received object's addressing declares (before the receiving node
        judges the claim: `as_claimed_by`)."""
        return cls(addressing.visibility_of(to, cc, followers_uri, scope))

    @classmethod
    def parse(cls, word: str) -> Audience:
        """An audience named by a user or a client; `Invalid` (422) for any other word."""
        try:
            return cls(word)
        except ValueError:
            raise Invalid(f"unknown visibility {word!r}: one of {', '.join(cls)}") from None

    @classmethod
    def from_mastodon(cls, word: str) -> Audience | None:
        """The audience a client asks for: Mastodon's words (`private` is followers-only) or
        Atrium's own; None for any other word."""
        return _FROM_MASTODON.get(word)

    @classmethod
    def mastodon_words(cls) -> tuple[str, ...]:
        """Every word `from_mastodon` knows, in the order error messages list them."""
        return tuple(_FROM_MASTODON)

    @classmethod
    def where(cls, rule: Callable[[Audience], bool]) -> tuple[Audience, ...]:
        """The audiences a rule holds for, in order: `Audience.where(lambda a: a.rules.listed)`."""
        return tuple(a for a in cls if rule(a))


_ANY = Trust.LIMITED  # every peer not blocked
# Hot paths (the policy's question, a page of statuses) read these module names: on Python
# 3.11 an attribute of an enum class (`Trust.BLOCKED`, `Audience("public")`) costs ~20 times more.
_BLOCKED = Trust.BLOCKED
_BY_VALUE: dict[str, Audience] = {a.value: a for a in Audience}


def audience_of(stored: str) -> Audience:
    """The audience of a stored `posts.visibility` (or a delivery's): `Audience(stored)`, fast;
    `ValueError` for a string that is none."""
    try:
        return _BY_VALUE[stored]
    except KeyError:
        raise ValueError(f"{stored[:40]!r} is not an audience") from None


# fmt: off
_RULES = {  # each audience's rules, those not named false (one row a line, to read as a table)
    Audience.PUBLIC: Rules("Public", "public", _ANY, anyone_may_see=True, mentioned_may_see=True,
                           listed=True, to_followers=True, boostable=True, may_be_local_only=True),
    Audience.UNLISTED: Rules("Unlisted", "unlisted", _ANY, anyone_may_see=True, mentioned_may_see=True,
                             to_followers=True, boostable=True, may_be_local_only=True),
    Audience.FOLLOWERS: Rules("Followers", "private", _ANY, followers_may_see=True, mentioned_may_see=True,
                              to_followers=True),
    Audience.DIRECT: Rules("Mentioned people only", "direct", _ANY, mentioned_may_see=True),
    Audience.ORGANIZATION: Rules("Organisation", "unlisted", Trust.ORGANIZATION, organization_may_see=True,
                                 mentioned_may_see=True, listed=True, to_followers=True, boostable=True,
                                 may_be_local_only=True, narrows_replies=True),
    Audience.LOCAL: Rules("This node only", "unlisted", None, local_users_may_see=True, listed=True,
                          to_followers=True, boostable=True, may_be_local_only=True, narrows_replies=True),
}
# fmt: on
# Each audience's `admits`, worked out once from its least trust (asked for every delivery).
_ADMITTED = {
    a: frozenset(t for t in Trust if r.least_trust is not None and t is not _BLOCKED and t.at_least(r.least_trust))
    for a, r in _RULES.items()
}
# Mastodon's words and Atrium's own, as clients may ask (listed in this order in errors).
_FROM_MASTODON = {
    "public": Audience.PUBLIC,
    "unlisted": Audience.UNLISTED,
    "private": Audience.FOLLOWERS,
    "followers": Audience.FOLLOWERS,
    "direct": Audience.DIRECT,
    "organization": Audience.ORGANIZATION,
    "local": Audience.LOCAL,
}
