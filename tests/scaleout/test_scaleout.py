"""One node as one web process and two worker processes on PostgreSQL, each with its own data
directory as if on its own machine, delivering over real HTTP to a fake peer.

Shown: the web process serves and runs no job; the workers serve no federation or API; jobs
are spread over both workers and none is done twice; a policy change — an edit of the web
machine's policy.toml, `atrium policy apply` from another machine, or an admin's save in the
web UI's policy editor — reaches every process, and what a worker then delivers obeys it, as
seen on the wire.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import select

from node import posts
from node.posts import NewPost
from storage.models import AuditEntry, Job
from tests.conftest import drop_pg_database, recreate_pg_database, worker_tag
from tests.factory import free_port
from tests.federation.fake_peer import FakePeer, running_peer
from tests.federation.nodes import ATRIUM, eventually
from tests.scaleout.cluster import RoleProcess
from tests.security.test_policy_editor import EDIT, hidden, open_editor, send, signed_in

AS = "https://www.w3.org/ns/activitystreams"
POSTS = 30  # more than one worker claims in a batch (20): one worker alone cannot hold them all


@dataclass
class Node:
    web: RoleProcess
    workers: list[RoleProcess]
    peer_port: int  # where the fake peer listens (named in the policy before it starts)

    @property
    def processes(self) -> list[RoleProcess]:
        return [self.web, *self.workers]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    root: Path = tmp_path_factory.mktemp("scaleout")
    pg_name = f"atrium_scale_{worker_tag()}"
    url = recreate_pg_database(pg_name)
    web_ = RoleProcess("web", root, url, "web")
    web_.init()
    web_.create_user("alice")
    web_.create_user("root", "--admin")
    workers = [RoleProcess(f"worker{n}", root, url, "worker", of=web_) for n in (1, 2)]
    n = Node(web_, workers, free_port())
    web_.write_policy(f'mode = "allowlist"\n[peers."127.0.0.1:{n.peer_port}"]\ntrust = "partner"\n')
    try:
        web_.start()  # first: it makes its policy.toml the shared one; the workers have none
        with ThreadPoolExecutor() as pool:
            list(pool.map(RoleProcess.start, workers))
        yield n
    finally:
        for p in n.processes:
            p.stop()
        if not os.environ.get("ATRIUM_KEEP_TEST_DATABASES"):
            drop_pg_database(pg_name)


class Gate:
    """Holds every POST to the peer's shared inbox while closed (the deliveries stay in flight
    in the workers that sent them)."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.open.set()

    @web.middleware
    async def middleware(self, request: web.Request, handler):  # type: ignore[no-untyped-def]
        if request.method == "POST" and request.path == "/inbox":
            await self.open.wait()
        return await handler(request)


@pytest.fixture
async def peer(node: Node) -> AsyncIterator[tuple[FakePeer, Gate]]:
    gate = Gate()
    original = FakePeer.app

    def gated_app(self: FakePeer) -> web.Application:
        app = original(self)
        app.middlewares.append(gate.middleware)  # inside the peer's recorder: arrivals are logged
        return app

    FakePeer.app = gated_app  # type: ignore[method-assign]
    try:
        async with running_peer(node.peer_port) as fake:
            fake.add_actor("fan")
            yield fake, gate
    finally:
        FakePeer.app = original  # type: ignore[method-assign]


def creates(peer: FakePeer) -> list[str]:
    return [str(a["object"]["content"]) for a in peer.received if a.get("type") == "Create"]  # type: ignore[index]


async def all_jobs_done(node: Node) -> bool:
    async with node.web.act() as ctx, ctx.db.reader() as s:
        return not (await s.execute(select(Job.id).where(Job.status != "done"))).first()


async def post(node: Node, text: str) -> None:
    async with node.web.act() as ctx:
        await posts.create_post(ctx, await node.web.user(ctx, "alice"), NewPost(text))


async def at_version(p: RoleProcess, version: int) -> bool:
    return (await p.ready())["policy_version"] == version


async def wait_all(check: Callable[[RoleProcess], Awaitable[bool]], node: Node, what: str) -> None:
    for p in node.processes:
        await eventually(lambda p=p: check(p), timeout=60, what=f"{what} in {p.name}")  # type: ignore[misc]


async def test_roles_split_the_work_and_jobs_spread_over_both_workers_each_done_once(
    node: Node, peer: tuple[FakePeer, Gate]
) -> None:
    fake, gate = peer
    # Given: each process says what it is; the workers, which have no policy.toml, hold the
    # policy the web process published
    for p in node.processes:
        ready = await p.ready()
        assert (ready["status"], ready["role"], ready["policy_version"]) == ("ready", p.role, 1), ready
    # The web process serves the node; a worker serves nothing of it (no peer reaches it)
    assert (await node.web.get("/.well-known/nodeinfo"))[0] == 200
    for w in node.workers:
        for path in ("/.well-known/nodeinfo", "/users/alice", "/api/v1/instance", "/health"):
            assert (await w.get(path))[0] == 404, path
    # When a peer's account follows alice through the web process
    follow = {"@context": AS, "id": f"{fake.actor('fan')}/follows/1", "type": "Follow",
              "actor": fake.actor("fan"), "object": f"{node.web.base_url}/users/alice"}
    status, body = await fake.post(f"{node.web.base_url}/inbox", follow, as_actor="fan")
    assert status == 202, body
    # Then a worker handles it and the Accept reaches the peer
    async def accepted() -> bool:
        return any(a.get("type") == "Accept" for a in fake.received)

    await eventually(accepted, timeout=60, what="the Accept")

    # When alice posts while the peer holds every delivery on the wire
    gate.open.clear()
    texts = [f"scale-out post {i}" for i in range(POSTS)]
    for text in texts:
        await post(node, text)
    # Then both workers are delivering at once (one worker holds at most one batch of 20)
    for w in node.workers:
        await eventually(lambda w=w: w.metric("atrium_deliveries_in_flight"), timeout=60, what=f"a delivery in flight from {w.name}")  # type: ignore[misc]
    gate.open.set()
    async def all_arrived() -> bool:
        return len(creates(fake)) >= POSTS

    await eventually(all_arrived, timeout=90, what="every post at the peer")
    await eventually(lambda: all_jobs_done(node), timeout=60, what="every job done")
    # Each post crossed exactly once, and each delivery job was claimed once
    assert sorted(c.removeprefix("<p>").removesuffix("</p>") for c in creates(fake)) == sorted(texts)
    ids = [a["id"] for a in fake.received]
    assert len(ids) == len(set(ids))
    async with node.web.act() as ctx, ctx.db.reader() as s:
        attempts = (await s.execute(select(Job.attempts).where(Job.queue == "deliver"))).scalars().all()
    assert len(attempts) == POSTS + 1 and set(attempts) == {1}
    # Both workers delivered; together exactly what was sent; the web process delivered nothing
    delivered = [await w.metric("atrium_deliveries_total", outcome="delivered") for w in node.workers]
    assert all(n > 0 for n in delivered) and sum(delivered) == POSTS + 1, delivered
    assert await node.web.metric("atrium_deliveries_total", outcome="delivered") == 0
    # The web process counted the inbox traffic it took
    assert await node.web.metric("atrium_inbox_activities_total", result="queued") == 1


async def test_each_request_carries_its_id_into_the_json_log(node: Node) -> None:
    # When a request comes with a proxy's request id
    status, _, headers = await node.web.get("/health/live", **{"X-Request-Id": "scaleout-req-7"})
    # Then the answer echoes it, and the process's JSON log has the request under that id
    assert (status, headers["X-Request-Id"]) == (200, "scaleout-req-7")

    async def logged() -> list[dict[str, object]]:
        lines = [json.loads(line) for line in node.web.log.read_text().splitlines() if line.startswith("{")]
        return [e for e in lines if e.get("request_id") == "scaleout-req-7"]

    entry = (await eventually(logged, timeout=30, what="the access line"))[0]
    assert (entry["logger"], entry["path"], entry["status"], entry["level"]) == ("atrium.access", "/health/live", 200, "INFO")


async def test_a_policy_change_reaches_every_process_and_the_workers_obey_it(
    node: Node, peer: tuple[FakePeer, Gate]
) -> None:
    fake, _ = peer
    start = int((await node.web.ready())["policy_version"])  # type: ignore[call-overload]
    fake.received.clear()
    # Given the peer is a partner; when the operator edits policy.toml on the web machine to
    # keep posts naming the codename from partners
    node.web.write_policy(
        f'mode = "allowlist"\n[peers."{fake.domain}"]\ntrust = "partner"\n'
        '[[rules]]\nname = "codename"\npattern = "(?i)falcon"\nbelow = "organization"\n'
    )
    os.utime(node.web.data_dir / "policy.toml")  # a new mtime even within the clock's tick
    # Then every process, the workers on other machines included, takes the new version
    await wait_all(lambda p: at_version(p, start + 1), node, f"policy version {start + 1}")
    # When alice posts one text the rule refuses and one it admits
    await post(node, "project falcon ships friday")
    await post(node, "lunch is at noon")
    await eventually(lambda: all_jobs_done(node), timeout=60, what="every job done")
    # Then only the admitted one crossed the wire, and the refusal names the rule
    assert creates(fake) == ["<p>lunch is at noon</p>"]
    async with node.web.act() as ctx, ctx.db.reader() as s:
        refused = (await s.execute(select(AuditEntry.rule).where(AuditEntry.decision == "refused"))).scalars().all()
    assert 'rules."codename"' in refused

    # When another machine applies a policy that blocks the peer
    policy_file = node.workers[0].data_dir / "blocked.toml"
    policy_file.write_text('mode = "allowlist"\n')
    out = subprocess.run([*ATRIUM, "policy", "apply", "--file", str(policy_file)], env=node.workers[0].env,
                         capture_output=True, text=True, check=True).stdout
    assert f"policy version {start + 2} applied" in out
    await wait_all(lambda p: at_version(p, start + 2), node, f"policy version {start + 2}")
    fake.received.clear()
    await post(node, "nobody outside sees this")
    await eventually(lambda: all_jobs_done(node), timeout=60, what="every job done")
    # Then nothing crossed, and the policy change itself is in the audit trail
    assert fake.received == []
    async with node.web.act() as ctx, ctx.db.reader() as s:
        changes = (await s.execute(select(AuditEntry.reason).where(AuditEntry.direction == "admin", AuditEntry.rule == "policy"))).scalars().all()
    assert len(changes) == start + 2 and "atrium policy apply" in changes[-1], changes


async def test_a_policy_saved_in_the_admins_editor_reaches_every_process_and_the_workers_obey_it(
    node: Node, peer: tuple[FakePeer, Gate]
) -> None:
    fake, _ = peer
    start = int((await node.web.ready())["policy_version"])  # type: ignore[call-overload]
    text = (f'mode = "allowlist"\n[peers."{fake.domain}"]\ntrust = "partner"\n'
            '[[rules]]\nname = "heron"\npattern = "(?i)heron"\nbelow = "organization"\n')
    # When root, an admin, checks and saves a policy in the editor served by the web process
    http = await signed_in(node.web.direct_url, "root", "root-password")
    async with http:
        _, page, form = await send(http, await open_editor(http), text, "check")
        assert "Save and apply" in page, page[:500]
        status, _, _ = await send(http, form, text, "save")
        assert status == 303
        async with http.get(EDIT) as r:
            assert "is not the policy in force" not in await r.text()
            assert hidden(await r.text())["based_on"]
    # Then every process, the workers on other machines (no policy.toml) included, takes it
    await wait_all(lambda p: at_version(p, start + 1), node, f"policy version {start + 1}")
    assert (node.web.data_dir / "policy.toml").read_text() == text
    # and what the workers then deliver obeys it: the peer gets the post the rule admits only
    fake.received.clear()
    await post(node, "the heron project slips")
    await post(node, "coffee at ten")
    await eventually(lambda: all_jobs_done(node), timeout=60, what="every job done")
    assert creates(fake) == ["<p>coffee at ten</p>"]
