"""Where an organisation-wide announcement goes, and what it looks like there: the
organisation's peers (one inbox a node) and the activity of one change (Create, Update,
Delete; federation/announcement_ap.py). The fan-out (node/outbox.py) queues it through
`deliver_to` with the `organization` audience, so the policy is asked for each peer again,
at fan-out and when each delivery is sent; this module only picks whom to ask about."""

from __future__ import annotations

import logging

from sqlalchemy import select

from federation import builders
from federation.announcement_ap import AnnouncementData, announcement_to_ap
from node import remote
from node.actors import INSTANCE_ACTOR
from node.context import NodeContext
from node.queues import AnnouncementChanged
from storage.errors import AtriumError
from storage.models import Account, Announcement

log = logging.getLogger(__name__)


def instance_actor(ctx: NodeContext) -> str:
    return f"{ctx.base_url}/{INSTANCE_ACTOR}"


async def recipients(ctx: NodeContext) -> list[Account]:
    """One account per organisation peer, its shared inbox preferred: an account already known
    there, else the peer's instance actor (an Atrium node's `/actor`), fetched through the
    gate. Wildcard rules reach the nodes of theirs this node knows."""
    org = ctx.policy().organization_domains()
    if not org:
        return []
    async with ctx.db.reader() as s:
        known = await s.scalars(
            select(Account)
            .where(Account.domain.is_not(None), org.sql(Account.domain),
                   Account.disabled.is_not(True), Account.suspended.is_not(True))
            .order_by(Account.id)
        )
        by_domain: dict[str, Account] = {}
        for account in known:
            have = by_domain.get(account.domain or "")
            if have is None or (not have.shared_inbox_uri and account.shared_inbox_uri):
                by_domain[account.domain or ""] = account
    for pattern in org.patterns:
        if pattern.startswith("*.") or pattern in by_domain:
            continue
        try:
            by_domain[pattern] = await remote.actor_by_uri(ctx, f"{ctx.scheme}://{pattern}/{INSTANCE_ACTOR}")
        except AtriumError as exc:  # refused by the gate, away, or not an Atrium node: skipped
            log.warning("announcement: no inbox for organisation peer %s: %s", pattern, exc.reason)
    return list(by_domain.values())


def activity(ctx: NodeContext, job: AnnouncementChanged, a: Announcement | None, job_id: int) -> dict[str, object] | None:
    """The activity of `job`: None when there is nothing to say (changed again since)."""
    actor = instance_actor(ctx)
    if job.action == "Delete":
        return builders.activity("Delete", f"{job.uri}#delete-{job_id}", actor, builders.tombstone(job.uri))
    if a is None or a.origin is not None or not (a.published and a.organization_wide) or a.uri is None:
        return None  # gone or withdrawn since: the Delete queued then speaks for it
    note = announcement_to_ap(AnnouncementData(
        id=a.uri, actor=actor, content_html=a.content_html, published=a.published_at, updated=a.updated_at,
        starts_at=a.starts_at, ends_at=a.ends_at, all_day=a.all_day,
    ))
    kind = "Update" if job.action == "Update" else "Create"
    return builders.activity(kind, f"{a.uri}#{kind.lower()}-{job_id}", actor, note)
