"""The inbox worker: one handler module per activity family, one explicit dispatch table.

Handlers are idempotent (an activity may be processed twice after a crash) and never raise
for an activity they merely cannot use: they return an outcome that is recorded in the inbox
log. Unknown types are recorded as ignored. What a handler raises for an expected failure —
an invalid document, a refusal, a fetch the gate refused or that failed (a peer answering 500
or garbage, a timeout) — ends the job as `refused` with its reason, never as a retry: retrying
would only repeat the request to wherever the activity pointed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import bindparam, update

from federation.parsing import IncomingActivity, origin, parse_activity
from node import audit, remote
from node.context import NodeContext
from node.inbox import announcements, follows, groups, moderation, notes, reactions
from node.queues import InboxJob
from storage import batches
from storage.errors import AtriumError
from storage.jobs import ClaimedJob, Final
from storage.models import Account, InboxEntry, table_of

Handler = Callable[[NodeContext, IncomingActivity, Account], Awaitable[str]]

DISPATCH: dict[str, Handler] = {
    "Follow": groups.on_follow,  # a community's join rule, else follows.on_follow
    "Accept": follows.on_accept,
    "Reject": follows.on_reject,
    "Create": groups.on_create,  # a post written to a community here, else notes.on_create
    "Update": notes.on_update,
    "Delete": notes.on_delete,
    "Like": reactions.on_like,
    "Announce": groups.on_announce,  # a peer's community's re-share, else reactions.on_announce
    "Undo": reactions.on_undo,
    "Block": moderation.on_block,
    "Flag": moderation.on_flag,
    "Move": moderation.on_move,
}
# Organisation-wide announcements ride on Create, Update and Delete (node/inbox/announcements.py):
# their handler takes its own and hands the rest on.
for _kind in ("Create", "Update", "Delete"):
    DISPATCH[_kind] = announcements.wrap(_kind, DISPATCH[_kind])


# Built once: the outcomes of a batch are written by one executemany (storage/jobs.complete_many).
_OUTCOME = (
    update(table_of(InboxEntry))
    .where(InboxEntry.origin == bindparam("o"), InboxEntry.activity_id == bindparam("a"))
    .values(outcome=bindparam("outcome"), reason=bindparam("reason"))
)


def _record(activity: IncomingActivity, outcome: str) -> Final:
    """The outcome in the inbox log: committed by the worker with the job's completion."""
    kind, _, reason = outcome.partition(":")
    return (_OUTCOME, {"o": origin(activity.actor), "a": activity.id, "outcome": kind, "reason": reason.strip() or None})


async def _refused(ctx: NodeContext, activity: IncomingActivity, peer: str, rule: str, reason: str) -> list[Final]:
    """Refused by the worker for what changed after the inbox took it: audited like the
    inbox's own refusals, and recorded in the inbox log."""
    await ctx.audit_writes.submit(audit.Decision("in", peer, activity.id, "refused", rule, reason))
    return [_record(activity, f"refused: {reason}")]


async def handle_inbox(ctx: NodeContext, job: ClaimedJob) -> list[Final]:
    """Handle one queued activity; its outcome for the inbox log is returned for the worker to
    commit together with the job's completion (node.workers)."""
    activity = parse_activity(InboxJob.from_json(job.payload).activity)
    handler = DISPATCH.get(activity.type)
    if handler is None:
        return [_record(activity, f"ignored: unsupported type {activity.type}")]
    actor = await _actor(ctx, activity.actor)
    if actor.deleted_at is not None:  # its own node deleted it: nothing of that actor id again
        return await _refused(ctx, activity, actor.domain or "", "account:deleted",
                              f"{actor.acct()} was deleted by its own node")
    if actor.suspended:  # suspended since the inbox took it (the inbox's signer cache lags ≤10 s)
        return await _refused(ctx, activity, actor.domain or "", "moderation:suspended",
                              f"{actor.acct()} is suspended on this node")
    # The policy may have changed since the inbox took it: a peer blocked since then gets
    # nothing in, its Follow no Accept (deliveries ask again the same way, node.delivery).
    decision = ctx.policy().inbound(remote.domain_of(activity.actor))
    if not decision.allowed:
        return await _refused(ctx, activity, remote.domain_of(activity.actor), decision.rule,
                              f"{decision.reason} (since the inbox took it)")
    try:
        outcome = await handler(ctx, activity, actor)
    except AtriumError as exc:
        # The activity is unusable, refers to what we refuse, or to what could not be had:
        # record why, do not retry.
        outcome = f"refused: {exc.reason}"
    finally:
        if activity.type not in LEAVE_ACTORS:
            batches.forget()  # it may have changed, moved or removed an actor
    return [_record(activity, outcome)]


# Activities whose handling changes no actor's row: a batch may keep the actors it read.
LEAVE_ACTORS = frozenset({"Create", "Like", "Announce", "Undo", "Follow", "Accept", "Reject", "Flag"})


async def _actor(ctx: NodeContext, uri: str) -> Account:
    """The activity's actor (stored when the inbox verified it): read once per batch."""
    memo = batches.memo()
    actor = memo.get(("actor", uri)) if memo is not None else None
    if actor is None:
        actor = await remote.actor_by_uri(ctx, uri, fetch=False)
        if memo is not None:
            memo["actor", uri] = actor
    return actor
