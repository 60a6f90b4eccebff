"""Second factors of password accounts: TOTP secrets and WebAuthn passkeys, the single-use
recovery codes (hashed), and the short-lived challenges between a password and its second
factor (a sign-in half done, an enrolment under way)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.ids import new_id
from storage.models.base import Base, utcnow


class FactorKind(StrEnum):
    """What a second factor is: a time-based one-time password app, or a WebAuthn passkey."""

    TOTP = "totp"
    PASSKEY = "passkey"


class ChallengeKind(StrEnum):
    """What a pending challenge waits for: the second factor of a sign-in, the first code of
    a TOTP app being enrolled, or a new passkey's registration."""

    SIGNIN = "signin"
    ENROL_TOTP = "enrol-totp"
    ENROL_PASSKEY = "enrol-passkey"


class SecondFactor(Base):
    """One enrolled factor. A TOTP factor keeps its secret and the last time step a code was
    accepted in (a code is never accepted twice); a passkey its credential id, public key
    (COSE) and signature counter."""

    __tablename__ = "second_factors"
    __table_args__ = (Index("ix_second_factors_credential", "credential_id", unique=True),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    credential_id: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    public_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)


class RecoveryCode(Base):
    """A single-use recovery code, kept as its SHA-256 only (it is random: no salt needed)."""

    __tablename__ = "recovery_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuthChallenge(Base):
    """A step between two requests: the bearer holds a random token, the table its hash. A
    sign-in challenge is made only after the right password; `data` holds a WebAuthn
    challenge or a TOTP secret not yet confirmed; `tries` counts wrong answers to it."""

    __tablename__ = "auth_challenges"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    data: Mapped[str] = mapped_column(Text, default="")
    tries: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
