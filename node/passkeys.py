"""WebAuthn passkeys as a second factor: the options a browser is given, and the checks of
what it answers, by the maintained `webauthn` package (py_webauthn): challenge, origin, RP id,
signature and signature counter. The relying party is the node's host (without its port),
the origin the node's base URL.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from node.context import NodeContext
from node.second_factors import enrol, factor_name, new_challenge, read_challenge, wrong_answer
from storage.errors import Forbidden, Invalid
from storage.models import Account, ChallengeKind, FactorKind, SecondFactor, utcnow

MAX_CREDENTIAL_JSON = 64 * 1024


def rp_id(ctx: NodeContext) -> str:
    host = ctx.domain
    if host.startswith("["):  # an IPv6 literal: no RP id can name it, the browser refuses
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


async def _descriptors(ctx: NodeContext, account_id: int) -> list[PublicKeyCredentialDescriptor]:
    async with ctx.db.reader() as s:
        ids = await s.scalars(select(SecondFactor.credential_id).where(
            SecondFactor.account_id == account_id, SecondFactor.kind == FactorKind.PASSKEY))
        return [PublicKeyCredentialDescriptor(id=i) for i in ids if i]


async def begin_registration(ctx: NodeContext, account: Account) -> tuple[str, str]:
    """(challenge token, the options for `navigator.credentials.create` as JSON)."""
    options = generate_registration_options(
        rp_id=rp_id(ctx), rp_name=ctx.display_name, user_name=f"{account.username}@{ctx.domain}",
        user_id=str(account.id).encode(), user_display_name=account.display_name or account.username,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED, user_verification=UserVerificationRequirement.PREFERRED),
        exclude_credentials=await _descriptors(ctx, account.id),
    )
    token = await new_challenge(ctx, account.id, ChallengeKind.ENROL_PASSKEY, bytes_to_base64url(options.challenge))
    return token, options_to_json(options)


def _credential(raw: str) -> str:
    if not raw or len(raw) > MAX_CREDENTIAL_JSON:
        raise Invalid("no passkey answer came from the browser")
    try:
        json.loads(raw)
    except ValueError as exc:
        raise Invalid("the passkey answer is not JSON") from exc
    return raw


async def finish_registration(ctx: NodeContext, account: Account, token: str, credential: str, name: str) -> list[str]:
    """Enrol the passkey the browser made; new recovery codes when the account had none left."""
    label = factor_name(name, "Passkey")
    challenge = await read_challenge(ctx, token, ChallengeKind.ENROL_PASSKEY)
    if challenge.account_id != account.id:
        raise Forbidden("this enrolment is not yours")
    try:
        verified = verify_registration_response(
            credential=_credential(credential), expected_challenge=base64url_to_bytes(challenge.data),
            expected_rp_id=rp_id(ctx), expected_origin=ctx.base_url,
        )
    except WebAuthnException as exc:
        await wrong_answer(ctx, token)
        raise Invalid(f"the passkey could not be registered: {exc}") from exc
    factor = SecondFactor(account_id=account.id, kind=FactorKind.PASSKEY, name=label,
                          credential_id=verified.credential_id, public_key=verified.credential_public_key,
                          sign_count=verified.sign_count, created_at=utcnow())
    return await enrol(ctx, account, factor, token)


async def authentication_options(ctx: NodeContext, account_id: int) -> tuple[bytes, str] | None:
    """(challenge, options for `navigator.credentials.get` as JSON), or None without passkeys."""
    allowed = await _descriptors(ctx, account_id)
    if not allowed:
        return None
    options = generate_authentication_options(rp_id=rp_id(ctx), allow_credentials=allowed,
                                              user_verification=UserVerificationRequirement.PREFERRED)
    return options.challenge, options_to_json(options)


async def check_assertion(ctx: NodeContext, account_id: int, challenge: bytes, credential: str) -> bool:
    """Whether `credential` is a valid answer to `challenge` by one of the account's passkeys;
    its signature counter is advanced (a counter going back means a cloned key: refused)."""
    try:
        raw = json.loads(_credential(credential))
        credential_id = base64url_to_bytes(str(raw.get("rawId") or raw.get("id") or ""))
    except (Invalid, ValueError, AttributeError):
        return False
    async with ctx.db.session() as s:
        factor = await s.scalar(select(SecondFactor).where(
            SecondFactor.credential_id == credential_id, SecondFactor.account_id == account_id,
            SecondFactor.kind == FactorKind.PASSKEY).with_for_update())
        if factor is None or factor.public_key is None:
            return False
        try:
            verified = verify_authentication_response(
                credential=credential, expected_challenge=challenge, expected_rp_id=rp_id(ctx),
                expected_origin=ctx.base_url, credential_public_key=factor.public_key,
                credential_current_sign_count=factor.sign_count,
            )
        except WebAuthnException:
            return False
        factor.sign_count, factor.last_used_at = verified.new_sign_count, utcnow()
        return True
