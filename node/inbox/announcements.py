"""Inbound organisation-wide announcements (federation/announcement_ap.py): a peer node's
instance actor `Create`s, `Update`s or `Delete`s one. Shown here only if the policy lets that
peer announce (`Policy.announcements_in`: an `organization` peer with
`accept_announcements = true`); every refusal is audited. These ride on the Create, Update and
Delete of notes: `wrap` takes its own and hands every other activity to the notes' handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from sqlalchemy import select

from federation.announcement_ap import ap_to_announcement, is_announcement
from federation.parsing import IncomingActivity, InvalidActivity, origin
from node import audit, remote
from node.actors import INSTANCE_ACTOR
from node.announcements import MAX_HTML
from node.context import NodeContext
from node.events import Event
from node.sanitize import sanitize_html
from storage.models import Account, Announcement, utcnow

Handler = Callable[[NodeContext, IncomingActivity, Account], Awaitable[str]]


async def _refuse(ctx: NodeContext, activity: IncomingActivity, peer: str, rule: str, reason: str) -> str:
    await ctx.audit_writes.submit(audit.Decision("in", peer, activity.id, "refused", rule, reason))
    return f"refused: {reason}"


def _from_instance_actor(actor_uri: str) -> bool:
    """Only the node itself announces: its instance actor (`/actor`), not one of its people."""
    return urlsplit(actor_uri).path == f"/{INSTANCE_ACTOR}"


async def _admitted(ctx: NodeContext, activity: IncomingActivity) -> str | None:
    """None when the sender may announce here; else the refusal (audited) as an outcome."""
    peer = remote.domain_of(activity.actor)
    decision = ctx.policy().announcements_in(peer)
    if not decision.allowed:
        return await _refuse(ctx, activity, peer, decision.rule, decision.reason)
    if not _from_instance_actor(activity.actor):
        return await _refuse(ctx, activity, peer, "announcement:sender",
                             "only a node's instance actor announces, not one of its accounts")
    return None


async def on_create_or_update(ctx: NodeContext, activity: IncomingActivity, actor: Account) -> str:
    refused = await _admitted(ctx, activity)
    if refused is not None:
        return refused
    peer = remote.domain_of(activity.actor)
    try:
        incoming = ap_to_announcement(activity.object, max_content=MAX_HTML)
    except InvalidActivity as exc:
        return await _refuse(ctx, activity, peer, "announcement:invalid", exc.reason)
    if incoming.attributed_to != activity.actor or origin(incoming.id) != origin(activity.actor):
        return await _refuse(ctx, activity, peer, "announcement:origin", "the announcement is not the sender's own")
    async with ctx.db.session() as s:
        a = await s.scalar(select(Announcement).where(Announcement.uri == incoming.id))
        foreign = a is not None and a.origin != peer
        created = a is None
        if foreign:
            a = None  # refused below, once this transaction is over (the audit writes on its own)
        elif a is None:
            a = Announcement(uri=incoming.id, origin=peer, published=True, organization_wide=True,
                             published_at=incoming.published or utcnow())
            s.add(a)
        if a is None:
            announcement_id = 0
        else:
            a.content_html = sanitize_html(incoming.content_html)
            a.starts_at, a.ends_at, a.all_day = incoming.starts_at, incoming.ends_at, incoming.all_day
            a.updated_at = utcnow()
            await s.flush()
            announcement_id = a.id
    if foreign:
        return await _refuse(ctx, activity, peer, "announcement:origin", "the announcement is not the sender's own")
    admitted = ctx.policy().announcements_in(peer)  # the rule that let it in, as the trail cites it
    await ctx.audit_writes.submit(audit.Decision("in", peer, activity.id, "accepted", admitted.rule, admitted.reason))
    ctx.events.publish(Event("announcement", announcement_id=announcement_id))
    return "accepted: announcement " + ("stored" if created else "updated")


async def on_delete(ctx: NodeContext, activity: IncomingActivity, actor: Account) -> str | None:
    """The peer withdrew one of its announcements; None when the Delete is not about one."""
    if activity.object_id is None:
        return None
    peer = remote.domain_of(activity.actor)
    async with ctx.db.session() as s:
        a = await s.scalar(select(Announcement).where(Announcement.uri == activity.object_id))
        if a is None:
            return None
        announcement_id = a.id
        allowed = a.origin == peer and _from_instance_actor(activity.actor)
        if allowed:
            await s.delete(a)
    if not allowed:  # audited once the transaction is over: the audit trail writes on its own
        return await _refuse(ctx, activity, peer, "announcement:origin", "only its own node withdraws an announcement")
    ctx.events.publish(Event("announcement.delete", announcement_id=announcement_id))
    return "accepted: announcement withdrawn"


def wrap(kind: str, notes: Handler) -> Handler:
    """The handler of `kind` (Create, Update, Delete): announcements here, the rest to `notes`."""

    async def handle(ctx: NodeContext, activity: IncomingActivity, actor: Account) -> str:
        if kind == "Delete":
            outcome = await on_delete(ctx, activity, actor)
            return outcome if outcome is not None else await notes(ctx, activity, actor)
        if is_announcement(activity.object):
            return await on_create_or_update(ctx, activity, actor)
        return await notes(ctx, activity, actor)

    return handle
