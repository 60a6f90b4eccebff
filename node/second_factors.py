"""Second factors of password accounts: enrolled TOTP apps and passkeys, the single-use
recovery codes, and the short-lived challenges between two steps (a sign-in whose password
was right, an enrolment waiting for its first answer).

TOTP is pyotp (RFC 6238, 30-second steps, six digits); a code is accepted in the step before,
the current one and the next (clocks drift), and never twice: the factor remembers the last
step it accepted, so a code seen over a shoulder is spent. Passkeys are node/passkeys.py. A
factor's enrolment and removal are audited. Whether a sign-in is complete is node/signin.py.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

import pyotp
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from node import audit
from node.context import NodeContext
from storage.errors import Forbidden, Invalid, NotFound
from storage.models import (
    Account,
    AuthChallenge,
    ChallengeKind,
    FactorKind,
    RecoveryCode,
    SecondFactor,
    utcnow,
)

CHALLENGE_LIFETIME = timedelta(minutes=10)
MAX_TRIES = 5  # wrong answers to one challenge before it is void (the sign-in limits count them too)
RECOVERY_CODES = 10
MAX_NAME = 100
STEP = 30  # seconds, RFC 6238's default and what every authenticator app uses


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# Challenges ------------------------------------------------------------------------------


async def new_challenge(ctx: NodeContext, account_id: int, kind: ChallengeKind, data: str = "") -> str:
    """A challenge for `account_id`; the token goes to the browser, only its hash is kept."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    async with ctx.db.session() as s:
        await s.execute(delete(AuthChallenge).where(AuthChallenge.expires_at < now))
        s.add(AuthChallenge(token_hash=digest(token), account_id=account_id, kind=kind, data=data, tries=0,
                            expires_at=now + CHALLENGE_LIFETIME, created_at=now))
    return token


async def read_challenge(ctx: NodeContext, token: str, kind: ChallengeKind) -> AuthChallenge:
    async with ctx.db.reader() as s:
        row = await s.get(AuthChallenge, digest(token)) if token and len(token) < 128 else None
    if row is None or row.kind != kind or row.expires_at <= utcnow():
        raise Forbidden("this step has expired: start again", status=401)
    return row


async def spend_challenge(ctx: NodeContext, token: str) -> None:
    async with ctx.db.session() as s:
        await s.execute(delete(AuthChallenge).where(AuthChallenge.token_hash == digest(token)))


async def wrong_answer(ctx: NodeContext, token: str) -> None:
    """Count a wrong answer; the challenge is void after MAX_TRIES of them."""
    async with ctx.db.session() as s:
        row = await s.get(AuthChallenge, digest(token), with_for_update=True)
        if row is not None:
            row.tries += 1
            if row.tries >= MAX_TRIES:
                await s.delete(row)


# Reading ---------------------------------------------------------------------------------


async def factors(ctx: NodeContext, account_id: int) -> list[SecondFactor]:
    async with ctx.db.reader() as s:
        rows = await s.scalars(select(SecondFactor).where(SecondFactor.account_id == account_id)
                               .order_by(SecondFactor.id))
        return list(rows)


async def has_factor(ctx: NodeContext, account_id: int) -> bool:
    async with ctx.db.reader() as s:
        found = await s.scalar(select(SecondFactor.id).where(SecondFactor.account_id == account_id).limit(1))
    return found is not None


async def recovery_codes_left(ctx: NodeContext, account_id: int) -> int:
    async with ctx.db.reader() as s:
        count = await s.scalar(select(func.count()).select_from(RecoveryCode).where(
            RecoveryCode.account_id == account_id, RecoveryCode.used_at.is_(None)))
    return int(count or 0)


# Enrolment and removal ---------------------------------------------------------------------


def factor_name(name: str, default: str) -> str:
    name = " ".join(name.split())
    if len(name) > MAX_NAME:
        raise Invalid(f"name too long: at most {MAX_NAME} characters")
    return name or default


@dataclass(frozen=True)
class TotpEnrolment:
    token: str
    secret: str
    uri: str  # otpauth://, what the QR code holds


def _totp_uri(ctx: NodeContext, account: Account, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=f"{account.username}@{ctx.domain}", issuer_name=ctx.display_name)


async def begin_totp(ctx: NodeContext, account: Account) -> TotpEnrolment:
    secret = pyotp.random_base32()
    token = await new_challenge(ctx, account.id, ChallengeKind.ENROL_TOTP, secret)
    return TotpEnrolment(token, secret, _totp_uri(ctx, account, secret))


async def totp_enrolment(ctx: NodeContext, account: Account, token: str) -> TotpEnrolment:
    """The enrolment under way that `token` names (to show it again after a wrong code)."""
    challenge = await read_challenge(ctx, token, ChallengeKind.ENROL_TOTP)
    if challenge.account_id != account.id:
        raise Forbidden("this enrolment is not yours")
    return TotpEnrolment(token, challenge.data, _totp_uri(ctx, account, challenge.data))


def _matching_step(secret: str, code: str, after: int | None) -> int | None:
    """The step (previous, current or next) whose code `code` is, if later than `after`."""
    code = "".join(code.split())
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = int(time.time()) // STEP
    for step in (now - 1, now, now + 1):
        if (after is None or step > after) and hmac.compare_digest(totp.at(step * STEP), code):
            return step
    return None


async def confirm_totp(ctx: NodeContext, account: Account, token: str, code: str, name: str) -> list[str]:
    """Enrol the app whose first code this is. Returns new recovery codes when the account had
    none left (to be shown once), else an empty list."""
    label = factor_name(name, "Authenticator app")
    challenge = await read_challenge(ctx, token, ChallengeKind.ENROL_TOTP)
    if challenge.account_id != account.id:
        raise Forbidden("this enrolment is not yours")
    step = _matching_step(challenge.data, code, None)
    if step is None:
        await wrong_answer(ctx, token)
        raise Invalid("that code is not right: check the app's clock, and type the six digits it shows now")
    factor = SecondFactor(account_id=account.id, kind=FactorKind.TOTP, name=label, totp_secret=challenge.data,
                          last_step=step, sign_count=0, created_at=utcnow())
    return await enrol(ctx, account, factor, token)


async def enrol(ctx: NodeContext, account: Account, factor: SecondFactor, token: str) -> list[str]:
    """Store a new factor, spend its challenge, audit it, and make recovery codes when the
    account has none left — in one transaction."""
    async with ctx.db.session() as s:
        await s.execute(delete(AuthChallenge).where(AuthChallenge.token_hash == digest(token)))
        s.add(factor)
        left = await s.scalar(select(func.count()).select_from(RecoveryCode).where(
            RecoveryCode.account_id == account.id, RecoveryCode.used_at.is_(None)))
        codes = await _replace_recovery_codes(s, account.id) if not left else []
        await _audit(s, account, "second-factor-enrolled", f"{factor.kind} {factor.name!r}")
    return codes


async def remove(ctx: NodeContext, account: Account, factor_id: int) -> None:
    """Remove one of the account's factors (its owner re-authenticated first: the caller's
    job, node/signin.py `reauthenticate`). With the last one go the recovery codes."""
    async with ctx.db.session() as s:
        factor = await s.get(SecondFactor, factor_id)
        if factor is None or factor.account_id != account.id:
            raise NotFound("no such second factor")
        await s.delete(factor)
        await s.flush()
        rest = await s.scalar(select(SecondFactor.id).where(SecondFactor.account_id == account.id).limit(1))
        if rest is None:
            await s.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account.id))
        await _audit(s, account, "second-factor-removed", f"{factor.kind} {factor.name!r}")


async def new_recovery_codes(ctx: NodeContext, account: Account) -> list[str]:
    """Replace the account's recovery codes with ten new ones (shown once)."""
    if not await has_factor(ctx, account.id):
        raise Invalid("enrol a second factor first")
    async with ctx.db.session() as s:
        codes = await _replace_recovery_codes(s, account.id)
        await _audit(s, account, "recovery-codes-renewed", "")
    return codes


def _new_code() -> str:
    raw = "".join(secrets.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def _normal_code(code: str) -> str:
    return "".join(c for c in code.lower() if c.isalnum())


async def _replace_recovery_codes(s: AsyncSession, account_id: int) -> list[str]:
    await s.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account_id))
    codes = [_new_code() for _ in range(RECOVERY_CODES)]
    now = utcnow()
    s.add_all(RecoveryCode(code_hash=digest(_normal_code(c)), account_id=account_id, created_at=now) for c in codes)
    return codes


async def _audit(s: AsyncSession, account: Account, action: str, what: str) -> None:
    await audit.record(s, direction="admin", peer="", obj=f"accounts/{account.username}", decision="accepted",
                       rule=f"account:{action}", reason=f"{what} by @{account.username}".strip())


# Checking a code -----------------------------------------------------------------------------


async def check_code(ctx: NodeContext, account_id: int, code: str) -> bool:
    """Whether `code` is a current TOTP code of one of the account's apps (not used before),
    or one of its unused recovery codes — spending it either way."""
    if len(code) > 64:
        return False
    async with ctx.db.session() as s:
        apps = await s.scalars(select(SecondFactor).where(
            SecondFactor.account_id == account_id, SecondFactor.kind == FactorKind.TOTP).with_for_update())
        for app in apps:
            assert app.totp_secret is not None
            step = _matching_step(app.totp_secret, code, app.last_step)
            if step is not None:
                app.last_step, app.last_used_at = step, utcnow()
                return True
        spent = await s.execute(update(RecoveryCode).where(
            RecoveryCode.code_hash == digest(_normal_code(code)), RecoveryCode.account_id == account_id,
            RecoveryCode.used_at.is_(None)).values(used_at=utcnow()))
        return bool(spent.rowcount)  # type: ignore[attr-defined]
