"""May the signer of a request speak to this node at all? Judged by its key id's host alone,
before anything else is done with the request: before its key is fetched, before a handler
reads a thing.

Every signed request — an inbox delivery or a signed read of an actor, a note, a collection,
a well-known document — comes here first (web.signed's middleware for every route, and
node.inbound for the inbox). The host is put in canonical form (node.domains) and the inbound
policy asked (`Policy.inbound`): a peer it does not admit (`blocked`, or not named in
allowlist mode) is refused, and so is a key id whose host has no canonical form. Each refusal
is audited with the rule that made it. An unsigned request never comes here: it is anonymous,
and is served what any reader of the open web may see.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from federation.parsing import InvalidActivity
from node import audit, metrics, remote
from node.context import NodeContext
from node.domains import NO_CANONICAL_RULE
from storage.errors import Forbidden, Invalid

NO_CANONICAL_HOST = NO_CANONICAL_RULE  # the audit trail's rule for such a key id


def _claimed_host(key_id: str) -> str:
    """The host part of a key id as sent (for the audit trail's `peer` when it has no
    canonical form); "" when not even that can be read."""
    try:
        return urlsplit(key_id).netloc.rpartition("@")[2].lower()
    except ValueError:
        return ""


async def admit_signer(ctx: NodeContext, key_id: str, asked: str) -> str:
    """The canonical domain of `key_id`'s host when the policy admits it; else Forbidden (403),
    audited. `asked` says what the request was (`GET /users/alice`), for the audit trail."""
    try:
        domain = remote.domain_of(key_id)
    except (Invalid, InvalidActivity) as exc:
        reason = f"{asked}: the key id's host has no canonical form ({exc.reason})"
        await _refused(ctx, _claimed_host(key_id), key_id, NO_CANONICAL_HOST, reason)
        raise Forbidden(f"the signature's key id names no host this node admits ({exc.reason})") from exc
    decision = ctx.policy().inbound(domain)
    if not decision.allowed:
        await _refused(ctx, domain, key_id, decision.rule, f"{asked}: {decision.reason}")
        raise Forbidden(f"{domain} is not admitted by this node's policy")
    return domain


async def _refused(ctx: NodeContext, peer: str, key_id: str, rule: str, reason: str) -> None:
    metrics.decision(ctx, "in", False)
    # Through the group commit: a flood of refused requests costs a share of one transaction each.
    await ctx.audit_writes.submit(audit.Decision("in", peer, key_id, "refused", rule, reason))
