"""Trust levels: how far the policy trusts a peer, from `blocked` up to `organization`.

A type of its own, apart from the audiences (node/audience.py), although two of its names are
the same words: `public` and `organization` are both a trust level of a peer and an audience
of a post. The policy file writes these strings (`trust = "partner"`, docs/policy.md).
"""

from __future__ import annotations

from enum import StrEnum


class Trust(StrEnum):
    """In the order the policy's messages list them, most trusted first."""

    ORGANIZATION = "organization"  # a sibling node of the same organisation: also gets `organization` posts
    PARTNER = "partner"  # another organisation: public, unlisted, followers and direct posts
    PUBLIC = "public"  # the open Fediverse (and an anonymous reader): like partner, unless a rule says otherwise
    LIMITED = "limited"  # as public, but its follows of local accounts always need approval
    BLOCKED = "blocked"  # nothing in, nothing out

    @property
    def rank(self) -> int:
        """Higher is more trusted: `blocked` 0 … `organization` 4."""
        return _RANK[self]

    def at_least(self, other: Trust) -> bool:
        return _RANK[self] >= _RANK[other]


_RANK = {t: n for n, t in enumerate(reversed(Trust))}
