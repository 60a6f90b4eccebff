"""Lists through real clients against a real `atrium serve` process, on each engine:
Mastodon.py 2.3.3 (`list_create`, `list_accounts_add`, `timeline_list`, `list_delete`, ...) and
toot 0.52.1's `toot lists` commands (and `toot timeline --list`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import mastodon
import pytest

from tests.conftest import ENGINES, drop_pg_database, recreate_pg_database, worker_tag
from tests.federation.nodes import NodeProcess
from tests.interop.test_toot import Toot


@pytest.fixture(scope="module", params=ENGINES)
def node(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    """One node on the engine of the run, with alice (who makes lists), bob and carol."""
    engine = request.param
    pg_name = f"atrium_lists_{worker_tag()}"
    url = recreate_pg_database(pg_name) if engine == "postgresql" else None
    node = NodeProcess("eng", tmp_path_factory.mktemp(f"lists_{engine}"), url)
    node.init()
    for name in ("alice", "bob", "carol"):
        node.create_user(name, "--email", f"{name}@eng.acme.test")
    node.start()
    try:
        yield node
    finally:
        node.stop()
        if url and not os.environ.get("ATRIUM_KEEP_TEST_DATABASES"):
            drop_pg_database(pg_name)


def _client(node: NodeProcess, name: str) -> mastodon.Mastodon:
    client_id, secret = mastodon.Mastodon.create_app(f"lists {name}", api_base_url=node.base_url,
                                                     scopes=["read", "write", "follow"])
    client = mastodon.Mastodon(client_id=client_id, client_secret=secret, api_base_url=node.base_url,
                               version_check_mode="created")
    client.log_in(f"{name}@eng.acme.test", f"{name}-password", scopes=["read", "write", "follow"], allow_http=True)
    return client


def test_mastodon_py_makes_a_list_reads_its_timeline_and_deletes_it(node: NodeProcess) -> None:
    alice, bob, carol = (_client(node, n) for n in ("alice", "bob", "carol"))
    bob_id, carol_id = bob.me().id, carol.me().id
    alice.account_follow(bob_id)
    alice.account_follow(carol_id)
    # When alice makes an exclusive list with bob on it, through Mastodon.py
    made = alice.list_create("Team", replies_policy="none", exclusive=True)
    assert made.title == "Team" and made.replies_policy == "none" and made.exclusive is True
    alice.list_accounts_add(made, [bob_id])
    renamed = alice.list_update(made, "Platform", replies_policy="list", exclusive=True)
    assert renamed.title == "Platform" and renamed.replies_policy == "list"
    assert [a.id for a in alice.list_accounts(made)] == [bob_id]
    assert [x.id for x in alice.account_lists(bob_id)] == [made.id]
    assert [x.title for x in alice.lists()] == ["Platform"] and alice.list(made).id == made.id
    # And bob and carol post
    from_bob = bob.status_post("bob on the list")
    from_carol = carol.status_post("carol off the list")
    # Then the list timeline has bob's post only, and home (the list is exclusive) carol's only
    assert [s.id for s in alice.timeline_list(made)] == [from_bob.id]
    home = [s.id for s in alice.timeline_home()]
    assert from_carol.id in home and from_bob.id not in home
    # And someone she does not follow cannot be added; another's list is not found
    with pytest.raises(mastodon.MastodonAPIError):
        alice.list_accounts_add(made, [alice.me().id])
    with pytest.raises(mastodon.MastodonNotFoundError):
        carol.list(made)
    # When she removes bob and deletes the list, it is gone
    alice.list_accounts_delete(made, [bob_id])
    assert alice.list_accounts(made) == []
    alice.list_delete(made)
    assert alice.lists() == []
    with pytest.raises(mastodon.MastodonNotFoundError):
        alice.timeline_list(made)


def test_toot_lists_commands(node: NodeProcess, tmp_path: Path) -> None:
    toot = Toot(tmp_path)
    assert "Successfully logged in" in toot.run(
        "login_cli", "-i", node.base_url, "-e", "alice@eng.acme.test", "-p", "alice-password")
    toot.run("follow", "carol")
    # When alice creates a list with toot and adds carol to it
    made = toot.json("lists", "create", "Carol's corner", "--replies-policy", "list")
    assert made["title"] == "Carol's corner"
    toot.run("lists", "add", "Carol's corner", "carol")
    # Then toot lists it, with carol among its accounts
    assert [x["title"] for x in toot.json("lists", "list")] == ["Carol's corner"]
    assert [a["acct"] for a in toot.json("lists", "accounts", "Carol's corner")] == ["carol"]
    # And carol's post is on the list's timeline as toot shows it
    _client(node, "carol").status_post("a post for the corner")
    assert "a post for the corner" in toot.run("timeline", "--list", "Carol's corner", "--once")
    # When she removes carol and deletes the list
    toot.run("lists", "remove", "Carol's corner", "carol")
    assert toot.json("lists", "accounts", "Carol's corner") == []
    toot.run("lists", "delete", "Carol's corner")
    assert toot.json("lists", "list") == []
