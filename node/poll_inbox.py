"""Polls arriving from peers: a peer's vote note on a local poll (counted, never stored as a
post), and the counts of a peer's poll from its author's `Update(Question)`."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from federation.poll_ap import PollData, VoteData
from node.context import NodeContext
from node.notification_groups import group_key
from node.notifications import notify
from node.outbox import post_text
from node.poll_rows import dump, has_ended, options_of, recount, voters
from node.poll_wire import schedule_update
from node.post_access import viewable
from storage.errors import Forbidden, Invalid
from storage.ids import new_id
from storage.models import Account, Notification, Poll, PollVote, Post, utcnow


async def is_vote(ctx: NodeContext, vote: VoteData) -> bool:
    """Whether a note is a vote on one of this node's polls (else it is handled as a note)."""
    async with ctx.db.reader() as s:
        post = await s.scalar(select(Post).where(Post.uri == vote.question))
        return post is not None and post.local and await s.get(Poll, post.id) is not None


async def on_vote(ctx: NodeContext, vote: VoteData, actor: Account) -> str:
    """Count a peer's vote on a local poll; refused (with the reason, in the inbox log) when
    the voter may not see the poll, after it ended, twice, or for an option it does not have."""
    if vote.attributed_to != actor.actor_uri:
        raise Forbidden("the vote is attributed to someone other than the actor")
    now = utcnow()
    try:
        async with ctx.db.session() as s:
            post = await s.scalar(select(Post).where(Post.uri == vote.question))
            poll = await s.scalar(select(Poll).where(Poll.post_id == post.id).with_for_update()) if post else None
            if post is None or poll is None:
                return "ignored: no such poll"
            # The same two questions as the poll's own way out: the voter's node must be one
            # the poll may reach, and the voter someone who may see it there.
            admitted = ctx.policy().outbound(post.visibility, actor.domain, post_text(post)).allowed
            if not admitted or not await viewable(ctx, s, actor, post):
                raise Forbidden("the voter may not see this poll")
            if has_ended(poll, now):
                raise Invalid("the poll has ended")
            if await s.scalar(select(PollVote.id).where(PollVote.uri == vote.id)) is not None:
                return "ignored: already counted"
            titles = [t for t, _ in options_of(poll)]
            if vote.choice not in titles:
                raise Invalid("the poll has no such option")
            choice = titles.index(vote.choice)
            earlier = set((await s.scalars(select(PollVote.choice).where(
                PollVote.post_id == post.id, PollVote.account_id == actor.id))).all())
            if earlier and (not poll.multiple or choice in earlier):
                raise Invalid("already voted")
            s.add(PollVote(post_id=post.id, account_id=actor.id, choice=choice, uri=vote.id))
            await s.flush()
            await recount(s, poll)
            await schedule_update(s, poll, now)
    except IntegrityError:
        raise Invalid("already voted") from None
    return "done: vote counted"


async def on_counts(ctx: NodeContext, s: AsyncSession, post: Post, data: PollData) -> None:
    """A peer's poll as its author's node says it is now (in the caller's transaction). Options
    changed by an edit: the votes here no longer mean anything and go, as on Mastodon."""
    poll = await s.get(Poll, post.id)
    if poll is None or post.local:
        return
    if [t for t, _ in options_of(poll)] != [t for t, _ in data.options]:
        await s.execute(delete(PollVote).where(PollVote.post_id == post.id))
    poll.options, poll.multiple = dump(data.options), data.multiple
    poll.expires_at = data.end_time
    poll.voters_count = data.voters_count if data.voters_count is not None else poll.voters_count
    if data.closed is not None and poll.closed_at is None:
        poll.closed_at = data.closed
        await tell_closed(s, post)
    poll.updated_at = utcnow()


async def tell_closed(s: AsyncSession, post: Post) -> None:
    """Mastodon's `poll` notification: to this node's voters, and to the author if local."""
    for voter in await voters(s, post.id, remote=False):
        await notify(s, voter, "poll", post.account_id, post.id)
    author = await s.get(Account, post.account_id)
    if author is not None and author.domain is None:
        notification_id, at = new_id(), utcnow()
        key = await group_key(s, author.id, "poll", post.id, at, notification_id)
        # Written here, not by `notify`, which tells nobody of their own doing: the author's
        # poll ending is news to them (Mastodon notifies the author too).
        s.add(Notification(id=notification_id, account_id=author.id, type="poll", from_account_id=author.id,
                           post_id=post.id, created_at=at, group_key=key))

