"""Whether this node may contact a host at all: the question the outbound gate
(`federation.gate`) asks before every request the node makes — WebFinger, actor, key, object
and collection fetches, `Move` checks, reply and boost fetches, URL lookups, deliveries.

The host is put in its canonical form (`node.domains.canonical_domain`, the form every policy
rule is compared in), and the trust policy's `contact` answers: a host whose trust is
`blocked` — which, in allowlist mode, is any host the policy does not name — is refused. A
host with no canonical form is refused too. A refusal is audited (direction `out`, decision
`refused`, the rule, the host, and the purpose in the reason) and raised as `ContactRefused`,
a 403 `FetchError` that carries the rule. Whether a given post may go to an admitted host
stays `Policy.outbound`'s question, at fan-out and at delivery.

`open_gate(ctx, …)` gives a context its gate (the node's only outbound HTTP session) and a
fetcher that sends through it. The gate names the node on every request it sends, deliveries
included: `User-Agent: Atrium/VERSION (+https://DOMAIN/)`, from the node's own scheme and
domain, as Mastodon names itself (some servers refuse generic agents).
"""

from __future__ import annotations

import ssl
from functools import partial

from aiohttp.abc import AbstractResolver
from yarl import URL

from federation.addresses import AddressPolicy
from federation.fetch import Fetcher, Signer
from federation.gate import ContactRefused, OutboundGate, Purpose
from federation.parsing import InvalidActivity
from node import audit, metrics
from node.context import NodeContext
from node.domains import NO_CANONICAL_RULE
from node.remote import domain_of
from node.version import VERSION
from storage.errors import Invalid

__all__ = ["ContactRefused", "Purpose", "admit", "close_gate", "open_gate", "user_agent"]

NO_CANONICAL_FORM = NO_CANONICAL_RULE  # the rule named when a host has no canonical form
IDENTITY_PROVIDER_RULE = "auth.oidc"  # the rule named when a host is not the node's identity provider


async def admit(ctx: NodeContext, url: URL, purpose: Purpose) -> None:
    """Return if the policy in force lets this node contact `url`'s host; otherwise audit
    the refusal and raise `ContactRefused` naming the rule."""
    try:
        host = domain_of(str(url))
    except (Invalid, InvalidActivity) as exc:
        host = url.host_port_subcomponent or str(url)  # as written: it has no other form
        rule, reason = NO_CANONICAL_FORM, f"{host} has no canonical form: {exc.reason}"
    else:
        if purpose == Purpose.IDENTITY_PROVIDER:
            # The node's own identity provider is no peer: the single-sign-on settings admit its
            # hosts (node/oidc.py) and nothing else — never a host the policy merely trusts.
            if ctx.oidc is not None and ctx.oidc.admits(host):
                return
            rule, reason = IDENTITY_PROVIDER_RULE, f"{host} is not this node's identity provider"
            metrics.decision(ctx, "out", False)
            await ctx.audit_writes.submit(audit.Decision("out", host, str(url), "refused", rule, f"{purpose}: {reason}"))
            raise ContactRefused(f"{purpose} refused: {reason}", rule=rule, host=host, purpose=purpose)
        decision = ctx.policy().contact(host)
        if decision.allowed:
            return
        rule, reason = decision.rule, decision.reason
    metrics.decision(ctx, "out", False)
    await ctx.audit_writes.submit(audit.Decision("out", host, str(url), "refused", rule, f"{purpose}: {reason}"))
    raise ContactRefused(f"{purpose} refused by this node's policy: {reason} ({rule})", rule=rule, host=host, purpose=purpose)


def user_agent(ctx: NodeContext) -> str:
    """How this node names itself to the hosts it contacts."""
    return f"Atrium/{VERSION} (+{ctx.base_url}/)"


def open_gate(
    ctx: NodeContext,
    address_policy: AddressPolicy,
    *,
    signer: Signer | None = None,
    resolver: AbstractResolver | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> OutboundGate:
    """Give `ctx` its outbound gate and a fetcher sending through it (signing with `signer`,
    the instance actor's, when given). Call inside the event loop; `close_gate` closes it."""
    gate = OutboundGate(
        address_policy, partial(admit, ctx), user_agent=user_agent(ctx), resolver=resolver, ssl_context=ssl_context
    )
    ctx.gate = gate
    ctx.fetcher = Fetcher(gate, signer)
    return gate


async def close_gate(ctx: NodeContext) -> None:
    gate, ctx.gate, ctx.fetcher = ctx.gate, None, None
    if gate is not None:
        await gate.close()
