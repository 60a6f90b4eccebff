"""The `deliver` job: one activity to one inbox, in order per object, with peer health.

Retries follow Mastodon's curve (about 16 attempts over two to three days); 429 and 503
honour Retry-After; a 4xx other than 401, 408 and 429 is final; a peer whose breaker is open
is not tried until it closes.

Before anything is sent the trust policy is asked again, as at fan-out, about the post as it
is now (node.delivery_check): a refusal then is final and audited once; the outbound gate then
asks whether the inbox's host may be contacted at all (and audits its own refusal).
"""

from __future__ import annotations

import random
from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from federation.delivery import deliver
from federation.keys import load_private_key
from node import accounts, audit, delivery_check, metrics, peers
from node.actors import key_id
from node.context import NodeContext
from node.media_out import withheld_body
from node.queues import Delivery
from node.workers import PermanentFailure, RetryLater
from storage import jobs
from storage.models import utcnow

MAX_ATTEMPTS = 16
ORDER_WAIT = timedelta(seconds=2)
NOTHING_READ = delivery_check.Found(False, None)  # a delivery with no order to keep and no post


def retry_delay(attempt: int) -> timedelta:
    """Mastodon's backoff: attempt⁴ + 15 s plus jitter; attempt 16 waits about 18 hours."""
    return timedelta(seconds=attempt**4 + 15 + random.uniform(0, 30) * (attempt + 1))


async def handle_delivery(ctx: NodeContext, job: jobs.ClaimedJob) -> None:
    if ctx.gate is None:
        raise RetryLater("this process has no outbound gate for deliveries")
    d = Delivery.from_json(job.payload)
    facts = NOTHING_READ
    if job.ordering_key or d.post_id is not None:
        facts = await ctx.delivery_reads.submit(delivery_check.Asked(job.id, job.ordering_key, d.post_id))
    if facts.earlier_unfinished:
        # An Update or Delete never overtakes its Create to the same inbox.
        raise RetryLater("waiting for an earlier activity to this inbox", at=utcnow() + ORDER_WAIT)
    # The same question as at fan-out, under the policy in force now, about the post as it is
    # now: a peer downgraded or a content rule added since stops what was queued for it.
    domain, decision = delivery_check.recheck(ctx.policy(), d, facts.post)
    if not decision.allowed:
        metrics.decision(ctx, "out", False)
        await ctx.audit_writes.submit(audit.Decision("out", domain, d.object, "refused", decision.rule,
                                                     f"{decision.reason} (at delivery)"))
        metrics.delivery(ctx, "refused")
        raise PermanentFailure(f"the policy no longer admits this to {domain}: {decision.reason}")
    inbox, obj, body = d.inbox, d.object, d.body
    media = ctx.policy().media_out(domain)
    if not media.allowed and (bare := withheld_body(body)) is not None:
        # The peer has media withheld since the fan-out: the text goes without them.
        body = bare
        await ctx.audit_writes.submit(audit.Decision("out", domain, obj, "rewritten", media.rule,
                                                     f"{media.reason}; the text goes (at delivery)"))
    # A cached healthy row is trusted for five seconds (a breaker opened meanwhile by another
    # process costs a few more tries); a cached open breaker never is (the peer
    # may have been heard from since, by another process, and its backlog brought forward).
    found, peer = ctx.peer_rows.get(domain)
    if not found or peers.breaker_until(peer) is not None:
        peer = ctx.peer_rows.put(domain, await ctx.peer_reads.submit(domain))
    until = peers.breaker_until(peer)
    if until is not None:
        raise RetryLater(f"{domain} is failing; waiting for its breaker", at=until)
    signer_key_id, private_key = await _signing_key(ctx, d.signer)
    outcome = await metrics.in_flight(ctx, deliver(ctx.gate, inbox, body.encode(), signer_key_id, private_key))
    if outcome.kind == "refused":
        # The gate refused the inbox's host and audited it: one entry per refused delivery.
        metrics.delivery(ctx, "refused")
        raise PermanentFailure(outcome.reason)
    if outcome.delivered:
        if peers.success_is_news(peer):
            await peers.record_success(ctx.db, domain)
            ctx.peer_rows.forget(domain)
        # Appended with the other deliveries finishing now, in one transaction.
        await ctx.audit_writes.submit(audit.Decision("out", domain, obj, "delivered", "delivery",
                                                     f"{inbox} answered {outcome.status}"))
        metrics.delivery(ctx, "delivered")
        return
    if outcome.kind == "final":
        if outcome.status is not None and peers.success_is_news(peer):
            await peers.record_success(ctx.db, domain)  # it answered: alive, just unwilling
            ctx.peer_rows.forget(domain)
        await audit.record_now(ctx.db, direction="out", peer=domain, obj=obj, decision="dropped",
                               rule="delivery", reason=outcome.reason)
        metrics.delivery(ctx, "dropped")
        raise PermanentFailure(outcome.reason)
    await peers.record_failure(ctx.db, domain, outcome.reason)
    ctx.peer_rows.forget(domain)
    if job.attempts >= MAX_ATTEMPTS:
        await audit.record_now(ctx.db, direction="out", peer=domain, obj=obj, decision="dropped",
                               rule="delivery", reason=f"gave up after {job.attempts} attempts: {outcome.reason}")
        metrics.delivery(ctx, "dropped")
        raise PermanentFailure(f"gave up after {job.attempts} attempts: {outcome.reason}")
    metrics.delivery(ctx, "retry")
    raise RetryLater(outcome.reason, at=outcome.retry_at or utcnow() + retry_delay(job.attempts))


async def _signing_key(ctx: NodeContext, account_id: int | None) -> tuple[str, RSAPrivateKey]:
    """The key id and private key a delivery is signed with (None: the instance actor), read
    fresh for every delivery (a rotation by another process applies at once), but in one
    query for all the deliveries asking at the moment; parsed keys are cached by PEM."""
    found = await ctx.signer_reads.submit(account_id)
    if found is None and account_id is None:
        raise RetryLater("the database holds no instance key; run `atrium init`")
    if found is None:  # a local account's first delivery: its keys are made now
        signer = await accounts.ensure_keys(ctx, account_id or 0)
        found = signer.username, signer.private_key_pem or ""
    username, private_pem = found
    signer_key_id = key_id(ctx, None) if account_id is None else f"{ctx.actor_uri(username or '')}#main-key"
    return signer_key_id, load_private_key(private_pem)
