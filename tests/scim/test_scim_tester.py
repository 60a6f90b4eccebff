"""scim2-tester (the SCIM conformance checker) against a real node serving /scim/v2/ over HTTP:
every check it runs passes, none is skipped — discovery, the CRUD of Users (with the enterprise
extension) and Groups, PATCH add/replace/remove of every attribute, attribute selection, search
and the errors of unknown URLs. docs/identity.md ("Provisioning from the company directory (SCIM 2.0)")."""

from __future__ import annotations

import asyncio
from collections import Counter

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from node import scim_tokens
from tests.conftest import StartNode


def _run_checks(base_url: str, token: str) -> list[object]:
    with Client(base_url=f"{base_url}/scim/v2", headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        return list(check_server(SyncSCIMClient(http)))


async def test_scim2_tester_passes_every_check_with_none_skipped(start_node: StartNode) -> None:
    # Given a node and a SCIM token its admin made
    node = await start_node()
    _, token = await scim_tokens.create_token(node.ctx, "tester")
    # When scim2-tester runs every one of its checks against the node over HTTP
    results = await asyncio.to_thread(_run_checks, node.url, token)
    # Then every check passed, and none was skipped
    statuses = Counter(r.status for r in results)  # type: ignore[attr-defined]
    failed = [f"{r.status.name} {r.title}: {r.reason}" for r in results if r.status != Status.SUCCESS]  # type: ignore[attr-defined]
    assert not failed, f"{statuses}\n" + "\n".join(failed[:60])
    assert statuses[Status.SUCCESS] > 100, statuses
