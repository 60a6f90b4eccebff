"""Key rotation: a new RSA key pair for the instance actor or a local account, announced to peers.

The key id stays `…#main-key` (as Mastodon does): a peer that cached the old key fails to
verify the next signature, re-fetches the actor from its origin (node/remote.py) and gets the
new key. The `Update` of the actor queued here, in the same transaction as the new key, lets
the peers that should know learn it before that.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from federation.keys import generate_rsa_keypair, load_private_key
from node.accounts import find_local
from node.context import NodeContext
from node.federate import queue_fanout
from node.instance import instance_private_pem
from node.loops import Periodic
from node.queues import ActorUpdated, InstanceUpdated
from storage.db import Database
from storage.errors import NotFound, Unavailable
from storage.models import Account, Instance

log = logging.getLogger("atrium.keys")

@dataclass(frozen=True)
class Rotated:
    """One rotated actor: `username` None for the instance actor."""

    username: str | None


async def rotate_account(ctx: NodeContext, username: str) -> Rotated:
    """A new key pair for a local account, and an Update(Person) to its followers' inboxes."""
    private_pem, public_pem = generate_rsa_keypair()  # outside the write lock: ~46 ms
    async with ctx.db.session() as s:
        account = await find_local(s, username)
        if account is None:
            raise NotFound(f"no such user: {username}")
        account.private_key_pem = private_pem
        account.public_key_pem = public_pem
        await queue_fanout(s, ActorUpdated(account.id))
        return Rotated(account.username)


async def rotate_instance(ctx: NodeContext) -> Rotated:
    """A new key pair for the instance actor, and an Update(Application) to known peers."""
    private_pem, public_pem = generate_rsa_keypair()
    async with ctx.db.session() as s:
        instance = await s.get(Instance, 1, with_for_update=True)
        if instance is None:
            raise Unavailable("this node has no instance row: run `atrium init`")
        instance.private_key_pem = private_pem
        instance.public_key_pem = public_pem
        await queue_fanout(s, InstanceUpdated())
    return Rotated(None)


async def rotate_all(ctx: NodeContext) -> list[Rotated]:
    """The instance actor and every local account that has keys (one without keys gets a
    fresh pair on first need anyway: no peer can hold an old one)."""
    async with ctx.db.reader() as s:
        usernames = list(
            await s.scalars(
                select(Account.username)
                .where(Account.domain.is_(None), Account.private_key_pem.is_not(None))
                .order_by(Account.id)
            )
        )
    done = [await rotate_instance(ctx)]
    for username in usernames:
        done.append(await rotate_account(ctx, username))
    return done


class InstanceKey:
    """The instance actor's private key as a running process signs its fetches with.

    The signer of a fetch is synchronous, so the key is held here and re-read from the
    database now and then (`syncing`): a rotation by `atrium keys rotate` in another process
    reaches every running process without a restart.
    """

    def __init__(self, pem: str) -> None:
        self._pem = pem
        self.key: rsa.RSAPrivateKey = load_private_key(pem)

    async def sync(self, db: Database) -> None:
        pem = await instance_private_pem(db)
        if pem != self._pem:
            self.key = load_private_key(pem)
            self._pem = pem
            log.info("the instance actor's key changed: signing fetches with the new key")

    def syncing(self, db: Database, every: float = 1.0) -> Periodic:
        """The loop that re-reads the key every `every` seconds; a failed read (the database
        restarting) keeps the key in use and is tried again (node/loops.py)."""
        return Periodic("instance key sync", partial(self.sync, db), every)
