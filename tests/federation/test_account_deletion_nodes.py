"""Three real nodes of one organisation on loopback — eng (SQLite), sales (PostgreSQL) and ops
(SQLite) — and an account deleted on eng (`atrium user delete`, a real process): it vanishes
from sales and ops (its profile and its posts in their timelines), its actor and WebFinger
answer 410 Gone, its key is destroyed once the Delete deliveries are done, and a Create signed
later with its old key from its old actor id is refused where it arrives (issue 21)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from federation.keys import load_private_key
from federation.signatures import sign_request
from federation.vocab import AP_CONTENT_TYPE
from node import accounts, follows, posts, remote, search, timelines
from node.key_destruction import KeyDestruction
from node.pagination import Page
from node.posts import NewPost
from storage.models import Account, InboxEntry, Post
from tests.conftest import recreate_pg_database, worker_tag
from tests.federation.nodes import ATRIUM, NodeProcess, eventually, serving


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, NodeProcess]]:
    root: Path = tmp_path_factory.mktemp("deletion")
    pg_name = f"atrium_delsales_{worker_tag()}"
    nodes = {
        "eng": NodeProcess("eng", root),
        "sales": NodeProcess("sales", root, recreate_pg_database(pg_name)),
        "ops": NodeProcess("ops", root),
    }
    with ThreadPoolExecutor() as pool:
        list(pool.map(NodeProcess.init, nodes.values()))
    for name, node in nodes.items():
        others = "".join(f'[peers."{o.domain}"]\ntrust = "organization"\n' for n, o in nodes.items() if n != name)
        node.write_policy(f'mode = "allowlist"\n{others}')
    users = [("eng", "dana"), ("eng", "erin"), ("sales", "bob"), ("ops", "olga")]
    with ThreadPoolExecutor() as pool:
        list(pool.map(lambda a: nodes[a[0]].create_user(a[1]), users))
    with serving(list(nodes.values()), pg_name):
        yield nodes


async def _follow(node: NodeProcess, username: str, handle: str) -> None:
    async with node.act() as ctx:
        target = await remote.resolve_handle(ctx, handle)
        await follows.follow(ctx, await node.user(ctx, username), target.id)

    async def accepted() -> bool:
        async with node.act() as ctx:
            me = await node.user(ctx, username)
            return (await follows.relationship(ctx, me, target.id))["following"]

    await eventually(accepted, what=f"{username}'s follow of {handle} accepted")


async def _stored(node: NodeProcess, uri: str) -> Post | None:
    async with node.act() as ctx, ctx.db.reader() as s:
        return await s.scalar(select(Post).where(Post.uri == uri))


async def _row(node: NodeProcess, actor_uri: str) -> Account | None:
    async with node.act() as ctx, ctx.db.reader() as s:
        return await s.scalar(select(Account).where(Account.actor_uri == actor_uri))


async def _home(node: NodeProcess, username: str) -> list[str]:
    async with node.act() as ctx:
        me = await node.user(ctx, username)
        return [p.content_html for p in await timelines.home(ctx, me, Page(limit=40))]


async def _found(node: NodeProcess, username: str, q: str) -> list[str]:
    async with node.act() as ctx:
        me = await node.user(ctx, username)
        return [a.acct() for a in (await search.search(ctx, me, q, kind="accounts")).accounts]


async def _outcomes(node: NodeProcess, actor_uri: str) -> list[tuple[str, str, str | None]]:
    async with node.act() as ctx, ctx.db.reader() as s:
        rows = (await s.scalars(select(InboxEntry).where(InboxEntry.actor_uri == actor_uri).order_by(InboxEntry.id))).all()
    return [(r.type, r.outcome, r.reason) for r in rows]


async def test_a_deleted_account_vanishes_from_the_organisation(org: dict[str, NodeProcess]) -> None:
    eng, sales, ops = org["eng"], org["sales"], org["ops"]
    dana_handle = f"dana@{eng.domain}"
    # Given bob (sales) and olga (ops) follow dana (eng), and her post is in both their homes
    await _follow(sales, "bob", dana_handle)
    await _follow(ops, "olga", dana_handle)
    async with eng.act() as ctx:
        dana = await eng.user(ctx, "dana")
        post = await posts.create_post(ctx, dana, NewPost("Farewell from dana"))
        key_pem = (await accounts.ensure_keys(ctx, dana.id)).private_key_pem
        actor = ctx.actor_uri("dana")
    assert key_pem is not None and post.uri is not None
    for node, name in ((sales, "bob"), (ops, "olga")):
        await eventually(lambda n=node: _stored(n, post.uri or ""), what=f"dana's post at {node.name}")
        assert any("Farewell" in t for t in await _home(node, name))
        assert await _found(node, name, "dana") == [dana_handle]

    # When eng's admin deletes dana with the command line
    done = subprocess.run([*ATRIUM, "user", "delete", "dana", "--yes", "--reason", "left"],
                          env=eng.env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "1 posts removed, 2 peers told" in done.stdout

    # Then on sales and ops she is marked deleted, her post is gone from the homes, no search finds her
    for node, name in ((sales, "bob"), (ops, "olga")):
        async def deleted(n: NodeProcess = node) -> bool:
            row = await _row(n, actor)
            return row is not None and row.deleted_at is not None

        await eventually(deleted, what=f"dana's Delete at {node.name}")
        assert await _stored(node, post.uri) is None
        assert not any("Farewell" in t for t in await _home(node, name))
        assert await _found(node, name, "dana") == []
        row = await _row(node, actor)
        assert row is not None and (row.display_name, row.bio) == ("", "")
        assert ("Delete", "done", "account deleted") in await _outcomes(node, actor)
    # And eng answers 410 Gone for her actor (a Tombstone) and her WebFinger
    async with aiohttp.ClientSession() as http:
        async with http.get(actor, headers={"Accept": AP_CONTENT_TYPE}) as r:
            assert r.status == 410
            assert (json.loads(await r.text()))["type"] == "Tombstone"
        async with http.get(f"{eng.base_url}/.well-known/webfinger", params={"resource": f"acct:{dana_handle}"}) as r:
            assert r.status == 410

    # When eng's key destruction steps once the Delete deliveries are done; Then her key is gone
    async with eng.act() as ctx:
        worker = KeyDestruction(ctx.db)
        destroyed = await eventually(worker.run_once, what="dana's key destroyed")
        assert destroyed == [dana.id]
        async with ctx.db.reader() as s:
            assert await s.scalar(select(Account.private_key_pem).where(Account.id == dana.id)) is None

    # When someone holding her old key sends a Create from her old actor id to sales
    note_id = f"{actor}/statuses/999"
    create = {
        "@context": "https://www.w3.org/ns/activitystreams", "id": f"{note_id}/activity", "type": "Create",
        "actor": actor, "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {"id": note_id, "type": "Note", "attributedTo": actor, "content": "<p>I am back</p>",
                   "to": ["https://www.w3.org/ns/activitystreams#Public"]},
    }
    body = json.dumps(create).encode()
    inbox = f"{sales.base_url}/inbox"
    headers = sign_request("POST", inbox, {"Content-Type": AP_CONTENT_TYPE}, body, f"{actor}#main-key",
                           load_private_key(key_pem))
    async with aiohttp.ClientSession() as http, http.post(inbox, data=body, headers=headers) as r:
        assert r.status == 202, await r.text()  # the signature holds: the key was hers

    # Then the inbox refuses it for what it is, and the note is never stored
    async def refused() -> list[str | None]:
        return [why for t, o, why in await _outcomes(sales, actor) if t == "Create" and o == "refused"]

    assert await eventually(refused, what="the Create refused at sales") == [
        f"dana@{eng.domain} was deleted by its own node"
    ]
    assert await _stored(sales, note_id) is None
