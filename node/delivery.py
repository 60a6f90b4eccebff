"""The `deliver` job: one activity to one inbox, in order per object, with peer health.

Retries follow Mastodon's curve (about 16 attempts over two to three days); 429 and 503
honour Retry-After; a 4xx other than 401, 408 and 429 is final; a peer whose breaker is open
is not tried until it closes.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta

from sqlalchemy import select

from federation.delivery import deliver
from federation.keys import load_private_key
from node import accounts, audit, metrics, peers
from node.actors import key_id
from node.context import NodeContext
from node.instance import get_instance
from node.workers import PermanentFailure, RetryLater
from storage import jobs
from storage.models import Job, utcnow

MAX_ATTEMPTS = 16
ORDER_WAIT = timedelta(seconds=2)


def retry_delay(attempt: int) -> timedelta:
    """Mastodon's backoff: attempt⁴ + 15 s plus jitter; attempt 16 waits about 18 hours."""
    return timedelta(seconds=attempt**4 + 15 + random.uniform(0, 30) * (attempt + 1))


async def handle_delivery(ctx: NodeContext, job: jobs.ClaimedJob) -> None:
    if ctx.session is None:
        raise RetryLater("this process has no HTTP session for deliveries")
    p = json.loads(job.payload)
    inbox, domain = p["inbox"], p["domain"]
    row_key = await _ordering_key(ctx, job.id)
    if row_key and await jobs.earlier_unfinished(ctx.db, job.id, row_key):
        # An Update or Delete never overtakes its Create to the same inbox.
        raise RetryLater("waiting for an earlier activity to this inbox", at=utcnow() + ORDER_WAIT)
    decision = ctx.policy().outbound("direct", domain)
    if not decision.allowed:
        # The policy changed since the fan-out: what it now refuses is not sent.
        await audit.record_now(ctx.db, direction="out", peer=domain, obj=str(p.get("object", "")),
                               decision="refused", rule=decision.rule, reason=decision.reason)
        metrics.delivery(ctx, "refused")
        raise PermanentFailure(f"the policy no longer admits {domain}")
    until = await peers.blocked_until(ctx.db, domain)
    if until is not None:
        raise RetryLater(f"{domain} is failing; waiting for its breaker", at=until)
    if p["signer"] is None:
        instance = await get_instance(ctx.db)
        private_pem, signer_key_id = instance.private_key_pem, key_id(ctx, None)
    else:
        signer = await accounts.ensure_keys(ctx, p["signer"])
        private_pem, signer_key_id = signer.private_key_pem or "", key_id(ctx, signer)
    outcome = await metrics.in_flight(ctx, deliver(ctx.session, inbox, p["body"].encode(), signer_key_id, load_private_key(private_pem)))
    obj = str(p.get("object", ""))
    if outcome.delivered:
        await peers.record_success(ctx.db, domain)
        await audit.record_now(ctx.db, direction="out", peer=domain, obj=obj, decision="delivered",
                               rule="delivery", reason=f"{inbox} answered {outcome.status}")
        metrics.delivery(ctx, "delivered")
        return
    if outcome.kind == "final":
        if outcome.status is not None:
            await peers.record_success(ctx.db, domain)  # it answered: alive, just unwilling
        await audit.record_now(ctx.db, direction="out", peer=domain, obj=obj, decision="dropped",
                               rule="delivery", reason=outcome.reason)
        metrics.delivery(ctx, "dropped")
        raise PermanentFailure(outcome.reason)
    await peers.record_failure(ctx.db, domain, outcome.reason)
    if job.attempts >= MAX_ATTEMPTS:
        await audit.record_now(ctx.db, direction="out", peer=domain, obj=obj, decision="dropped",
                               rule="delivery", reason=f"gave up after {job.attempts} attempts: {outcome.reason}")
        metrics.delivery(ctx, "dropped")
        raise PermanentFailure(f"gave up after {job.attempts} attempts: {outcome.reason}")
    metrics.delivery(ctx, "retry")
    raise RetryLater(outcome.reason, at=outcome.retry_at or utcnow() + retry_delay(job.attempts))


async def _ordering_key(ctx: NodeContext, job_id: int) -> str | None:


    async with ctx.db.reader() as s:
        return await s.scalar(select(Job.ordering_key).where(Job.id == job_id))
