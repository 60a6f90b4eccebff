"""Pictures and files: what was uploaded here or attached by a peer, and where its bytes are.

One row per attachment (a post's picture or file, an account's avatar or header). The bytes
live in the node's media store (`storage/media_store.py`) under generated keys, never under
the uploaded file's name; a peer's attachment may be kept only by reference (`remote_url`,
no `storage_key`) until, or unless, it is fetched and cached.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.ids import new_id
from storage.models.base import Base, utcnow


class MediaKind(StrEnum):
    """Mastodon's attachment types; an organisation's files (PDF, office documents) are
    `unknown`, shown with their name and size."""

    IMAGE = "image"
    GIFV = "gifv"
    VIDEO = "video"
    AUDIO = "audio"
    UNKNOWN = "unknown"


class MediaState(StrEnum):
    """Where an attachment is in its life: bytes stored but preview still being made, ready to
    show, or refused by processing (the reason is in `failure`)."""

    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class MediaRole(StrEnum):
    """What an attachment is for: a post's attachment, or an account's avatar or header."""

    ATTACHMENT = "attachment"
    AVATAR = "avatar"
    HEADER = "header"


class MediaAttachment(Base):
    __tablename__ = "media_attachments"
    __table_args__ = (
        Index("ix_media_post", "post_id", "position"),
        Index("ix_media_account", "account_id", "id"),
        Index("ix_media_storage_key", "storage_key", unique=True),
        Index("ix_media_preview_key", "preview_key", unique=True),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    # Who uploaded it here, or the remote account whose post or profile carried it.
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    # The post it belongs to; None while an upload waits to be posted (and for avatars).
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"), nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=0)  # order within the post
    role: Mapped[str] = mapped_column(String(16), default=MediaRole.ATTACHMENT.value)
    kind: Mapped[str] = mapped_column(String(16), default=MediaKind.UNKNOWN.value)
    state: Mapped[str] = mapped_column(String(16), default=MediaState.PROCESSING.value)
    failure: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Decided from the bytes, never from the name or the client's claim.
    content_type: Mapped[str] = mapped_column(String(127), default="application/octet-stream")
    # The name it was uploaded or attached with, for display and download only (cleaned).
    file_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Keys in the media store: the original (EXIF stripped) and its preview; None when the
    # bytes are not held here (a peer's attachment shown by reference, or not fetched yet).
    storage_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    preview_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    preview_width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    preview_height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Mastodon's focal point: x and y in [-1, 1], (0, 0) the centre.
    focus_x: Mapped[float] = mapped_column(Float, default=0.0)
    focus_y: Mapped[float] = mapped_column(Float, default=0.0)
    description: Mapped[str] = mapped_column(Text, default="")  # alt text
    blurhash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # A peer's attachment: where it lives on the peer (its `url`).
    remote_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
