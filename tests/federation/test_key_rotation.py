"""Key rotation between two real nodes: `atrium keys rotate` on a running node A, and its peer
B, which had cached A's old keys, goes on accepting what A signs.

A (the engine under test) and B (SQLite) trust each other as `organization`. Everything
between them crosses real HTTP, signed; the rotation is the real command, run beside A's
serving process.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from federation.keys import generate_rsa_keypair
from node import follows, posts, remote
from node.instance import get_instance
from node.posts import NewPost
from storage.models import Account, Instance, Post
from tests.conftest import ENGINES, drop_pg_database, recreate_pg_database, worker_tag
from tests.federation.nodes import ATRIUM, NodeProcess, eventually

KEY_CHANGED = "the instance actor's key changed"


def _pair(root: Path, engine: str) -> Iterator[tuple[NodeProcess, NodeProcess]]:
    pg_name = f"atrium_keys_{worker_tag()}"
    a = NodeProcess("a", root, recreate_pg_database(pg_name) if engine == "postgresql" else None)
    b = NodeProcess("b", root)
    with ThreadPoolExecutor() as pool:
        list(pool.map(NodeProcess.init, (a, b)))
    a.write_policy(f'mode = "allowlist"\n[peers."{b.domain}"]\ntrust = "organization"\n')
    b.write_policy(f'mode = "allowlist"\n[peers."{a.domain}"]\ntrust = "organization"\n')
    with ThreadPoolExecutor() as pool:
        list(pool.map(lambda n: n[0].create_user(n[1]), [(a, "alice"), (b, "bob"), (b, "dana")]))
    try:
        with ThreadPoolExecutor() as pool:
            list(pool.map(NodeProcess.start, (a, b)))
        yield a, b
    finally:
        a.stop()
        b.stop()
        if engine == "postgresql" and not os.environ.get("ATRIUM_KEEP_TEST_DATABASES"):
            drop_pg_database(pg_name)


@pytest.fixture(scope="module", params=ENGINES)
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProcess, NodeProcess]]:
    yield from _pair(tmp_path_factory.mktemp("keys"), str(request.param))


@pytest.fixture
def fresh_pair(tmp_path: Path) -> Iterator[tuple[NodeProcess, NodeProcess]]:
    """Two nodes of their own: B has never re-fetched a key of A's (a peer re-fetches a key at
    most once a minute, so the pair above cannot show a second re-fetch without waiting)."""
    yield from _pair(tmp_path, "sqlite")


def rotate(node: NodeProcess, *which: str) -> str:
    done = subprocess.run([*ATRIUM, "keys", "rotate", *which], env=node.env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def cached_key(node: NodeProcess, actor_uri: str) -> str | None:
    """The public key `node` holds for a remote actor."""
    async with node.act() as ctx, ctx.db.reader() as s:
        return await s.scalar(select(Account.public_key_pem).where(Account.actor_uri == actor_uri))


async def stored(node: NodeProcess, uri: str) -> Post | None:
    async with node.act() as ctx, ctx.db.reader() as s:
        return await s.scalar(select(Post).where(Post.uri == uri))


async def following(node: NodeProcess, username: str, handle: str) -> bool:
    async with node.act() as ctx:
        me = await node.user(ctx, username)
        return (await follows.relationship(ctx, me, (await remote.resolve_handle(ctx, handle)).id))["following"]


async def thread_fetched_by_a(a: NodeProcess, b: NodeProcess, text: str) -> Post:
    """dana (on B, not followed from A) writes an organization post, then replies to it
    mentioning alice: A's serving process receives the reply and fetches the parent, signed
    as its instance actor. B shows an organization post only to a verified organization
    signer, so the parent reaches A only if B accepts A's instance signature."""
    async with b.act() as ctx:
        await remote.resolve_handle(ctx, f"alice@{a.domain}")  # B knows whom the mention names
        dana = await b.user(ctx, "dana")
        parent = await posts.create_post(ctx, dana, NewPost(text, visibility="organization"))
        await posts.create_post(ctx, dana, NewPost(f"@alice@{a.domain} see above", visibility="organization",
                                                   in_reply_to_id=parent.id))
    return await eventually(lambda: stored(a, parent.uri or ""), timeout=60, what=f"A to fetch {text!r} from B")


async def test_a_rotated_account_key_is_accepted_by_a_peer_that_cached_the_old_one(
    pair: tuple[NodeProcess, NodeProcess],
) -> None:
    a, b = pair
    alice_uri = f"{a.base_url}/users/alice"
    # Given bob on B follows alice on A, so B holds alice's key
    async with b.act() as ctx:
        await follows.follow(ctx, await b.user(ctx, "bob"), (await remote.resolve_handle(ctx, f"alice@{a.domain}")).id)
    await eventually(lambda: following(b, "bob", f"alice@{a.domain}"), timeout=60, what="alice to accept bob")
    async with a.act() as ctx:
        first = await posts.create_post(ctx, await a.user(ctx, "alice"), NewPost("before the rotation"))
    await eventually(lambda: stored(b, first.uri or ""), timeout=60, what="the first post at B")
    old_key = await cached_key(b, alice_uri)
    assert old_key
    # When alice's key is rotated on the running node A
    out = rotate(a, "--account", "alice")
    assert "alice@" in out
    async with a.act() as ctx:
        alice = await a.user(ctx, "alice")
        new_key = alice.public_key_pem
        assert new_key and new_key != old_key
        # Then alice's next post, signed with the new key, is delivered to and accepted by B
        after = await posts.create_post(ctx, alice, NewPost("after the rotation"))
    copy = await eventually(lambda: stored(b, after.uri or ""), timeout=60, what="the post after the rotation at B")
    assert copy.content_html.count("after the rotation") == 1
    # And B now holds the new key, under the same key id
    assert await cached_key(b, alice_uri) == new_key
    async with b.act() as ctx, ctx.db.reader() as s:
        key_id = await s.scalar(select(Account.key_id).where(Account.actor_uri == alice_uri))
    assert key_id == f"{alice_uri}#main-key"
    # And A's instance-actor signed fetches still work
    await thread_fetched_by_a(a, b, "a thread after alice's rotation")


async def test_a_rotated_instance_key_signs_the_running_nodes_fetches(pair: tuple[NodeProcess, NodeProcess]) -> None:
    a, b = pair
    instance_uri = f"{a.base_url}/actor"
    # Given B has verified a signed fetch by A's instance actor, so it holds that key
    await thread_fetched_by_a(a, b, "a thread before the instance rotation")
    old_key = await cached_key(b, instance_uri)
    assert old_key
    # When the instance key is rotated beside A's serving process
    assert "the instance actor" in rotate(a, "--instance")
    async with a.act() as ctx:
        new_key = (await get_instance(ctx.db)).public_key_pem
    assert new_key != old_key
    # Then the serving process takes up the new key (it says so in its log)
    await eventually(lambda: _logged(a, KEY_CHANGED), timeout=60, what="A to take up the new instance key")
    # And B learns the new key from the Update(Application) A federates
    await eventually(lambda: _holds(b, instance_uri, new_key), timeout=60, what="B to hold A's new instance key")
    # And A's next signed fetch, which B verifies with only the new key now, is accepted
    await thread_fetched_by_a(a, b, "a thread after the instance rotation")


async def _logged(node: NodeProcess, text: str) -> bool:
    return text in node.log.read_text()


async def _holds(node: NodeProcess, actor_uri: str, key: str) -> bool:
    return await cached_key(node, actor_uri) == key


async def test_a_peer_that_missed_the_update_refetches_the_key_of_a_signed_fetch(
    fresh_pair: tuple[NodeProcess, NodeProcess],
) -> None:
    a, b = fresh_pair
    instance_uri = f"{a.base_url}/actor"
    # Given B holds A's instance key from an earlier signed fetch
    await thread_fetched_by_a(a, b, "a thread before the new key")
    old_key = await cached_key(b, instance_uri)
    assert old_key
    # When A's instance key changes and B is not told (as if B missed the Update)
    private_pem, public_pem = generate_rsa_keypair()
    async with a.act() as ctx, ctx.db.session() as s:
        instance = await s.get(Instance, 1)
        assert instance is not None
        instance.private_key_pem, instance.public_key_pem = private_pem, public_pem
    await eventually(lambda: _logged(a, KEY_CHANGED), timeout=60, what="A to take up the new instance key")
    assert await cached_key(b, instance_uri) == old_key
    # Then A's next signed fetch fails B's check with the old key, B re-fetches the key from
    # A and accepts the fetch: the organization post reaches A
    await thread_fetched_by_a(a, b, "a thread after the new key")
    assert await cached_key(b, instance_uri) == public_pem
