"""Announcements: a node's notices to its people (Mastodon's `/api/v1/announcements`), shown
as a banner until dismissed. An announcement is this node's (`origin` None) or an
organisation peer's, received because this node's policy lets that peer announce
(`accept_announcements`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.ids import new_id
from storage.models.base import Base, utcnow


class Announcement(Base):
    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    content_html: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text, default="")  # what the admin wrote (this node's only)
    starts_at: Mapped[datetime | None] = mapped_column(nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(nullable=True)
    all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    # Published: shown to people; a draft is not. Organisation-wide: also sent to the
    # organisation's peers (this node's only).
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    organization_wide: Mapped[bool] = mapped_column(Boolean, default=False)
    origin: Mapped[str | None] = mapped_column(String(255), nullable=True)  # the peer's domain; None: ours
    uri: Mapped[str | None] = mapped_column(String(2048), nullable=True, unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnnouncementRead(Base):
    """A local account dismissed (read) an announcement."""

    __tablename__ = "announcement_reads"

    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcements.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnnouncementReaction(Base):
    """A local account's reaction (a Unicode emoji) to an announcement."""

    __tablename__ = "announcement_reactions"
    __table_args__ = (UniqueConstraint("announcement_id", "account_id", "name", name="ux_announcement_reactions"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcements.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
