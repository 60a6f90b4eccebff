"""Polls: a new one checked, read as a viewer sees it, and voted on by this node's people.
A local poll counts its votes here (node/poll_rows.py `recount`) and tells peers the counts
(node/poll_wire.py); a vote on a peer's poll is counted here at once (as Mastodon does) and
sent to the poll's author, whose `Update(Question)`s then say the true counts
(node/poll_inbox.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from node.context import NodeContext
from node.outbox import open_web_may_see
from node.poll_rows import dump, has_ended, options_of, recount
from node.poll_wire import schedule_update, send_votes, vote_uri
from node.post_access import load_visible
from storage.errors import Forbidden, Invalid, NotFound
from storage.ids import new_id
from storage.models import Account, Poll, PollVote, Post, utcnow

ALREADY_VOTED = "you have already voted on this poll"
ENDED = "the poll has ended"


@dataclass(frozen=True)
class PollView:
    """A poll as one viewer sees it (Mastodon's Poll entity, web/api/serializers.py)."""

    post_id: int
    options: tuple[tuple[str, int], ...]
    multiple: bool
    expires_at: datetime | None
    expired: bool
    voters_count: int
    voted: bool
    own_votes: tuple[int, ...]

    @property
    def votes_count(self) -> int:
        return sum(v for _, v in self.options)


async def views(s: AsyncSession, viewer: Account | None, post_ids: Sequence[int]) -> dict[int, PollView]:
    """The polls of a page of posts, with the viewer's own votes: two queries for the page."""
    if not post_ids:
        return {}
    polls = list(await s.scalars(select(Poll).where(Poll.post_id.in_(post_ids))))
    if not polls:
        return {}
    own: dict[int, list[int]] = {}
    if viewer is not None:
        rows = await s.execute(select(PollVote.post_id, PollVote.choice).where(
            PollVote.account_id == viewer.id, PollVote.post_id.in_([p.post_id for p in polls])))
        for post_id, choice in rows.all():
            own.setdefault(post_id, []).append(choice)
    now = utcnow()
    return {
        p.post_id: PollView(p.post_id, tuple(options_of(p)), p.multiple, p.expires_at, has_ended(p, now),
                            p.voters_count, p.post_id in own, tuple(sorted(own.get(p.post_id, []))))
        for p in polls
    }


async def get_poll(ctx: NodeContext, viewer: Account | None, post_id: int) -> PollView:
    """A post's poll, if the viewer may see the post (an anonymous one: as the open web may);
    NotFound otherwise."""
    async with ctx.db.reader() as s:
        post = await load_visible(ctx, s, viewer, post_id)
        if viewer is None and not open_web_may_see(ctx, post):
            raise NotFound("no such poll")  # the open web: as the post itself (web/api/statuses.py)
        found = await views(s, viewer, [post_id])
    if post_id not in found:
        raise NotFound("no such poll")
    return found[post_id]


def _choices(poll: Poll, choices: Sequence[int]) -> list[int]:
    count = len(options_of(poll))
    if not choices:
        raise Invalid("choose at least one option")
    if len(set(choices)) != len(choices):
        raise Invalid("an option is chosen twice")
    for choice in choices:
        if not 0 <= choice < count:
            raise Invalid(f"no option {choice}: the poll's options are 0 to {count - 1}")
    if len(choices) > 1 and not poll.multiple:
        raise Invalid("this poll takes one choice")
    return sorted(choices)


async def vote(ctx: NodeContext, voter: Account, post_id: int, choices: Sequence[int]) -> PollView:
    """`voter` (a local person who may see the post) votes, once; the author may too, as on
    Mastodon. Refused after the poll ended, for a choice not in it, for several on a one-choice poll."""
    if voter.domain is not None:
        raise Forbidden("only local accounts vote through this node")
    now = utcnow()
    try:
        async with ctx.db.session() as s:
            post = await load_visible(ctx, s, voter, post_id)
            poll = await s.scalar(select(Poll).where(Poll.post_id == post.id).with_for_update())
            if poll is None:
                raise NotFound("no such poll")
            if has_ended(poll, now):
                raise Invalid(ENDED)
            chosen = _choices(poll, choices)
            voted = await s.scalar(select(PollVote.id).where(PollVote.post_id == post.id,
                                                             PollVote.account_id == voter.id).limit(1))
            if voted is not None:
                raise Invalid(ALREADY_VOTED)
            rows = []
            for choice in chosen:
                vote_id = new_id()
                uri = None if post.local else vote_uri(ctx, voter, vote_id)
                rows.append(PollVote(id=vote_id, post_id=post.id, account_id=voter.id, choice=choice, uri=uri))
            s.add_all(rows)
            await s.flush()
            if post.local:
                await recount(s, poll)
                await schedule_update(s, poll, now)
            else:
                # Counted here at once; the author's node says the true counts in its next Update.
                opts = options_of(poll)
                poll.options = dump([(t, v + (1 if i in chosen else 0)) for i, (t, v) in enumerate(opts)])
                poll.voters_count += 1
                author = await s.get(Account, post.account_id)
                assert author is not None
                await send_votes(ctx, s, voter, post, author, rows)
    except IntegrityError:
        raise Invalid(ALREADY_VOTED) from None  # a second request raced the first
    return await get_poll(ctx, voter, post_id)


async def poll_of(ctx: NodeContext, post: Post) -> Poll | None:
    async with ctx.db.reader() as s:
        return await s.get(Poll, post.id)
