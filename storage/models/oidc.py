"""Single sign-on with the company's identity provider (OpenID Connect): which provider
subject each local account is, and the sign-ins on their way through the provider."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class OidcLink(Base):
    """A local account is this subject (`sub`) of this issuer: how a returning person is
    found, whatever their username or e-mail became at the provider since."""

    __tablename__ = "oidc_links"
    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_oidc_links_subject"),)

    account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    issuer: Mapped[str] = mapped_column(String(2048))
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[datetime] = mapped_column(default=utcnow)


class OidcLogin(Base):
    """A sign-in sent to the provider and not back yet. `state_hash` is the SHA-256 of the
    `state` the provider hands back (single use: the row is deleted when it comes back);
    `browser_hash` that of the cookie the browser that started it holds, so a `state` carried
    to another browser is refused; the nonce and PKCE verifier stay here, never in a URL."""

    __tablename__ = "oidc_logins"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    browser_hash: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str] = mapped_column(String(128))
    code_verifier: Mapped[str] = mapped_column(String(128))
    next_path: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
