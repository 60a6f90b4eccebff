"""Organisation-wide announcements between three real `atrium serve` nodes (docs/federation.md
"Announcements"): eng and sales trust each other as `organization`, and sales lets eng announce
(`accept_announcements = true`); partner is a `partner` of eng, and would even accept eng's
announcements. Each node's inbox log is what crossed the wire to it.

eng's admin publishes one organisation-wide: sales shows it (and its client API lists it),
partner never receives it; an edit follows; once sales's policy no longer lets eng announce,
the next edit is refused there and audited; the withdrawal is still honoured."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from node import announcements
from node.announcements import Draft
from storage.models import AuditEntry, InboxEntry
from tests.api.two_nodes import api_token
from tests.conftest import ENGINES, recreate_pg_database, worker_tag
from tests.federation.nodes import NodeProcess, eventually, serving


def _sales_policy(eng: NodeProcess, partner: NodeProcess, *, accept: bool) -> str:
    return (f'mode = "allowlist"\n[peers."{eng.domain}"]\ntrust = "organization"\naccept_announcements = {str(accept).lower()}\n'
            f'[peers."{partner.domain}"]\ntrust = "partner"\n')


@pytest.fixture(scope="module", params=ENGINES)
def org(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, NodeProcess]]:
    root: Path = tmp_path_factory.mktemp("announce")
    pg_name = f"atrium_announce_{worker_tag()}" if request.param == "postgresql" else None
    nodes = {
        "eng": NodeProcess("eng", root, recreate_pg_database(pg_name) if pg_name else None),
        "sales": NodeProcess("sales", root),
        "partner": NodeProcess("partner", root),
    }
    eng, sales, partner = nodes["eng"], nodes["sales"], nodes["partner"]
    with ThreadPoolExecutor() as pool:
        list(pool.map(NodeProcess.init, nodes.values()))
    eng.write_policy(f'mode = "allowlist"\n[peers."{sales.domain}"]\ntrust = "organization"\n[peers."{partner.domain}"]\ntrust = "partner"\n')
    sales.write_policy(_sales_policy(eng, partner, accept=True))
    partner.write_policy(f'mode = "allowlist"\n[peers."{eng.domain}"]\ntrust = "organization"\naccept_announcements = true\n')
    with ThreadPoolExecutor() as pool:
        list(pool.map(lambda a: a[0].create_user(*a[1:]), [(eng, "root", "--admin"), (sales, "bob"), (partner, "pat")]))
    with serving(list(nodes.values()), pg_name):
        yield nodes


async def _shown(node: NodeProcess) -> list[tuple[str, str | None]]:
    async with node.act() as ctx:
        return [(v.announcement.content_html, v.announcement.origin) for v in await announcements.active(ctx, None)]


async def _inbox(node: NodeProcess, sender: NodeProcess) -> list[tuple[str, str, str | None]]:
    """What reached `node` from `sender`'s instance actor: (type, outcome, reason)."""
    async with node.act() as ctx, ctx.db.reader() as s:
        rows = await s.scalars(select(InboxEntry).where(InboxEntry.actor_uri == f"{sender.base_url}/actor")
                               .order_by(InboxEntry.received_at, InboxEntry.id))
        return [(r.type, r.outcome, r.reason) for r in rows]


async def test_an_organisation_wide_announcement_crosses_to_the_organisation_only(org: dict[str, NodeProcess]) -> None:
    eng, sales, partner = org["eng"], org["sales"], org["partner"]
    # When eng's admin publishes one organisation-wide (and one for eng alone)
    async with eng.act() as ctx:
        root = await eng.user(ctx, "root")
        await announcements.create(ctx, root, Draft("Only for eng"))
        wide = await announcements.create(ctx, root, Draft("All hands on Friday", organization_wide=True))
    # Then sales shows it as eng's announcement, and its client API lists it to bob
    await eventually(lambda: _shown(sales), 60, "the announcement on sales")
    assert await _shown(sales) == [("<p>All hands on Friday</p>", eng.domain)]
    async with aiohttp.ClientSession() as http:
        token = await api_token(http, sales, "bob")
        async with http.get(f"{sales.base_url}/api/v1/announcements", headers={"Authorization": f"Bearer {token}"}) as r:
            listed = await r.json()
    assert [(a["content"], a["read"]) for a in listed] == [("<p>All hands on Friday</p>", False)]
    # And what crossed to sales is one Create from eng's instance actor, accepted
    assert [(t, o) for t, o, _ in await _inbox(sales, eng)] == [("Create", "accepted")]
    # When eng's admin edits it  # Then the edit reaches sales
    async with eng.act() as ctx:
        await announcements.update(ctx, await eng.user(ctx, "root"), wide.id, Draft("All hands on Friday, 15:00", organization_wide=True))
    await eventually(lambda: _has(sales, "15:00"), 60, "the edit on sales")
    # When sales's policy stops letting eng announce, and eng edits it again
    sales.write_policy(_sales_policy(eng, partner, accept=False))
    await eventually(lambda: _refuses(sales, eng), 30, "sales's new policy in force")
    async with eng.act() as ctx:
        await announcements.update(ctx, await eng.user(ctx, "root"), wide.id, Draft("Moved to Monday", organization_wide=True))
    # Then sales refuses the Update, audited under the key, and keeps showing what it had
    refused = await eventually(lambda: _refused_updates(sales, eng), 60, "the refused Update on sales")
    assert "may not announce" in (refused[0][2] or "")
    assert await _shown(sales) == [("<p>All hands on Friday, 15:00</p>", eng.domain)]
    async with sales.act() as ctx, ctx.db.reader() as s:
        rules = list(await s.scalars(select(AuditEntry.rule).where(AuditEntry.peer == eng.domain, AuditEntry.decision == "refused")))
    assert f'peers."{eng.domain}".accept_announcements' in rules
    # When eng withdraws it  # Then sales drops it all the same (only its own node may)
    async with eng.act() as ctx:
        await announcements.remove(ctx, await eng.user(ctx, "root"), wide.id)
    await eventually(lambda: _gone(sales), 60, "the withdrawal on sales")
    # And nothing of it ever reached partner: no activity from eng's instance actor at all
    assert await _inbox(partner, eng) == []
    assert await _shown(partner) == []


async def _has(node: NodeProcess, word: str) -> bool:
    return any(word in html for html, _ in await _shown(node))


async def _gone(node: NodeProcess) -> bool:
    return await _shown(node) == []


async def _refuses(node: NodeProcess, peer: NodeProcess) -> bool:
    async with node.act() as ctx:
        return not ctx.policy().announcements_in(peer.domain).allowed


async def _refused_updates(node: NodeProcess, sender: NodeProcess) -> list[tuple[str, str, str | None]]:
    return [e for e in await _inbox(node, sender) if e[0] == "Update" and e[1] == "refused"]
