"""Retention and legal hold across three real nodes (issue #21, "What must show it";
docs/compliance.md "Retention" and "Legal hold").

eng (SQLite) keeps public posts 30 days; sales (PostgreSQL) and ops (SQLite) are its
organisation and follow its people. The retention worker is stepped on eng's database from the
test with a clock the test sets; eng's own `atrium serve` process delivers what it queues.
Holds are placed and released with `atrium hold`, as an operator would.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select, update

from node import posts
from node.posts import NewPost
from node.retention import RetentionWorker
from storage.models import Post, SealedPost
from tests.conftest import drop_pg_database, recreate_pg_database, worker_tag
from tests.federation.nodes import ATRIUM, NodeProcess, eventually
from tests.federation.test_multinode import follow_remote, following, home_texts, stored

RETENTION = "[retention.posts]\npublic = 30\n"


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, NodeProcess]]:
    root: Path = tmp_path_factory.mktemp("retention")
    pg_name = f"atrium_ret_sales_{worker_tag()}"
    nodes = {
        "eng": NodeProcess("eng", root),
        "sales": NodeProcess("sales", root, recreate_pg_database(pg_name)),
        "ops": NodeProcess("ops", root),
    }
    eng, sales, ops = nodes["eng"], nodes["sales"], nodes["ops"]
    with ThreadPoolExecutor() as pool:
        list(pool.map(NodeProcess.init, nodes.values()))
    for node in nodes.values():
        others = "".join(f'[peers."{o.domain}"]\ntrust = "organization"\n' for o in nodes.values() if o is not node)
        node.write_policy('mode = "allowlist"\n' + others + (RETENTION if node is eng else ""))
    with ThreadPoolExecutor() as pool:
        list(pool.map(lambda a: a[0].create_user(a[1]), [(eng, "alice"), (eng, "lena"), (sales, "bob"), (ops, "olga")]))
    try:
        with ThreadPoolExecutor() as pool:
            list(pool.map(NodeProcess.start, nodes.values()))
        yield nodes
    finally:
        for n in nodes.values():
            n.stop()
        if not os.environ.get("ATRIUM_KEEP_TEST_DATABASES"):
            drop_pg_database(pg_name)


def hold(node: NodeProcess, *argv: str) -> str:
    done = subprocess.run([*ATRIUM, "hold", *argv], env=node.env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def follow(node: NodeProcess, username: str, handle: str) -> None:
    await follow_remote(node, username, handle)
    await eventually(lambda: following(node, username, handle), what=f"{username}'s follow of {handle}")


async def post_on_eng(eng: NodeProcess, username: str, text: str, *, days_ago: int) -> Post:
    """A public post by `username` on eng, posted `days_ago` days ago as the database says."""
    async with eng.act() as ctx:
        author = await eng.user(ctx, username)
        post = await posts.create_post(ctx, author, NewPost(text))
        async with ctx.db.session() as s:
            await s.execute(update(Post).where(Post.id == post.id).values(
                created_at=datetime.now(UTC) - timedelta(days=days_ago)))
    return post


async def run_retention(eng: NodeProcess) -> int:
    async with eng.act() as ctx:
        return await RetentionWorker(ctx, now=lambda: datetime.now(UTC)).run_once()


async def reached(node: NodeProcess, username: str, text: str) -> bool:
    return any(text in t for t in await home_texts(node, username))


async def gone(node: NodeProcess, username: str, text: str, uri: str) -> bool:
    return not await reached(node, username, text) and await stored(node, uri) is None


async def test_a_post_expires_on_eng_and_leaves_the_followers_timelines_on_sales_and_ops(
    org: dict[str, NodeProcess],
) -> None:
    eng, sales, ops = org["eng"], org["sales"], org["ops"]
    await follow(sales, "bob", f"alice@{eng.domain}")
    await follow(ops, "olga", f"alice@{eng.domain}")
    # Given alice's public post of 31 days ago reached bob on sales and olga on ops
    post = await post_on_eng(eng, "alice", "Old launch notes", days_ago=31)
    await eventually(lambda: reached(sales, "bob", "Old launch notes"), what="the post in bob's home")
    await eventually(lambda: reached(ops, "olga", "Old launch notes"), what="the post in olga's home")
    # When eng's retention worker runs (public posts are kept 30 days)
    assert await run_retention(eng) >= 1
    # Then the post is gone on eng, and from bob's and olga's timelines (their nodes got the Delete)
    assert await stored(eng, post.uri or "") is None
    await eventually(lambda: gone(sales, "bob", "Old launch notes", post.uri or ""), what="the Delete at sales")
    await eventually(lambda: gone(ops, "olga", "Old launch notes", post.uri or ""), what="the Delete at ops")


async def test_a_held_post_survives_retention_is_sealed_by_its_author_s_delete_and_goes_after_release(
    org: dict[str, NodeProcess],
) -> None:
    eng, sales = org["eng"], org["sales"]
    await follow(sales, "bob", f"lena@{eng.domain}")
    # Given lena is held under a case, and two posts of hers 40 days old reached bob on sales
    assert "held under the case" in hold(eng, "add", "--case", "Acme v. Widgets", "--account", "lena", "--reason", "subpoena")
    kept = await post_on_eng(eng, "lena", "Board minutes draft", days_ago=40)
    later = await post_on_eng(eng, "lena", "Pricing memo", days_ago=40)
    await eventually(lambda: reached(sales, "bob", "Pricing memo"), what="lena's posts at sales")
    # When retention runs  # Then both stay, here and at sales
    await run_retention(eng)
    assert await stored(eng, kept.uri or "") is not None and await stored(eng, later.uri or "") is not None
    assert await reached(sales, "bob", "Board minutes draft")
    # When lena edits the first and then deletes it
    async with eng.act() as ctx:
        lena = await eng.user(ctx, "lena")
        await posts.edit_post(ctx, lena, kept.id, "Board minutes, final")
        await posts.delete_post(ctx, lena, kept.id)
    # Then nobody reads it: not the client API, not the web UI, not bob on sales
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{eng.base_url}/api/v1/statuses/{kept.id}") as answer:
            assert answer.status == 404
        async with http.get(f"{eng.base_url}/@lena/{kept.id}", headers={"Accept": "text/html"}) as answer:
            assert answer.status == 404
    await eventually(lambda: gone(sales, "bob", "Board minutes", kept.uri or ""), what="the Delete at sales")
    # But eng keeps it sealed, with its edit history
    async with eng.act() as ctx, ctx.db.reader() as s:
        sealed = await s.scalar(select(SealedPost).where(SealedPost.post_id == kept.id))
    assert sealed is not None and sealed.cause == "author-delete"
    snapshot = json.loads(sealed.snapshot)
    assert snapshot["post"]["source"] == "Board minutes, final"
    assert [e["source"] for e in snapshot["edits"]] == ["Board minutes draft"]
    # When the case is released and retention runs again
    assert "@lena" in hold(eng, "release", "--case", "Acme v. Widgets")
    assert await run_retention(eng) >= 1
    # Then the other post expires like any other: gone here and at sales
    assert await stored(eng, later.uri or "") is None
    await eventually(lambda: gone(sales, "bob", "Pricing memo", later.uri or ""), what="the Delete at sales")
