"""The node's own row: its domain, instance key pair and the one-time setup token."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import func, select

from federation.keys import generate_rsa_keypair
from storage.db import Database
from storage.errors import Conflict, NotFound
from storage.models import Account, Instance


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_instance(db: Database, domain: str) -> str:
    """Create the instance row with a fresh key pair; return the one-time setup token."""
    private_pem, public_pem = generate_rsa_keypair()
    token = secrets.token_urlsafe(24)
    async with db.session() as s:
        if await s.get(Instance, 1) is not None:
            raise Conflict("this database already holds an Atrium node")
        s.add(
            Instance(
                id=1,
                domain=domain,
                private_key_pem=private_pem,
                public_key_pem=public_pem,
                setup_token_hash=_token_hash(token),
            )
        )
    return token


NO_NODE = "the database holds no Atrium node; run `atrium init`"
_PRIVATE_PEM = select(Instance.private_key_pem).where(Instance.id == 1)


async def get_instance(db: Database) -> Instance:
    async with db.reader() as s:
        instance = await s.get(Instance, 1)
    if instance is None:
        raise NotFound(NO_NODE)
    return instance


async def instance_private_pem(db: Database) -> str:
    """The instance key alone, by a statement built once: the running key sync asks every few
    seconds, and the whole row through the ORM was most of what that cost an idle node."""
    async with db.reader() as s:
        pem = (await (await s.connection()).execute(_PRIVATE_PEM)).scalar()
    if pem is None:
        raise NotFound(NO_NODE)
    return str(pem)


async def has_admin(db: Database) -> bool:
    async with db.reader() as s:
        n = await s.scalar(
            select(func.count()).select_from(Account).where(
                Account.role == "admin", Account.domain.is_(None)
            )
        )
    return bool(n)
