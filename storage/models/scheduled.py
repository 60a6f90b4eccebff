"""Scheduled posts: what a person asked to be posted later (Mastodon's ScheduledStatus), and
the uploads reserved for them until then."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.ids import new_id
from storage.models.base import Base, utcnow


class ScheduledStatus(Base):
    """One post waiting for its time. The publisher (node/scheduled_publisher.py) claims a due
    row by setting `claimed_until` (a lease), posts it through node/posts.py `post_as` with the
    idempotency key `scheduled:<id>`, then deletes the row. A post that cannot be made (its
    reply target gone, its author disabled) is kept with `failed_at` and `failure`, never due
    again, until its author cancels it."""

    __tablename__ = "scheduled_statuses"
    __table_args__ = (Index("ix_scheduled_due", "scheduled_at"),
                      Index("ix_scheduled_account", "account_id", "id"))

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    scheduled_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    text: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[str] = mapped_column(String(16))
    spoiler_text: Mapped[str] = mapped_column(Text, default="")
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)
    in_reply_to_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    media_ids: Mapped[str] = mapped_column(Text, default="")  # ids in order, comma-separated
    application_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    failed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    failure: Mapped[str | None] = mapped_column(Text, nullable=True)


class ScheduledMedia(Base):
    """An upload reserved for a scheduled post: no other post may attach it and media prune
    keeps it (node/media.py, node/media_prune.py), until the post is published or cancelled."""

    __tablename__ = "scheduled_media"

    media_id: Mapped[int] = mapped_column(
        ForeignKey("media_attachments.id", ondelete="CASCADE"), primary_key=True
    )
    scheduled_id: Mapped[int] = mapped_column(
        ForeignKey("scheduled_statuses.id", ondelete="CASCADE"), index=True
    )
