"""A poll's row: a new one checked and built, and as the rest of the node reads it: its options and counts (a JSON list in the
row, storage/models/polls.py), whether it has ended, and what goes on the wire
(federation/poll_ap.py). No writes of its own beyond building rows: node/polls.py votes,
node/poll_wire.py federates, node/poll_closer.py closes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.poll_ap import PollData
from storage.errors import Invalid
from storage.models import Account, Poll, PollVote
from storage.models.polls import MAX_EXPIRY_S, MAX_OPTIONS, MIN_EXPIRY_S, OPTION_CHARS

if TYPE_CHECKING:  # node/posts.py writes a post with its poll through these: it imports this module
    from node.posts import NewPoll


UPDATE_SPACING_S = 3  # a poll's Update(Question)s are at least this far apart (node/poll_wire.py)


def options_of(poll: Poll) -> list[tuple[str, int]]:
    """The options in the author's order, each with its votes."""
    try:
        raw = json.loads(poll.options)
    except ValueError:
        return []
    return [(str(o.get("title", "")), int(o.get("votes", 0))) for o in raw if isinstance(o, dict)]


def dump(options: Sequence[tuple[str, int]]) -> str:
    return json.dumps([{"title": t, "votes": v} for t, v in options])


def new_row(post_id: int, data: PollData) -> Poll:
    """A poll's row, for a local post (counts zero) and a peer's (counts as its node says)."""
    return Poll(post_id=post_id, options=dump(data.options), multiple=data.multiple, expires_at=data.end_time,
                voters_count=data.voters_count or 0, closed_at=data.closed)


def has_ended(poll: Poll, now: datetime) -> bool:
    return poll.closed_at is not None or (poll.expires_at is not None and poll.expires_at <= now)


def poll_data(poll: Poll) -> PollData:
    return PollData(options=tuple(options_of(poll)), multiple=poll.multiple, end_time=poll.expires_at,
                    closed=poll.closed_at, voters_count=poll.voters_count)


async def recount(s: AsyncSession, poll: Poll) -> None:
    """A local poll's counts, made again from its votes (here and peers'), in the caller's
    transaction: counting from the rows cannot drift, however votes race."""
    rows = await s.execute(
        select(PollVote.choice, func.count()).where(PollVote.post_id == poll.post_id).group_by(PollVote.choice)
    )
    votes = dict(rows.all())
    poll.options = dump([(title, int(votes.get(i, 0))) for i, (title, _) in enumerate(options_of(poll))])
    voters = await s.scalar(select(func.count(func.distinct(PollVote.account_id))).where(PollVote.post_id == poll.post_id))
    poll.voters_count = int(voters or 0)


async def voters(s: AsyncSession, post_id: int, *, remote: bool) -> list[Account]:
    """Who voted on a poll: this node's people (`remote=False`), or peers' (`remote=True`)."""
    domain = Account.domain.is_not(None) if remote else Account.domain.is_(None)
    stmt = select(Account).where(Account.id.in_(select(PollVote.account_id).where(PollVote.post_id == post_id)), domain)
    return list(await s.scalars(stmt))


def check_poll(new: NewPoll, *, has_media: bool) -> None:
    """What a new poll must be (Mastodon's limits, which the instance entity states)."""
    if has_media:
        raise Invalid("a post cannot have both a poll and attachments")
    if len(new.options) < 2:
        raise Invalid("a poll needs at least 2 options")
    if len(new.options) > MAX_OPTIONS:
        raise Invalid(f"a poll has at most {MAX_OPTIONS} options")
    for option in new.options:
        if not option.strip():
            raise Invalid("a poll option cannot be empty")
        if len(option) > OPTION_CHARS:
            raise Invalid(f"a poll option is at most {OPTION_CHARS} characters")
        if "\x00" in option:
            raise Invalid("a poll option cannot contain NUL characters")
    if len({o.strip() for o in new.options}) != len(new.options):
        raise Invalid("poll options must differ from one another")
    if not MIN_EXPIRY_S <= new.expires_in <= MAX_EXPIRY_S:
        raise Invalid(f"a poll lasts from {MIN_EXPIRY_S} seconds to {MAX_EXPIRY_S} seconds (a month)")


def poll_row(post_id: int, new: NewPoll, now: datetime) -> Poll:
    """The row of a new local poll (written with its post, node/post_effects.py)."""
    data = PollData(options=tuple((o.strip(), 0) for o in new.options), multiple=new.multiple,
                    end_time=now + timedelta(seconds=new.expires_in), closed=None, voters_count=0)
    row = new_row(post_id, data)
    # No Update sent yet: the first vote's goes at once (node/poll_wire.py spaces the next ones).
    row.updated_at = now - timedelta(seconds=UPDATE_SPACING_S)
    return row
