"""Legal holds: which accounts are held, under which case. The one question every removal
asks (retention, a person's own delete, account deletion): `held_account_ids`.

Placing and releasing holds (with their audit entries), the CLI and the admin page build on
these reads."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import LegalHold


async def held_account_ids(s: AsyncSession, account_ids: Iterable[int]) -> set[int]:
    """The accounts among `account_ids` under at least one hold not yet released."""
    ids = set(account_ids)
    if not ids:
        return set()
    rows = await s.scalars(
        select(LegalHold.account_id).where(LegalHold.account_id.in_(ids), LegalHold.released_at.is_(None))
    )
    return set(rows)


async def is_held(s: AsyncSession, account_id: int) -> bool:
    return bool(await held_account_ids(s, [account_id]))


async def accounts_of_case(s: AsyncSession, case_name: str, *, active_only: bool = True) -> list[int]:
    """The accounts a case holds (now, or ever with `active_only=False`), oldest hold first."""
    query = select(LegalHold.account_id).where(LegalHold.case_name == case_name)
    if active_only:
        query = query.where(LegalHold.released_at.is_(None))
    rows = await s.scalars(query.order_by(LegalHold.created_at))
    return list(dict.fromkeys(rows))
