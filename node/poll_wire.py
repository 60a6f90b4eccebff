"""What of a poll crosses the boundary besides the Question itself (node/outbox.py sends that):
the `Update(Question)` with new counts, spaced out per poll, and a local person's vote on a
peer's poll (a `Note` to the poll's author only, asked of the policy with the poll's audience)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from federation import builders
from federation.poll_ap import vote_to_ap
from node.actors import account_uri
from node.context import NodeContext
from node.outbox import deliver_to, post_text
from node.poll_rows import UPDATE_SPACING_S, options_of
from node.queues import FANOUT, PollCounted
from storage import jobs
from storage.models import Account, Poll, PollVote, Post

# A popular poll gets one Update each few seconds, not one per vote: the job reads the counts
# when it runs, so every vote in between is in it.
UPDATE_EVERY = timedelta(seconds=UPDATE_SPACING_S)


async def schedule_update(s: AsyncSession, poll: Poll, now: datetime, *, at_once: bool = False) -> None:
    """Queue the `Update(Question)` of a local poll whose counts changed. `poll.updated_at` is
    when the last one was (or is) due: one already due later speaks for this change too."""
    if poll.updated_at > now and not at_once:
        return
    due = now if at_once else max(now, poll.updated_at + UPDATE_EVERY)
    poll.updated_at = due
    await jobs.enqueue_in(s, FANOUT, PollCounted(poll.post_id).to_json(), run_at=due)


def vote_uri(ctx: NodeContext, voter: Account, vote_id: int) -> str:
    return f"{ctx.actor_uri(voter.username)}#votes/{vote_id}"


async def send_votes(
    ctx: NodeContext, s: AsyncSession, voter: Account, post: Post, author: Account, votes: Sequence[PollVote]
) -> None:
    """A local person's votes on a peer's poll, one note per choice (as Mastodon sends them),
    to the poll's author: judged as the poll's own audience, so a vote goes only where the poll
    could (and again when the delivery is sent)."""
    question = post.uri or ""
    poll = await s.get(Poll, post.id)
    titles = [t for t, _ in options_of(poll)] if poll is not None else []
    for vote in votes:
        uri = vote.uri or vote_uri(ctx, voter, vote.id)
        note = vote_to_ap(uri, account_uri(ctx, voter), question, author.actor_uri or "", titles[vote.choice])
        act = builders.activity("Create", f"{uri}/activity", account_uri(ctx, voter), note, to=[author.actor_uri or ""])
        await deliver_to(ctx, s, [author], act, visibility=post.visibility, signer=voter, object_uri=uri,
                         shared_inbox=False, text=post_text(post), post=post)

