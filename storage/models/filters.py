"""A person's content filters (Mastodon's filters v2): a titled filter with the contexts it
applies in, what it does to a match (warn, hide, blur), an optional expiry, and its keywords
and the single posts it names. Private to the account that made them (node/filters.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.ids import new_id
from storage.models.base import Base, utcnow


class ContentFilter(Base):
    """One filter of one account. `contexts` is a comma-separated subset of home,
    notifications, public, thread, account; `action` is warn, hide or blur."""

    __tablename__ = "content_filters"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(256))
    contexts: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(8), default="warn")
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FilterKeyword(Base):
    """A word or phrase a filter matches (case-insensitive; `whole_word` at word boundaries)."""

    __tablename__ = "filter_keywords"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    filter_id: Mapped[int] = mapped_column(ForeignKey("content_filters.id", ondelete="CASCADE"), index=True)
    keyword: Mapped[str] = mapped_column(String(512))
    whole_word: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FilterStatus(Base):
    """One post a filter matches by itself (and boosts of it)."""

    __tablename__ = "filter_statuses"
    __table_args__ = (UniqueConstraint("filter_id", "post_id", name="ux_filter_statuses_pair"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    filter_id: Mapped[int] = mapped_column(ForeignKey("content_filters.id", ondelete="CASCADE"), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
