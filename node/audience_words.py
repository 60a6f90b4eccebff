"""Who a post reaches, in plain words, and which peers the trust policy keeps it from.

The web UI shows both when composing and beside each of the viewer's own posts; the
decisions come from the same `Policy.outbound` every way out of the node asks. The audiences
themselves, and their rules, are node/audience.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from node import node_names
from node.audience import Audience
from node.context import NodeContext
from node.organization import OrgDomains
from node.outbox import post_text
from node.trust import Trust
from storage.models import Account, Follow, Mention, Post

LABELS = {a: a.rules.label for a in Audience}  # keyed by the stored string, as templates look them up


@dataclass(frozen=True)
class Described:
    """An audience as the compose form offers it."""

    visibility: Audience
    label: str
    description: str


@dataclass(frozen=True)
class KeptFrom:
    domain: str
    reason: str
    by_rule: bool = False  # a content rule held it back (not the audience the author chose)
    name: str | None = None  # what the peer calls itself, once known (node.node_names)


def _outside_peers(ctx: NodeContext) -> tuple[bool, bool]:
    """(any partner or public peer is admitted, the node runs open to unknown domains)."""
    policy = ctx.policy()
    partners = any(p.trust in (Trust.PARTNER, Trust.PUBLIC, Trust.LIMITED) for p in policy.peers)
    return partners, policy.mode == "open"


def _sibling_nodes(org: OrgDomains) -> str:
    """The organisation's other nodes in words: named ones counted, wildcards spelled out."""
    named = [p for p in org.patterns if not p.startswith("*.")]
    parts = [f"{len(named)} sibling node{'s' if len(named) != 1 else ''}"] if named else []
    parts += [f"every node under {p[2:]}" for p in org.patterns if p.startswith("*.")]
    if org.everyone_unnamed:
        parts.append("every server the policy does not name")
    return " and ".join(parts)


def audiences(ctx: NodeContext) -> list[Described]:
    """Each visibility with a sentence saying where a post with it will go, from this node."""
    org = ctx.org_domains()
    partners, open_mode = _outside_peers(ctx)
    outside = "other servers" if open_mode else "partner nodes" if partners else ""
    org_words = (
        f"everyone in the organisation: people on {ctx.display_name} and on {_sibling_nodes(org)}"
        if org
        else f"everyone in the organisation (today only people on {ctx.display_name}: no sibling node is trusted)"
    )
    places = [p for p in ("organisation nodes" if org else "", outside) if p]
    words = {
        Audience.PUBLIC: "Anyone, on this node and beyond; shown in public timelines"
        + (f", and sent to followers on {outside}" if outside else ""),
        Audience.UNLISTED: "Anyone with the link, but kept out of public timelines and searches",
        Audience.FOLLOWERS: "Only your followers"
        + (f", including followers on {' and '.join(places)}" if places else ""),
        Audience.DIRECT: "Only the people you mention by @name",
        Audience.ORGANIZATION: org_words[0].upper() + org_words[1:] + "; never sent outside the organisation",
        Audience.LOCAL: f"Only people on {ctx.display_name}; it never leaves this node",
    }
    return [Described(a, a.rules.label, words[a]) for a in Audience]


async def kept_from(ctx: NodeContext, post: Post) -> list[KeptFrom]:
    """The peers this post could go to (named in the policy, or where its author's followers
    and mentioned people live) that the outbound policy refuses it."""
    if not Audience(post.visibility).federates or not post.local:
        return []
    policy = ctx.policy()
    async with ctx.db.reader() as s:
        followers = await s.scalars(
            select(Account.domain)
            .join(Follow, Follow.follower_id == Account.id)
            .where(Follow.target_id == post.account_id, Follow.state == "accepted", Account.domain.is_not(None))
            .distinct()
        )
        mentioned = await s.scalars(
            select(Account.domain)
            .join(Mention, Mention.account_id == Account.id)
            .where(Mention.post_id == post.id, Account.domain.is_not(None))
            .distinct()
        )
        domains = {d for d in [*followers.all(), *mentioned.all()] if d}
    domains |= {p.pattern for p in policy.peers if "*" not in p.pattern and p.trust != Trust.BLOCKED}
    text = post_text(post)
    out = []
    for domain in sorted(domains):
        decision = policy.outbound(post.visibility, domain, text)
        if not decision.allowed and decision.trust != Trust.BLOCKED:
            by_rule = decision.rule.startswith("rules.")
            out.append(KeptFrom(domain, decision.reason.removeprefix(f"{domain} is "), by_rule))
    names = await node_names.peer_names(ctx, [k.domain for k in out]) if out else {}
    return [KeptFrom(k.domain, k.reason, k.by_rule, names.get(k.domain)) for k in out]
