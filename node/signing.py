"""Which private key signs for whom: read for many deliveries at once (node.delivery batches
the reads of the deliveries in flight through a GroupCommit)."""

from __future__ import annotations

from sqlalchemy import select

from storage.db import Database
from storage.models import Account, Instance


async def signing_keys(db: Database, account_ids: list[int | None]) -> list[tuple[str | None, str] | None]:
    """For each id, (username, private key PEM); None for the instance actor's username; the
    whole entry None for an account with no key yet (node.accounts.ensure_keys makes one)."""
    wanted = {a for a in account_ids if a is not None}
    async with db.reader() as s:
        rows = {i: (u, pem) for i, u, pem in (await s.execute(
            select(Account.id, Account.username, Account.private_key_pem).where(Account.id.in_(wanted))
        )).all()} if wanted else {}
        instance = await s.scalar(select(Instance.private_key_pem).where(Instance.id == 1)) \
            if None in account_ids else None
    found: list[tuple[str | None, str] | None] = []
    for a in account_ids:
        if a is None:
            found.append((None, instance) if instance else None)
        else:
            username, pem = rows.get(a, (None, None))
            found.append((username, pem) if pem else None)
    return found
