"""The private keys of deleted accounts, destroyed once nothing needs them: a background loop.

An account's deletion (node/account_deletion.py) federates an actor `Delete` signed with the
account's key, so the key must outlive the deletion by as long as those deliveries (and any
other delivery still queued in its name) may be sent. Each iteration clears `private_key_pem`
of every deleted local account that no unfinished `deliver` job is signed by — or that was
deleted more than `grace` ago, when whatever is still queued has expired in all but name (a
peer away for that long gets nothing signed as the account any more). After that no key for
the account is ever made again (node/accounts.py `ensure_keys` refuses a deleted account), and
a delivery still asking for one ends as a final failure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update

from node.loops import BackgroundLoop
from node.queues import DELIVER, Delivery, MalformedJob
from storage.db import Database
from storage.models import Account, Job, utcnow

log = logging.getLogger("atrium.keys")

GRACE = timedelta(days=7)  # beyond every delivery's retries (node/delivery.py MAX_ATTEMPTS)
UNFINISHED = ("pending", "running")


class KeyDestruction(BackgroundLoop):
    """Destroys the keys of deleted accounts whose deliveries are finished or expired."""

    def __init__(
        self, db: Database, *, every: float = 60.0, grace: timedelta = GRACE, now: Callable[[], datetime] = utcnow
    ) -> None:
        super().__init__("key destruction", every)
        self.db = db
        self.grace = grace
        self.now = now

    async def run_once(self) -> list[int]:
        """One pass; the ids of the accounts whose keys it destroyed."""
        async with self.db.reader() as s:
            waiting: dict[int, datetime] = {a: d for a, d in (await s.execute(
                select(Account.id, Account.deleted_at).where(
                    Account.domain.is_(None), Account.deleted_at.is_not(None), Account.private_key_pem.is_not(None)
                )
            )).all() if d is not None}
            if not waiting:
                return []  # the usual case: no scan of the queue
            payloads = (await s.scalars(
                select(Job.payload).where(Job.queue == DELIVER, Job.status.in_(UNFINISHED))
            )).all()
        signing = set()
        for payload in payloads:
            try:
                signing.add(Delivery.from_json(payload).signer)
            except MalformedJob:
                continue  # fails on its own when claimed; it signs for nobody
        cutoff = self.now() - self.grace
        done = [a for a, deleted_at in waiting.items() if a not in signing or deleted_at < cutoff]
        if done:
            async with self.db.session() as s:
                await s.execute(
                    update(Account).where(Account.id.in_(done), Account.deleted_at.is_not(None))
                    .values(private_key_pem=None)
                )
            log.info("destroyed the private keys of %d deleted account(s)", len(done))
        return done
