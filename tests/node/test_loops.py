"""Every background loop of a node process has one shape (node/loops.py): `run_once()` steps
it, `start()` runs it, `stop()` ends it promptly, and an iteration that raises is logged and
the loop goes on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from federation.keys import generate_rsa_keypair
from node import posts, shared_settings
from node.context import NodeContext
from node.events import Event
from node.housekeeping import HousekeepingWorker
from node.housekeeping_settings import HousekeepingLimits
from node.instance import create_instance, get_instance
from node.keys_rotation import InstanceKey, rotate_instance
from node.loops import BackgroundLoop, Periodic, failure_pause, stop_all
from node.policy import PolicyStore
from node.serving import ServingProcesses
from node.stream_feed import News, StreamFeed
from node.workers import JobWorker, MaintenanceWorker
from storage import jobs
from storage.models import Account, Post

LONG = 3600.0  # a pause no test waits out: stopping must cut it short
POLICY = 'mode = "allowlist"\n[peers."sales.acme.test"]\ntrust = "organization"\n'


class Readers:
    """The streaming feed's listener, as the hub is one: it records what the feed hands it."""

    def __init__(self, *user_ids: int) -> None:
        self.ids = set(user_ids)
        self.got: list[News] = []

    def listening(self) -> bool:
        return True

    def user_ids(self) -> set[int]:
        return self.ids

    def list_ids(self) -> set[int]:
        return set()  # no one here reads a list's stream

    async def news(self, news: News) -> None:
        self.got.append(news)

    async def deleted(self, post: Post) -> None:
        pass

    async def vanished(self, post_id: int) -> None:
        pass

    async def announcement(self, event: Event) -> None:
        pass


async def every_loop(ctx: NodeContext, tmp_path: Path, every: float) -> dict[str, BackgroundLoop]:
    """One of each loop `atrium serve` runs, on the node of `ctx`."""
    db = ctx.db
    await create_instance(db, ctx.domain)
    (tmp_path / "policy.toml").write_text(POLICY, encoding="utf-8")
    serving = ServingProcesses(db, "all", "127.0.0.1:0", lambda n: None)
    await serving.join()
    return {
        "job worker": JobWorker(db, {"q": _done}, idle_sleep=every),
        "maintenance": MaintenanceWorker(db, every=every),
        "housekeeping": HousekeepingWorker(ctx, HousekeepingLimits(), every=every),
        "policy sync": PolicyStore(tmp_path / "policy.toml", db).syncing(every),
        "instance key sync": InstanceKey((await get_instance(db)).private_key_pem).syncing(db, every),
        "serving heartbeat": serving.heartbeat(every),
        "streaming feed": StreamFeed(ctx, Readers(), every),
    }


async def _done(job: jobs.ClaimedJob) -> None:
    return None


async def test_run_once_steps_each_loop(ctx: NodeContext, alice: Account, tmp_path: Path) -> None:
    # Given one of each loop of a node process, none of them started
    loops = await every_loop(ctx, tmp_path, LONG)
    assert all(isinstance(one, BackgroundLoop) and not one.running for one in loops.values())

    # When a job is queued and the job worker is stepped, Then it handles it
    await jobs.enqueue(ctx.db, "q", b"{}")
    assert await loops["job worker"].run_once() == 1
    assert await jobs.counts(ctx.db, "q") == {"done": 1}
    # When housekeeping is stepped, Then it runs (nothing old to forget yet)
    assert await loops["maintenance"].run_once() == 0
    assert set((await loops["housekeeping"].run_once()).values()) == {0}  # type: ignore[union-attr]

    # When another process shares a new policy and the policy sync is stepped, Then it is in force here
    store = PolicyStore(tmp_path / "policy.toml", ctx.db)
    await store.start()
    await shared_settings.publish(
        ctx.db, shared_settings.POLICY, POLICY.replace("organization", "partner"), source="another process"
    )
    assert await store.syncing(LONG).run_once() is True
    assert store.policy.trust_of("sales.acme.test")[0] == "partner"

    # When the instance key is rotated elsewhere and the key sync is stepped, Then it signs with the new key
    stale_pem, _ = generate_rsa_keypair()
    key = InstanceKey(stale_pem)
    await rotate_instance(ctx)
    await key.syncing(ctx.db, LONG).run_once()
    assert key._pem == (await get_instance(ctx.db)).private_key_pem

    # When the heartbeat is stepped, Then this process counts itself among those serving
    assert await loops["serving heartbeat"].run_once() == 1

    # When alice posts and the streaming feed is stepped, Then its listener gets the post
    feed = loops["streaming feed"]
    assert isinstance(feed, StreamFeed)
    post = await posts.create_post(ctx, alice, posts.NewPost("hello, loops"))
    assert await feed.run_once() == 1
    readers = feed.listener
    assert isinstance(readers, Readers)
    assert [[p.id for _, p in news.posts] for news in readers.got] == [[post.id]]
    # And a second step finds nothing new
    assert await feed.run_once() == 0


@pytest.mark.parametrize(
    "name",
    ["job worker", "maintenance", "policy sync", "instance key sync", "serving heartbeat", "streaming feed"],
)
async def test_stop_ends_a_started_loop_promptly(ctx: NodeContext, tmp_path: Path, name: str) -> None:
    # Given a loop started with an hour between its iterations, resting after its first one
    loop = (await every_loop(ctx, tmp_path, LONG))[name]
    loop.start()
    await asyncio.sleep(0.2)
    assert loop.running
    # When it is stopped
    loop.stop()
    # Then it ends within a second, not at the end of its pause
    await asyncio.wait_for(loop.join(), 1.0)
    assert not loop.running


async def test_stop_all_ends_every_loop_at_once(ctx: NodeContext, tmp_path: Path) -> None:
    # Given every loop of a process started
    loops = list((await every_loop(ctx, tmp_path, LONG)).values())
    for one in loops:
        one.start()
    await asyncio.sleep(0.2)
    # When the process stops them, Then they have all ended within a second
    await asyncio.wait_for(stop_all(loops), 1.0)
    assert not any(one.running for one in loops)


async def test_wake_ends_the_pause_and_a_wake_during_an_iteration_is_not_lost() -> None:
    # Given a loop with an hour between iterations, whose second iteration is woken while it runs
    calls: list[float] = []
    loop: Periodic

    async def step() -> None:
        calls.append(asyncio.get_running_loop().time())
        if len(calls) == 2:
            loop.wake()  # work arrived while this iteration ran

    loop = Periodic("woken", step, every=LONG)
    loop.start()
    try:
        await asyncio.sleep(0.2)
        assert len(calls) == 1  # resting after its first iteration
        # When it is woken
        loop.wake()
        # Then it iterates at once, and once more for the wake-up during that iteration
        for _ in range(100):
            if len(calls) >= 3:
                break
            await asyncio.sleep(0.01)
        assert len(calls) == 3
        await asyncio.sleep(0.2)
        assert len(calls) == 3  # and then it rests again
    finally:
        loop.stop()
        await asyncio.wait_for(loop.join(), 1.0)


async def test_an_iteration_that_raises_is_logged_and_the_loop_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    # Given a loop whose first iteration meets a database that is away and whose second has a bug
    calls: list[int] = []
    failures: list[Callable[[], Exception]] = [
        lambda: OperationalError("SELECT 1", {}, ConnectionError("server closed the connection")),
        lambda: RuntimeError("a bug in the loop"),
    ]

    async def step() -> int:
        calls.append(len(calls))
        if failures:
            raise failures.pop(0)()
        return len(calls)

    loop = Periodic("flaky", step, every=0.01)
    caplog.set_level(logging.INFO, logger="node.loops")
    # When it runs
    loop.start()
    try:
        for _ in range(200):
            if len(calls) >= 4:
                break
            await asyncio.sleep(0.01)
        # Then it went on iterating after both failures, and is still running
        assert len(calls) >= 4 and loop.running
    finally:
        loop.stop()
        await asyncio.wait_for(loop.join(), 1.0)
    # And the outage was logged in one line, the bug with its traceback, and the recovery
    records = [(r.levelno, r.getMessage(), r.exc_info is not None) for r in caplog.records]
    assert (
        logging.WARNING,
        "flaky: the database is unavailable ((builtins.ConnectionError) server closed the connection); retrying",
        False,
    ) in records
    assert (logging.ERROR, "flaky: an iteration failed; retrying", True) in records
    assert (logging.WARNING, "flaky: resumed after 2 failed iterations", False) in records


def test_a_failing_loop_waits_longer_each_time_up_to_a_cap() -> None:
    # Given the job worker's rest (0.2 s) and the housekeeping's (an hour)
    # Then failures in a row double the pause up to 5 s, and an hour's loop keeps its hour
    assert [failure_pause(0.2, n) for n in (1, 2, 3, 5, 9)] == [0.4, 0.8, 1.6, 5.0, 5.0]
    assert failure_pause(3600, 3) == 3600
