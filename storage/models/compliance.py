"""What the organisation's compliance and directory need of an account: legal holds (a case
that keeps an account's content from removal) and the profile fields a person shows (their
own, and those the company's directory fills)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.ids import new_id
from storage.models.base import Base, utcnow


class LegalHold(Base):
    """One account held under one case. While a row for an account has no `released_at`,
    nothing of the account's is removed: not by retention, not by its own deletes (the post is
    sealed instead: hidden from everyone, kept here), not by account deletion. A release sets
    `released_at`; rows are never deleted, so the hold's history stays."""

    __tablename__ = "legal_holds"
    __table_args__ = (Index("ix_legal_holds_account", "account_id", "released_at"),
                      Index("ix_legal_holds_case", "case_name"))

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    case_name: Mapped[str] = mapped_column(String(128))
    # RESTRICT: an account under hold is never deleted, so the row cannot outlive its account.
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(nullable=True)
    released_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class FieldScope(StrEnum):
    """Who a profile field is shown to: everyone who may see the profile, or only people of
    this node and of peers trusted as `organization` (a phone extension, a desk)."""

    PUBLIC = "public"
    ORGANIZATION = "organization"


class FieldSource(StrEnum):
    """Who wrote a field: the person (editable in settings and by the client API) or the
    company directory (SCIM provisioning; read-only to the person)."""

    USER = "user"
    DIRECTORY = "directory"


class AccountField(Base):
    """One of an account's profile fields (Mastodon's `fields`, ActivityPub `PropertyValue`
    attachments), in order. Remote accounts' fields are what their actor document says."""

    __tablename__ = "account_fields"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    # Plain text as the person typed it (local) or as sanitised HTML from a peer (remote).
    value: Mapped[str] = mapped_column(Text, default="")
    scope: Mapped[str] = mapped_column(String(16), default=FieldScope.PUBLIC)
    source: Mapped[str] = mapped_column(String(16), default=FieldSource.USER)
    verified_at: Mapped[datetime | None] = mapped_column(nullable=True)


class SealCause(StrEnum):
    """Why a post of a held account was sealed instead of removed."""

    AUTHOR_DELETE = "author-delete"  # its author deleted it
    MODERATOR = "moderator"  # a moderator removed it
    ACCOUNT_DELETION = "account-deletion"  # its account was deleted (refused while held; kept for completeness)


class SealedPost(Base):
    """A post that left every timeline while its account was under legal hold: the post row
    went through the normal delete path (peers got the `Delete`), and this sealed copy keeps
    what an export needs — the post as it was, its edit history, its attachments' store keys
    (which `atrium media prune` leaves alone), mentions and tags — as one JSON document.
    Nobody reads it but an export."""

    __tablename__ = "sealed_posts"
    __table_args__ = (Index("ix_sealed_posts_account", "account_id", "post_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    post_id: Mapped[int] = mapped_column(BigInteger)  # the removed post's id (no row any more)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"))
    uri: Mapped[str] = mapped_column(String(2048), default="")
    visibility: Mapped[str] = mapped_column(String(16))
    posted_at: Mapped[datetime] = mapped_column()
    sealed_at: Mapped[datetime] = mapped_column(default=utcnow)
    cause: Mapped[str] = mapped_column(String(32))
    snapshot: Mapped[str] = mapped_column(Text)  # JSON; see node/holds.py for its shape
