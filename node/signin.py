"""Is this sign-in complete? The one answer every door asks — the web UI's sign-in form, the
OAuth authorize form Mastodon apps open, the OAuth password grant, and re-authentication
before a factor is removed.

A sign-in is a password (node/accounts.py `authenticate`, with its limits), then, for an
account with a second factor (node/second_factors.py, node/passkeys.py), a TOTP code, a
recovery code or a passkey's answer to a challenge made only after the right password. Those
answers are limited like passwords: each try is counted per (account, client address) and
per client address (node/shared_limits.py), apart from the password's count, so a right
password does not wipe out wrong codes; a challenge is void after five wrong answers.

Staff roles named in `auth.require_second_factor_for` must have a factor: such an account
without one is signed in only to enrol one (`must_enrol`), and gets no API token.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from webauthn import base64url_to_bytes
from webauthn.helpers import bytes_to_base64url

from node import accounts, oidc, oidc_accounts, passkeys, second_factors
from node.context import NodeContext
from node.oidc import SignInRefused
from storage.errors import Conflict, Forbidden
from storage.models import Account, ChallengeKind, FactorKind

USE_CODE_FLOW = (
    "this account signs in with a second factor, which the password grant cannot ask for: "
    "use the authorization-code flow (/oauth/authorize)"
)
ENROL_FIRST = "this account must enrol a second factor first: sign in to the web UI and add one in Settings"
PASSWORDS_OFF = "password sign-in is turned off on this node: sign in with the company's single sign-on"


@dataclass(frozen=True)
class Complete:
    """Signed in. `must_enrol`: a staff account that may do nothing but enrol a factor."""

    account: Account
    must_enrol: bool


@dataclass(frozen=True)
class SecondFactorNeeded:
    """The password was right; `token` names the challenge the second factor answers.
    `passkey_options` is the JSON for `navigator.credentials.get`, when it has passkeys."""

    token: str
    account: Account
    totp: bool
    passkey_options: str | None


async def must_enrol(ctx: NodeContext, account: Account) -> bool:
    """A staff account of `auth.require_second_factor_for` with no factor yet. Password
    accounts only: an account with no password signs in through the identity provider, whose
    own second factors are the company's to require."""
    return (account.password_hash is not None and account.role in ctx.second_factor_roles
            and not await second_factors.has_factor(ctx, account.id))


async def _password_allowed(ctx: NodeContext, account: Account) -> None:
    """With `auth.password_sign_in = false`, a password signs in only the break-glass admin: an
    admin with no single-sign-on link, while `auth.admin_password_sign_in` allows it."""
    if ctx.password_sign_in:
        return
    if ctx.admin_password_sign_in and account.role == "admin" and not await oidc_accounts.linked(ctx, account.id):
        return
    raise Forbidden(PASSWORDS_OFF)


def _limit_key(account: Account) -> str:
    return f"second-factor:{account.id}"


async def password_step(ctx: NodeContext, login: str, password: str, *, client: str) -> Complete | SecondFactorNeeded:
    account = await accounts.authenticate(ctx, login, password, client=client)
    await _password_allowed(ctx, account)
    found = await second_factors.factors(ctx, account.id)
    if not found:
        return Complete(account, await must_enrol(ctx, account))
    options = await passkeys.authentication_options(ctx, account.id)
    totp = any(f.kind == FactorKind.TOTP for f in found)
    data = json.dumps({"totp": totp, **({"challenge": bytes_to_base64url(options[0]), "options": options[1]}
                                        if options else {})})
    token = await second_factors.new_challenge(ctx, account.id, ChallengeKind.SIGNIN, data)
    return SecondFactorNeeded(token, account, totp, options[1] if options else None)


async def pending(ctx: NodeContext, token: str) -> SecondFactorNeeded:
    """The sign-in waiting for its second factor under `token` (to ask again after a wrong
    answer); Forbidden when it is void."""
    challenge = await second_factors.read_challenge(ctx, token, ChallengeKind.SIGNIN)
    data = json.loads(challenge.data)
    account = await accounts.get_account(ctx, challenge.account_id)
    return SecondFactorNeeded(token, account, bool(data.get("totp")), data.get("options"))


async def second_factor_step(
    ctx: NodeContext, token: str, *, code: str = "", passkey: str = "", client: str
) -> Complete:
    """Finish a sign-in with a TOTP or recovery code, or a passkey's answer (JSON)."""
    challenge = await second_factors.read_challenge(ctx, token, ChallengeKind.SIGNIN)
    account = await accounts.get_account(ctx, challenge.account_id)
    key = _limit_key(account)
    await ctx.limits.signin_attempt(ctx.db, key, client)
    if passkey:
        wanted = json.loads(challenge.data).get("challenge")
        ok = bool(wanted) and await passkeys.check_assertion(ctx, account.id, base64url_to_bytes(wanted), passkey)
    else:
        ok = await second_factors.check_code(ctx, account.id, code.strip())
    if not ok:
        await second_factors.wrong_answer(ctx, token)
        raise Forbidden("that second factor is not right" if passkey else "that code is not right, or was used already",
                        status=401)
    await ctx.limits.signin_succeeded(ctx.db, key, client)
    await second_factors.spend_challenge(ctx, token)
    fresh = await accounts.get_account(ctx, account.id)
    if fresh.disabled or fresh.suspended:
        raise Forbidden("this account cannot sign in")
    return Complete(fresh, False)


async def single_sign_on(ctx: NodeContext, *, state: str, code: str, error: str, browser_token: str
                         ) -> tuple[Complete, str]:
    """A sign-in through the company's identity provider, back at the callback: the ID token
    checked whole (node/oidc.py `finish`), then the linked, provisioned or new account
    (node/oidc_accounts.py). Returns it with the local path the person was going to. A refusal
    (a forged or replayed token, a taken username) is audited (`account:sso-refused`) and raised."""
    if ctx.oidc is None:
        raise SignInRefused("single sign-on is not set up on this node", status=404)
    try:
        identity = await oidc.finish(ctx, state=state, code=code, error=error, browser_token=browser_token)
        account = await oidc_accounts.account_for(ctx, ctx.oidc, identity)
    except (SignInRefused, Conflict, Forbidden) as exc:
        await oidc_accounts.refused(ctx, exc.reason)
        raise
    return Complete(account, await must_enrol(ctx, account)), identity.next_path


async def password_only(ctx: NodeContext, login: str, password: str, *, client: str) -> Account:
    """The OAuth password grant's sign-in: a password alone, so only for an account that
    needs nothing more."""
    step = await password_step(ctx, login, password, client=client)
    if isinstance(step, SecondFactorNeeded):
        await second_factors.spend_challenge(ctx, step.token)
        raise Forbidden(USE_CODE_FLOW)
    if step.must_enrol:
        raise Forbidden(ENROL_FIRST)
    return step.account


async def reauthenticate(ctx: NodeContext, account: Account, password: str, *, client: str) -> None:
    """The signed-in owner proves it is them again (before a factor is removed): their password,
    under the same sign-in limits."""
    again = await accounts.authenticate(ctx, account.username, password, client=client)
    if again.id != account.id:
        raise Forbidden("wrong password", status=401)
