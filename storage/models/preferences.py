"""A local account's preferences, as Mastodon's `/api/v1/preferences` names them: how new posts
start (audience, sensitive, language) and how posts are shown (media, content warnings).
One row per account that saved any; an account without one has the defaults
(node/preferences.py says which)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class AccountPreferences(Base):
    __tablename__ = "account_preferences"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    # An audience's stored value (node.audience.Audience); None: the node's default.
    default_audience: Mapped[str | None] = mapped_column(String(16), nullable=True)
    default_sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    # An ISO 639 code; None: no default language.
    default_language: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # Mastodon's reading:expand:media: `default`, `show_all` or `hide_all`.
    expand_media: Mapped[str] = mapped_column(String(16), default="default")
    expand_spoilers: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
