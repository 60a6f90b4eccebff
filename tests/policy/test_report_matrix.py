"""The outbound matrix of a forwarded report (a `Flag` from the instance actor, node/reports.py):
every trust level × every content rule, judged by what crossed the wire. A report goes only to
the reported account's own node, addressed to it alone, so it is asked as a direct message is
(docs/policy.md, "Audiences across the boundary"): every admitted trust level, never a blocked
or unnamed peer, and a content rule in the comment holds it back below its level as it holds a
post. The node and its six fake peers are tests/policy/harness.py's."""

from __future__ import annotations

import asyncio

import pytest

from node import reports
from node.instance import create_instance
from node.reports import ReportRequest
from tests.conftest import ENGINES
from tests.policy.harness import TRUSTS, database_url, network
from tests.policy.test_outbound_matrix import CONTENTS, SUFFIX, rules

Y, N = True, False
# content -> crossed to (organization, partner, public, limited, blocked, unknown), by hand
EXPECTED = {
    "plain":        (Y, Y, Y, Y, N, N),
    "confidential": (Y, N, N, N, N, N),  # rule `confidential`: below organization
    "embargoed":    (Y, Y, N, N, N, N),  # rule `embargo`: below partner
}


async def run(database: str) -> dict[str, tuple[bool, ...]]:
    async with network(database, rules()) as net:
        await create_instance(net.ctx.db, net.ctx.domain)  # the Flag is signed by the instance actor
        reporter = await net.local("ria")
        targets = {trust: await net.remote(trust, "rep") for trust in TRUSTS}
        for content in CONTENTS:
            for trust in TRUSTS:
                await reports.file_report(net.ctx, reporter, ReportRequest(
                    targets[trust].id, [], f"report {content}{SUFFIX[content]}", forward=True))
        await net.drain()
        crossed: dict[str, tuple[bool, ...]] = {}
        for content in CONTENTS:
            crossed[content] = tuple(
                any(a.get("type") == "Flag" and str(a.get("content", "")).startswith(f"report {content}")
                    for a in net.peers[trust].received)
                for trust in TRUSTS)
        # and no Flag names the reporter
        assert not any("ria" in str(a) for peer in net.peers.values() for a in peer.received)
        return crossed


@pytest.fixture(scope="module", params=ENGINES)
def crossed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[bool, ...]]:
    return asyncio.run(run(database_url(str(request.param), request, tmp_path_factory)))


def test_a_forwarded_report_crosses_to_exactly_the_peers_the_table_says(crossed: dict[str, tuple[bool, ...]]) -> None:
    assert crossed == EXPECTED
