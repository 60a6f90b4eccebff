"""toot 0.52.1 (a real Mastodon command-line client) against real `atrium serve` processes.

toot runs as a subprocess with a config directory of its own (XDG_CONFIG_HOME) and is always
given the scheme, since the nodes serve plain http on loopback. Two nodes: eng (SQLite), where
alice uses toot, and sales (PostgreSQL when the run includes it), where bob lives; they trust
each other as partners, so follows and posts cross between them over signed HTTP.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from node import follows, posts, remote
from node.posts import NewPost
from tests import media_files
from tests.conftest import ENGINES, drop_pg_database, recreate_pg_database, worker_tag
from tests.federation.nodes import NodeProcess, eventually
from tests.federation.test_multinode import follow_remote

TOOT = Path(sys.executable).parent / "toot"
VISIBILITIES = ("public", "unlisted", "private", "direct")


class Toot:
    """One toot installation: its own config directory, so its logins are its own."""

    def __init__(self, config_home: Path) -> None:
        self.env = {**os.environ, "XDG_CONFIG_HOME": str(config_home)}

    def run(self, *args: str) -> str:
        done = subprocess.run([str(TOOT), *args], env=self.env, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
        assert done.returncode == 0, f"toot {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json"))


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProcess, NodeProcess]]:
    root: Path = tmp_path_factory.mktemp("toot")
    pg_name = f"atrium_toot_{worker_tag()}"
    on_pg = "postgresql" in ENGINES
    eng = NodeProcess("eng", root)
    sales = NodeProcess("sales", root, recreate_pg_database(pg_name) if on_pg else None)
    with ThreadPoolExecutor() as pool:
        list(pool.map(NodeProcess.init, (eng, sales)))
    eng.write_policy(f'mode = "allowlist"\n[peers."{sales.domain}"]\ntrust = "partner"\n')
    sales.write_policy(f'mode = "allowlist"\n[peers."{eng.domain}"]\ntrust = "partner"\n')
    eng.create_user("alice", "--email", "alice@eng.acme.test")
    sales.create_user("bob")
    try:
        with ThreadPoolExecutor() as pool:
            list(pool.map(NodeProcess.start, (eng, sales)))
        yield eng, sales
    finally:
        eng.stop()
        sales.stop()
        if on_pg and not os.environ.get("ATRIUM_KEEP_TEST_DATABASES"):
            drop_pg_database(pg_name)


@pytest.fixture(scope="module")
def alice(nodes: tuple[NodeProcess, NodeProcess], tmp_path_factory: pytest.TempPathFactory) -> Toot:
    """toot, logged in as alice on eng by the password grant (email and password)."""
    eng, _ = nodes
    toot = Toot(tmp_path_factory.mktemp("toot_config"))
    out = toot.run("login_cli", "-i", eng.base_url, "-e", "alice@eng.acme.test", "-p", "alice-password")
    assert "Successfully logged in" in out
    return toot


def test_toot_logs_in_with_a_password_and_knows_who_it_is(alice: Toot, nodes: tuple[NodeProcess, NodeProcess]) -> None:
    # Given toot logged in with alice's email and password (the fixture)
    # When it asks who it is
    me = alice.json("whoami")
    # Then it is alice, and toot saved her login under the node's domain
    assert me["username"] == "alice" and me["acct"] == "alice"
    assert f"alice@{nodes[0].domain}" in alice.run("auth")


def test_toot_posts_with_each_visibility_and_reads_them_on_home(alice: Toot) -> None:
    # When alice posts once with each of Mastodon's four visibilities
    posted = {v: alice.json("post", f"toot says hello ({v})", "--visibility", v) for v in VISIBILITIES}
    # Then each post has the visibility she chose
    assert {v: s["visibility"] for v, s in posted.items()} == {v: v for v in VISIBILITIES}
    # And her home timeline, read by toot, shows each of them
    home = alice.json("timelines", "home", "--limit", "40")
    on_home = {s["id"] for s in home}
    assert {s["id"] for s in posted.values()} <= on_home
    assert any("toot says hello (public)" in s["content"] for s in home)


async def test_toot_follows_an_account_on_another_node_and_reads_its_posts_on_home(
    alice: Toot, nodes: tuple[NodeProcess, NodeProcess]
) -> None:
    eng, sales = nodes
    # When alice follows bob on sales by his handle (toot resolves it through search)
    relationship = alice.json("follow", f"bob@{sales.domain}")
    assert relationship["following"] or relationship["requested"]

    # Then sales accepts: eng records alice as following bob
    async def following() -> bool:
        async with eng.act() as ctx:
            me = await eng.user(ctx, "alice")
            bob = await remote.resolve_handle(ctx, f"bob@{sales.domain}")
            return bool((await follows.relationship(ctx, me, bob.id))["following"])

    await eventually(following, timeout=60, what="sales to accept alice's follow of bob")

    # And when bob posts, toot shows it on alice's home timeline
    async with sales.act() as ctx:
        await posts.create_post(ctx, await sales.user(ctx, "bob"), NewPost("bob from sales says hi"))

    async def on_home() -> bool:
        return any("bob from sales says hi" in s["content"] for s in alice.json("timelines", "home"))

    await eventually(on_home, timeout=60, what="bob's post on alice's home, read by toot")


async def test_toot_reads_a_notification_from_another_node(alice: Toot, nodes: tuple[NodeProcess, NodeProcess]) -> None:
    eng, sales = nodes
    # Given bob on sales follows alice on eng
    await follow_remote(sales, "bob", f"alice@{eng.domain}")

    # Then toot lists a follow notification from bob among alice's notifications
    async def followed() -> list[str]:
        return [n["account"]["acct"] for n in alice.json("notifications") if n["type"] == "follow"]

    assert await eventually(followed, timeout=60, what="a follow notification read by toot") == [
        f"bob@{sales.domain}"
    ]


@pytest.fixture(scope="module")
def bob(nodes: tuple[NodeProcess, NodeProcess], tmp_path_factory: pytest.TempPathFactory) -> Toot:
    """toot, logged in as bob on sales (PostgreSQL when the run includes it) by his username."""
    _, sales = nodes
    toot = Toot(tmp_path_factory.mktemp("toot_config_bob"))
    assert "Successfully logged in" in toot.run("login_cli", "-i", sales.base_url, "-e", "bob", "-p", "bob-password")
    return toot


@pytest.mark.parametrize("who", ["alice", "bob"], ids=["sqlite", "second-engine"])
def test_toot_uploads_a_picture_with_alt_text_posts_it_and_reads_it_back(
    request: pytest.FixtureRequest, tmp_path: Path, who: str
) -> None:
    # Given toot logged in (alice on eng, SQLite; bob on sales), and a PNG on disk
    toot: Toot = request.getfixturevalue(who)
    picture = tmp_path / "diagram.png"
    picture.write_bytes(media_files.picture("PNG", (900, 600)))
    # When toot uploads it alone with alt text
    uploaded = toot.json("upload", str(picture), "--description", "the deployment diagram")
    # Then the upload is a picture with that alt text, its sizes and its blurhash
    assert (uploaded["type"], uploaded["description"]) == ("image", "the deployment diagram")
    assert uploaded["meta"]["original"]["width"] == 900 and uploaded["blurhash"]
    # When toot posts with the picture attached and described
    status = toot.json("post", "our new setup", "--media", str(picture), "--description", "the diagram, again",
                       "--visibility", "public")
    # Then the post carries it, and reading it back (toot status) shows the same attachment
    [attached] = status["media_attachments"]
    assert (attached["type"], attached["description"]) == ("image", "the diagram, again")
    [read_back] = toot.json("status", status["id"])["media_attachments"]
    assert (read_back["id"], read_back["description"], read_back["blurhash"]) == (
        attached["id"], "the diagram, again", attached["blurhash"])
    # And its url gives a PNG's bytes, as the picture's type says, with nosniff
    with urllib.request.urlopen(read_back["url"], timeout=30) as resp:
        assert resp.headers["Content-Type"] == "image/png" and resp.headers["X-Content-Type-Options"] == "nosniff"
        assert Image.open(io.BytesIO(resp.read())).size == (900, 600)


@pytest.mark.parametrize("who", ["alice", "bob"], ids=["sqlite", "second-engine"])
def test_toot_saves_the_posting_preferences_apps_read(request: pytest.FixtureRequest, who: str) -> None:
    # Given toot logged in (alice on eng, SQLite; bob on sales)
    toot: Toot = request.getfixturevalue(who)
    # When toot saves followers-only, sensitive and German as the defaults of new posts
    toot.run("update-account", "--privacy", "private", "--sensitive", "--language", "de")
    try:
        # Then the account's source says so, as every app reads it (and /api/v1/preferences)
        source = toot.json("whoami")["source"]
        assert (source["privacy"], source["sensitive"], source["language"]) == ("private", True, "de")
    finally:
        toot.run("update-account", "--privacy", "public", "--no-sensitive")
    assert toot.json("whoami")["source"]["privacy"] == "public"


def test_toot_lists_who_boosted_a_post(alice: Toot) -> None:
    # Given a public post of alice's that she boosted herself
    status = alice.json("post", "worth repeating", "--visibility", "public")
    alice.run("reblog", status["id"])
    # When toot asks who boosted it, Then it is alice
    assert [a["username"] for a in alice.json("reblogged-by", status["id"])] == ["alice"]
