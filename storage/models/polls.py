"""Polls (ActivityStreams `Question`, as Mastodon federates them): a poll belongs to one post;
its options and their counts are a JSON list. A local poll's counts are made from its votes
here (from this node's people and from peers' vote notes); a peer's poll keeps the counts its
own node reports (its `Update`s of the Question), and the votes of this node's people."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.ids import new_id
from storage.models.base import Base, utcnow

MAX_OPTIONS = 4  # Mastodon's default (the instance entity's configuration.polls says it)
OPTION_CHARS = 50
MIN_EXPIRY_S = 300
MAX_EXPIRY_S = 2_629_746  # a month


class Poll(Base):
    __tablename__ = "polls"

    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    # [{"title": str, "votes": int}, ...] in the author's order.
    options: Mapped[str] = mapped_column(Text)
    multiple: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # People who voted (one each, however many options they chose): Mastodon's votersCount.
    voters_count: Mapped[int] = mapped_column(Integer, default=0)
    # Set when the poll closed and its final counts were sent (local polls) or arrived.
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PollVote(Base):
    """One choice of one voter (a multiple-choice vote is a row per option chosen)."""

    __tablename__ = "poll_votes"
    __table_args__ = (UniqueConstraint("post_id", "account_id", "choice", name="ux_poll_votes_choice"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    post_id: Mapped[int] = mapped_column(ForeignKey("polls.post_id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    choice: Mapped[int] = mapped_column(Integer)
    uri: Mapped[str | None] = mapped_column(String(2048), nullable=True, unique=True)  # the vote note's id
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
