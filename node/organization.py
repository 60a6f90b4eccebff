"""Who is in the organisation: the domains the trust policy trusts as `organization`.

One meaning everywhere: a domain is in the organisation exactly when `Policy.trust_of` gives
it `organization` — exact rules, `*.` wildcards and, in open mode, `default_trust`, with a more
specific rule of another trust taking a host out from under a wildcard. `OrgDomains` answers
that question for one domain (`contains`, for the checks of one post or one viewer) and as
SQL over a column of domains (`sql`, for the timelines), so the Organisation timeline, the
visibility checks and the outbound policy can never disagree.

The SQL is written from the rules, not from a list of known domains: exact matches and
`LIKE '%.suffix'` for wildcards, minus the more specific rules of another trust. It is a filter
on the author's row, which the timelines join by primary key: their index scans stay as
they are (tests/storage/test_organization_plan.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, and_, false, not_, or_
from sqlalchemy.orm import QueryableAttribute

from node.trust import Trust

if TYPE_CHECKING:
    from node.policy import PeerRule, Policy

ORGANIZATION = Trust.ORGANIZATION
# A column of canonical domains (`Account.domain`, or any expression of them).
Domains = ColumnElement[str | None] | QueryableAttribute[str | None]
_LIKE_ESCAPE = "\\"


def _split(pattern: str) -> tuple[str, str]:
    """(host, port) of a rule's pattern or a canonical domain; port "" when none."""
    if ":" in pattern and not pattern.endswith("]"):
        host, _, port = pattern.rpartition(":")
        return host, port
    return pattern, ""


def _like_literal(text: str) -> str:
    """`text` matched literally by LIKE: its metacharacters escaped."""
    return text.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", _LIKE_ESCAPE + "%").replace("_", _LIKE_ESCAPE + "_")


def _rule_sql(rule: PeerRule, column: Domains) -> ColumnElement[bool]:
    """SQL for `rule.matches(column) > 0` over canonical domains (`host` or `host:port`)."""
    host, port = _split(rule.pattern)
    if host.startswith("*."):
        suffix = _like_literal(host[1:])  # ".acme.example": a subdomain, never the domain itself
        if port:
            return column.like(f"%{suffix}:{port}", escape=_LIKE_ESCAPE)
        return or_(column.like(f"%{suffix}", escape=_LIKE_ESCAPE), column.like(f"%{suffix}:%", escape=_LIKE_ESCAPE))
    if port:
        return column == rule.pattern
    return or_(column == host, column.like(f"{_like_literal(host)}:%", escape=_LIKE_ESCAPE))


def _witness(rule: PeerRule, other: PeerRule) -> str:
    """A domain `rule` matches, on `other`'s port when `rule` names none: if any domain is
    matched by both rules, this one is (the rules' host sets are nested or apart)."""
    host, port = _split(rule.pattern)
    if host.startswith("*."):
        host = "x" + host[1:]
    port = port or _split(other.pattern)[1]
    return f"{host}:{port}" if port else host


@dataclass(frozen=True)
class OrgDomains:
    """The organisation's peers under one policy (`Policy.organization_domains()`)."""

    policy: Policy

    def contains(self, domain: str | None) -> bool:
        """Is `domain` (canonical) a node of the organisation? `None` (this node) is not a peer."""
        return domain is not None and self.policy.trust_of(domain)[0] == ORGANIZATION

    __contains__ = contains

    @property
    def patterns(self) -> tuple[str, ...]:
        """The rules naming organisation peers, as written (exact domains and wildcards)."""
        return tuple(r.pattern for r in self.policy.peers if r.trust == ORGANIZATION)

    @property
    def everyone_unnamed(self) -> bool:
        """Open mode with `default_trust = "organization"`: every domain no rule names."""
        return self.policy.mode == "open" and self.policy.default_trust == ORGANIZATION

    def __bool__(self) -> bool:
        return bool(self.patterns) or self.everyone_unnamed

    def __repr__(self) -> str:
        return f"OrgDomains({', '.join(self.patterns)}{' + every unnamed domain' if self.everyone_unnamed else ''})"

    @cached_property
    def _decisive(self) -> tuple[tuple[PeerRule, tuple[PeerRule, ...]], ...]:
        """Each organisation rule with the rules of another trust that win over it for some
        domain it matches (more specific; on a tie, earlier in the policy, as `peer_rule`)."""
        peers = self.policy.peers
        out = []
        for i, rule in enumerate(peers):
            if rule.trust != ORGANIZATION:
                continue
            winners = []
            for j, other in enumerate(peers):
                if other.trust == ORGANIZATION:
                    continue
                witness = _witness(other, rule)
                mine, theirs = rule.matches(witness), other.matches(witness)
                if mine and theirs and (theirs > mine or (theirs == mine and j < i)):
                    winners.append(other)
            out.append((rule, tuple(winners)))
        return tuple(out)

    def _terms(self, column: Domains) -> list[ColumnElement[bool]]:
        terms = [
            and_(_rule_sql(rule, column), *(not_(_rule_sql(w, column)) for w in winners))
            for rule, winners in self._decisive
        ]
        if self.everyone_unnamed:
            terms.append(and_(column.is_not(None), *(not_(_rule_sql(r, column)) for r in self.policy.peers)))
        return terms

    def sql(self, column: Domains) -> ColumnElement[bool]:
        """SQL for `contains(column)`: false for NULL."""
        terms = self._terms(column)
        return or_(*terms) if terms else false()

    def members(self, column: Domains) -> ColumnElement[bool]:
        """SQL: an account whose domain is `column` is in the organisation: local (NULL), or
        on an organisation peer."""
        return or_(column.is_(None), *self._terms(column))
