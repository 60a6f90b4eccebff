"""Who may act: OAuth apps, codes and tokens, idempotency keys of client writes, web sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.ids import new_id
from storage.models.base import Base, utcnow


class OAuthApp(Base):
    """A client application registered through `POST /api/v1/apps` (its secret kept hashed)."""

    __tablename__ = "oauth_apps"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    client_secret_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    redirect_uris: Mapped[str] = mapped_column(Text)  # one a line
    scopes: Mapped[str] = mapped_column(String(1024))  # space-separated
    website: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

class OAuthCode(Base):
    """A one-time authorization code (hashed), bound to its app, account, redirect and PKCE challenge."""

    __tablename__ = "oauth_codes"
    __table_args__ = (Index("ix_oauth_codes_expires", "expires_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("oauth_apps.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    redirect_uri: Mapped[str] = mapped_column(String(2048))
    scopes: Mapped[str] = mapped_column(String(1024))
    code_challenge: Mapped[str | None] = mapped_column(String(128), nullable=True)  # S256 only
    expires_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

class OAuthToken(Base):
    """An access token (and its refresh token), both hashed. Void once the account's
    `credentials_version` moves past `credentials_version` here, or the account is disabled."""

    __tablename__ = "oauth_tokens"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    access_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("oauth_apps.id", ondelete="CASCADE"), index=True)
    # None for a client_credentials token: it acts for the app, not for a person.
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True, index=True
    )
    scopes: Mapped[str] = mapped_column(String(1024))
    credentials_version: Mapped[int] = mapped_column(Integer, default=0)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)

class IdempotencyKey(Base):
    """A client's `Idempotency-Key` on a post it wrote: a retry returns the same post."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_created", "created_at"),)

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

class WebSession(Base):
    """A signed-in browser. The cookie holds a random token; only its hash is stored, so
    the table leaks no usable session. Signing in always makes a new one (no fixation)."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_expires", "expires_at"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    credentials_version: Mapped[int] = mapped_column(Integer, default=0)
    user_agent: Mapped[str] = mapped_column(String(512), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
