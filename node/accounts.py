"""Local and remote accounts: create, look up, authenticate, disable, roles, lazy keys."""

from __future__ import annotations

import hashlib
import hmac
import re
from functools import cache

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from federation.keys import generate_rsa_keypair
from node.context import NodeContext
from node.federate import queue_fanout
from node.passwords import hash_password, verify_password
from node.queues import ActorUpdated
from storage.errors import Conflict, Forbidden, Invalid, NotFound
from storage.models import ROLES, Account, ActorType, Instance

USERNAME_RE = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,28}[A-Za-z0-9_])?$")
MAX_DISPLAY_NAME = 100
MAX_BIO = 1000


def check_username(username: str) -> str:
    if not USERNAME_RE.fullmatch(username):
        raise Invalid(
            f"invalid username {username!r}: 1-30 letters, digits or _ (dots and hyphens inside)"
        )
    return username


async def find_local(s: AsyncSession, username: str) -> Account | None:
    return await s.scalar(
        select(Account).where(
            func.lower(Account.username) == username.lower(), Account.domain.is_(None)
        )
    )


async def _existing_local(s: AsyncSession, username: str) -> Account:
    account = await find_local(s, username)
    if account is None:
        raise NotFound(f"no such user: {username}")
    return account


async def get_local(ctx: NodeContext, username: str) -> Account:
    """A local account by name; a deleted one is gone (410), its name still reserved."""
    async with ctx.db.reader() as s:
        account = await _existing_local(s, username)
    if account.deleted_at is not None:
        raise NotFound(f"{account.username} was deleted", status=410)
    return account


async def get_account(ctx: NodeContext, account_id: int) -> Account:
    async with ctx.db.reader() as s:
        account = await s.get(Account, account_id)
    if account is None:
        raise NotFound("no such account")
    return account


async def create_user(
    ctx: NodeContext,
    username: str,
    password: str,
    *,
    role: str = "user",
    display_name: str | None = None,
    email: str | None = None,
    locked: bool = False,
) -> Account:
    """A new local account. Its key pair is made later, on first need."""
    check_username(username)
    if role not in ROLES:
        raise Invalid(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    if display_name is not None and len(display_name) > MAX_DISPLAY_NAME:
        raise Invalid(f"display name too long: at most {MAX_DISPLAY_NAME} characters")
    password_hash = hash_password(password)
    try:
        async with ctx.db.session() as s:
            account = await _insert_user(s, username, password_hash, role, display_name, email, locked)
            if role == "admin":
                await _retire_setup_token(s)
            return account
    except IntegrityError as exc:
        raise Conflict(f"user {username!r} already exists") from exc


async def _insert_user(
    s: AsyncSession,
    username: str,
    password_hash: str | None,
    role: str,
    display_name: str | None,
    email: str | None,
    locked: bool,
) -> Account:
    existing = await find_local(s, username)
    if existing is not None:
        raise Conflict(refusal_of_name(existing))
    account = Account(
        username=username,
        domain=None,
        display_name=display_name if display_name is not None else username,
        bio="",
        role=role,
        disabled=False,
        locked=locked,
        email=email,
        password_hash=password_hash,
        credentials_version=0,
    )
    s.add(account)
    await s.flush()
    return account


async def insert_passwordless(
    s: AsyncSession, username: str, *, display_name: str, email: str | None
) -> Account:
    """A local account with no password, in the caller's transaction: it signs in through the
    company's identity provider (SCIM provisioning makes these)."""
    check_username(username)
    return await _insert_user(s, username, None, "user", display_name[:MAX_DISPLAY_NAME], email, False)


def refusal_of_name(existing: Account) -> str:
    """Why a new local account cannot take `existing`'s name: every door that makes accounts
    (the CLI, the admin page, SCIM, OpenID Connect) says the same."""
    if existing.deleted_at is not None:
        return f"the name {existing.username} belonged to a deleted account and cannot be reused"
    if existing.is_group:  # people and communities share one namespace of names
        return f"the name {existing.username} is taken by a community"
    return f"user {existing.username!r} already exists"


def refuse_deleted(account: Account) -> None:
    """`Conflict` for a change to an account that was deleted (it stays deleted)."""
    if account.deleted_at is not None:
        raise Conflict(f"the account {account.username} was deleted")


async def _retire_setup_token(s: AsyncSession) -> None:
    """An admin was made another way (`atrium user create --admin`, `set-role admin`): the
    one-time setup token has nothing left to do, and must not make an admin later either (say,
    once this one is demoted), from a log it was printed in."""
    instance = await s.get(Instance, 1, with_for_update=True)
    if instance is not None:
        instance.setup_token_hash = None


async def claim_first_admin(
    ctx: NodeContext, token: str, username: str, password: str
) -> Account:
    """The first sign-in of a fresh node: spend the one-time token and become its admin.

    One transaction: the token is spent if and only if the admin is created.
    """
    check_username(username)
    password_hash = hash_password(password)
    async with ctx.db.session() as s:
        instance = await s.get(Instance, 1, with_for_update=True)
        if instance is None or instance.setup_token_hash is None:
            raise Forbidden("this node has already been set up")
        given = hashlib.sha256(token.encode()).hexdigest()
        if not hmac.compare_digest(instance.setup_token_hash, given):
            raise Forbidden("wrong setup token")
        instance.setup_token_hash = None
        return await _insert_user(s, username, password_hash, "admin", None, None, False)


async def authenticate(ctx: NodeContext, login: str, password: str, *, client: str) -> Account:
    """The account for a username (or email) and password; one vague error for every failure.

    Every way of signing in comes through here, naming the client's address (web/client.py):
    a try is counted per (login, address) and per address, never per login alone, so a wrong
    password from one address never stops the right one from another; past the free tries,
    the waits grow (RateLimited, 429 with Retry-After) and the password is not even checked.
    A right password clears its (login, address) count (node/shared_limits.py)."""
    await ctx.limits.signin_attempt(ctx.db, login, client)
    async with ctx.db.reader() as s:
        account = await find_local(s, login)
        if account is None and "@" in login:
            account = await s.scalar(
                select(Account).where(
                    func.lower(Account.email) == login.lower(), Account.domain.is_(None)
                )
            )
    # Verify even for unknown users so timing does not reveal which usernames exist.
    ok = verify_password(account.password_hash if account else _dummy_hash(), password)
    if account is None or not ok:
        raise Forbidden("wrong username or password", status=401)  # the try stays counted
    await ctx.limits.signin_succeeded(ctx.db, login, client)
    if account.disabled:
        raise Forbidden("this account is disabled")
    if account.suspended:
        raise Forbidden("this account is suspended")
    return account


@cache
def _dummy_hash() -> str:
    return hash_password("not-a-real-password-just-for-timing")


async def list_users(ctx: NodeContext) -> list[Account]:
    """This node's people (the CLI's `user list`, the admin page): its communities, accounts
    too, are not people."""
    async with ctx.db.reader() as s:
        rows = await s.scalars(
            select(Account).where(Account.domain.is_(None), Account.deleted_at.is_(None),
                                  Account.actor_type != ActorType.GROUP).order_by(Account.id)
        )
        return list(rows)


def refuse_community(account: Account) -> None:
    """`Invalid` for a change only a person can take (a password, a role): a community's
    account shares the namespace of names, never signs in, and is moderated, not promoted."""
    if account.is_group:
        raise Invalid(f"{account.username} is a community, not a person")


async def _update_local(ctx: NodeContext, username: str, **changes: object) -> Account:
    async with ctx.db.session() as s:
        account = await _existing_local(s, username)
        refuse_deleted(account)
        refuse_community(account)
        for key, value in changes.items():
            setattr(account, key, value)
        if changes.get("role") == "admin":
            await _retire_setup_token(s)
        return account


async def _set_disabled(ctx: NodeContext, username: str, disabled: bool) -> Account:
    async with ctx.db.session() as s:
        account = await _existing_local(s, username)
        refuse_deleted(account)
        await set_disabled_in(s, account, disabled)
        return account


async def set_disabled_in(s: AsyncSession, account: Account, disabled: bool) -> None:
    """Disable or enable a local account in the caller's transaction: the one way for
    `atrium user disable`/`enable` and SCIM's `active`. Disabling voids its sessions and tokens;
    either way the peers that follow it are told (an Update of the actor, marked suspended or
    no longer), and its posts leave or return to timelines here and there."""
    account.disabled = disabled
    if disabled:  # its sessions and tokens are void from now on
        account.credentials_version += 1
    await queue_fanout(s, ActorUpdated(account.id))


async def disable(ctx: NodeContext, username: str) -> Account:
    """Disable an account and void its sessions and tokens (by bumping its credentials version)."""
    return await _set_disabled(ctx, username, True)


async def enable(ctx: NodeContext, username: str) -> Account:
    return await _set_disabled(ctx, username, False)


async def set_password(ctx: NodeContext, username: str, password: str) -> Account:
    password_hash = hash_password(password)
    async with ctx.db.session() as s:
        account = await _existing_local(s, username)
        refuse_deleted(account)
        refuse_community(account)
        account.password_hash = password_hash
        account.credentials_version += 1
        return account


async def set_role(ctx: NodeContext, username: str, role: str) -> Account:
    if role not in ROLES:
        raise Invalid(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    return await _update_local(ctx, username, role=role)


def check_profile(*, display_name: str | None = None, bio: str | None = None) -> None:
    """`Invalid` for a profile text `update_profile` would refuse: asked before a change made of
    several steps (pictures, then texts) writes anything."""
    if "\x00" in (display_name or "") + (bio or ""):  # no database stores it (PostgreSQL refuses it)
        raise Invalid("a profile text may not contain a NUL character")
    if display_name is not None and len(display_name) > MAX_DISPLAY_NAME:
        raise Invalid(f"display name too long: at most {MAX_DISPLAY_NAME} characters")
    if bio is not None and len(bio) > MAX_BIO:
        raise Invalid(f"bio too long: at most {MAX_BIO} characters")


async def update_profile(
    ctx: NodeContext,
    account_id: int,
    *,
    display_name: str | None = None,
    bio: str | None = None,
    locked: bool | None = None,
) -> Account:
    check_profile(display_name=display_name, bio=bio)
    async with ctx.db.session() as s:
        account = await s.get(Account, account_id)
        if account is None or account.domain is not None:
            raise NotFound("no such local account")
        refuse_deleted(account)
        if display_name is not None:
            account.display_name = display_name
        if bio is not None:
            account.bio = bio
        if locked is not None:
            account.locked = locked
        return account


async def ensure_keys(ctx: NodeContext, account_id: int) -> Account:
    """The account with its RSA key pair, made now if this is its first need."""
    read = await get_account(ctx, account_id)
    if read.deleted_at is not None:  # its keys are destroyed, never made again
        raise NotFound(f"the account {read.username} was deleted", status=410)
    if read.private_key_pem:
        return read
    private_pem, public_pem = generate_rsa_keypair()  # outside the write lock: ~46 ms
    async with ctx.db.session() as s:
        account = await s.get(Account, account_id)
        if account is None:
            raise NotFound("no such account")
        if not account.private_key_pem:  # a concurrent first need may have won
            account.private_key_pem = private_pem
            account.public_key_pem = public_pem
        return account
