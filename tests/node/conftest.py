"""Named fixtures for domain tests: a node context and people on it (and one on a peer)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache

import pytest

from node.context import NodeContext
from node.passwords import hash_password
from node.policy import PeerRule, Policy
from storage.db import Database
from storage.models import Account
from tests.factory import node_context

PASSWORD = "correct horse battery"
DOMAIN = "eng.acme.test"
ORG_PEER = "sales.acme.test"
OUTSIDE_PEER = "partner.test"

MakeAccount = Callable[..., Awaitable[Account]]


@cache
def _password_hash() -> str:
    # argon2 costs ~50 ms a hash: hash once, reuse for every fixture account.
    return hash_password(PASSWORD)


@pytest.fixture
def ctx(db: Database) -> NodeContext:
    # The sibling node is trusted as `organization`; every other domain is unknown (allowlist).
    policy = Policy(mode="allowlist", peers=(PeerRule(ORG_PEER, "organization"),))
    return node_context(db, DOMAIN, policy=policy)


@pytest.fixture
def make_account(ctx: NodeContext) -> MakeAccount:
    async def make(username: str, *, domain: str | None = None, locked: bool = False, role: str = "user") -> Account:
        account = Account(
            username=username,
            domain=domain,
            display_name=username.title(),
            bio="",
            role=role,
            disabled=False,
            locked=locked,
            password_hash=_password_hash() if domain is None else None,
            credentials_version=0,
            actor_uri=f"https://{domain}/users/{username}" if domain else None,
            url=f"https://{domain}/@{username}" if domain else None,
        )
        async with ctx.db.session() as s:
            s.add(account)
        return account

    return make


@pytest.fixture
async def alice(make_account: MakeAccount) -> Account:
    return await make_account("alice")


@pytest.fixture
async def bob(make_account: MakeAccount) -> Account:
    return await make_account("bob")


@pytest.fixture
async def carol(make_account: MakeAccount) -> Account:
    return await make_account("carol")


@pytest.fixture
async def sam_at_sales(make_account: MakeAccount) -> Account:
    """A colleague on a sibling node this node trusts as `organization`."""
    return await make_account("sam", domain=ORG_PEER)


@pytest.fixture
async def pat_at_partner(make_account: MakeAccount) -> Account:
    """Someone on an outside server."""
    return await make_account("pat", domain=OUTSIDE_PEER)
