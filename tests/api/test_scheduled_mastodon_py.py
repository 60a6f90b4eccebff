"""Scheduled statuses with Mastodon.py 2.3.3 against real `atrium serve` processes, and a
scheduled followers-only post reaching a follower on another real node only once published.

eng (PostgreSQL when the run includes it, else SQLite) is alice's node; sales (SQLite) is a
partner where her follower carol lives. The publisher is stepped from the test with a moved
clock (a second worker process's worth, on eng's database): eng's own job worker delivers.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import mastodon
import pytest

from node.scheduled_publisher import ScheduledPublisher
from storage.models import utcnow
from tests.conftest import ENGINES, drop_pg_database, recreate_pg_database, worker_tag
from tests.federation.nodes import NodeProcess, eventually, serving
from tests.federation.test_multinode import follow_remote, home_texts


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProcess, NodeProcess]]:
    root: Path = tmp_path_factory.mktemp("scheduled_mpy")
    pg_name = f"atrium_sched_{worker_tag()}"
    on_pg = "postgresql" in ENGINES
    eng = NodeProcess("eng", root, recreate_pg_database(pg_name) if on_pg else None)
    sales = NodeProcess("sales", root)
    with ThreadPoolExecutor() as pool:
        list(pool.map(NodeProcess.init, (eng, sales)))
    eng.write_policy(f'mode = "allowlist"\n[peers."{sales.domain}"]\ntrust = "partner"\n')
    sales.write_policy(f'mode = "allowlist"\n[peers."{eng.domain}"]\ntrust = "partner"\n')
    eng.create_user("alice")
    eng.create_user("mallory")
    sales.create_user("carol")
    try:
        with serving([eng, sales]):
            yield eng, sales
    finally:
        if on_pg and not os.environ.get("ATRIUM_KEEP_TEST_DATABASES"):
            drop_pg_database(pg_name)


def _client(node: NodeProcess, username: str) -> mastodon.Mastodon:
    client_id, secret = mastodon.Mastodon.create_app("scheduled test", api_base_url=node.base_url)
    client = mastodon.Mastodon(client_id=client_id, client_secret=secret, api_base_url=node.base_url,
                               version_check_mode="created")
    client.log_in(username, f"{username}-password", scopes=["read", "write"], allow_http=True)
    return client


def test_mastodon_py_schedules_lists_retimes_and_cancels(nodes: tuple[NodeProcess, NodeProcess]) -> None:
    eng, _ = nodes
    alice, mallory = _client(eng, "alice"), _client(eng, "mallory")
    when = datetime.now(UTC) + timedelta(hours=3)
    # When alice schedules a post with Mastodon.py
    made = alice.status_post("see you at the all-hands", visibility="unlisted", scheduled_at=when)
    # Then it answers a scheduled status, which she lists and reads
    assert made.params.text == "see you at the all-hands" and made.params.visibility == "unlisted"
    assert abs((made.scheduled_at - when).total_seconds()) < 1
    assert [s.id for s in alice.scheduled_statuses()] == [made.id]
    assert alice.scheduled_status(made.id).id == made.id
    # When she moves it a day later, Then the time is the new one
    moved = alice.scheduled_status_update(made.id, when + timedelta(days=1))
    assert abs((moved.scheduled_at - (when + timedelta(days=1))).total_seconds()) < 1
    # And mallory can neither see nor cancel it
    with pytest.raises(mastodon.MastodonNotFoundError):
        mallory.scheduled_status(made.id)
    with pytest.raises(mastodon.MastodonNotFoundError):
        mallory.scheduled_status_delete(made.id)
    assert mallory.scheduled_statuses() == []
    # And too soon or in the past is refused with 422
    for bad in (datetime.now(UTC) + timedelta(minutes=2), datetime.now(UTC) - timedelta(days=1)):
        with pytest.raises(mastodon.MastodonAPIError) as refused:
            alice.status_post("too soon", scheduled_at=bad)
        assert refused.value.args[1] == 422
    # When she cancels it, Then it is gone
    alice.scheduled_status_delete(made.id)
    assert alice.scheduled_statuses() == []
    with pytest.raises(mastodon.MastodonNotFoundError):
        alice.scheduled_status(made.id)


async def test_a_scheduled_followers_post_reaches_the_follower_only_when_published(
    nodes: tuple[NodeProcess, NodeProcess],
) -> None:
    eng, sales = nodes
    alice = _client(eng, "alice")
    # Given carol on sales follows alice on eng
    await follow_remote(sales, "carol", f"alice@{eng.domain}")

    async def followed() -> bool:
        return any(a.acct == f"carol@{sales.domain}" for a in alice.account_followers(alice.me().id))

    await eventually(followed, timeout=60, what="eng to accept carol's follow")
    # When alice schedules a followers-only post for ten minutes ahead
    when = utcnow() + timedelta(minutes=10)
    made = alice.status_post("scheduled for my followers", visibility="private", scheduled_at=when)
    # Then, before its time, nothing reaches carol, and alice has no post
    await asyncio.sleep(3)
    assert not any("scheduled for my followers" in t for t in await home_texts(sales, "carol"))
    assert alice.account_statuses(alice.me().id) == []
    # When a publisher comes to its time (the clock moved past it)
    async with eng.act() as ctx:
        published = await ScheduledPublisher(ctx, clock=lambda: when + timedelta(seconds=1)).run_once()
    assert published == 1
    # Then it is alice's post, followers only, and it reaches carol's home on sales
    [status] = alice.account_statuses(alice.me().id)
    assert status.visibility == "private" and "scheduled for my followers" in status.content
    texts = await eventually(lambda: home_texts(sales, "carol"), timeout=60, what="the post in carol's home")
    assert any("scheduled for my followers" in t for t in texts)
    assert [s.id for s in alice.scheduled_statuses()] == [] and made.id
