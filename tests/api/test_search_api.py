"""`GET /api/v2/search` finds posts through the full-text index, as Mastodon.py 2.3.3's
`search_v2` calls it, against a real `atrium serve` on each engine: stemming, a phrase,
operators, `account_id`, paging; an operator's invalid value is a 422 with a reason; engine
syntax in `q` is words, never a 500. docs/search.md."""

from __future__ import annotations

import os
from collections.abc import Iterator

import mastodon  # Mastodon.py 2.3.3, a test dependency
import pytest
import requests

from tests.conftest import ENGINES, drop_pg_database, recreate_pg_database, worker_tag
from tests.federation.nodes import NodeProcess


@pytest.fixture(scope="module", params=ENGINES)
def node(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    engine = str(request.param)
    pg_name = f"atrium_search_{worker_tag()}"
    url = recreate_pg_database(pg_name) if engine == "postgresql" else None
    eng = NodeProcess("eng", tmp_path_factory.mktemp(f"search_{engine}"), url)
    eng.init()
    for name in ("alice", "bob"):
        eng.create_user(name)
    try:
        eng.start()
        yield eng
    finally:
        eng.stop()
        if url and not os.environ.get("ATRIUM_KEEP_TEST_DATABASES"):
            drop_pg_database(pg_name)


def _client(node: NodeProcess, username: str) -> mastodon.Mastodon:
    client_id, secret = mastodon.Mastodon.create_app("search test", api_base_url=node.base_url)
    client = mastodon.Mastodon(client_id=client_id, client_secret=secret, api_base_url=node.base_url,
                               version_check_mode="none")
    client.log_in(username, f"{username}-password", scopes=["read", "write", "follow"], allow_http=True)
    return client


@pytest.fixture(scope="module")
def clients(node: NodeProcess) -> dict[str, mastodon.Mastodon]:
    """alice and bob signed in with Mastodon.py, once for the module."""
    return {name: _client(node, name) for name in ("alice", "bob")}


def test_search_v2_finds_posts_with_mastodon_py(clients: dict[str, mastodon.Mastodon]) -> None:
    alice, bob = clients["alice"], clients["bob"]
    # Given alice's posts in English and German, and one only her followers may see
    deployed = alice.status_post("We deployed the new build", visibility="public")
    german = alice.status_post("Die Häuser sind fertig", visibility="public", language="de")
    train = alice.status_post("the release train leaves at five", visibility="unlisted")
    hidden = alice.status_post("deployment secrets for followers", visibility="private")
    mine = bob.status_post("my deployment notes", visibility="public")
    # When bob searches with Mastodon.py, Then stems, phrases and operators find what he may see
    def ids(q: str, **kw: object) -> list[str]:
        return [s.id for s in bob.search_v2(q, result_type="statuses", **kw).statuses]

    assert set(ids("deploy")) == {deployed.id, mine.id}  # not the followers-only post
    assert ids("Haus") == [german.id]
    assert ids('"release train"') == [train.id]
    assert ids('"train release"') == []
    assert ids("deploy from:me") == [mine.id]
    assert ids("deploy from:alice") == [deployed.id]
    assert ids("deploy", account_id=mine.account.id) == [mine.id]
    assert len(ids("deploy", limit=1)) == 1
    assert hidden.id not in ids("secrets")
    # And accounts and hashtags are searched as before
    assert [a.acct for a in bob.search_v2("alice", result_type="accounts").accounts] == ["alice"]


@pytest.mark.parametrize("q", ['NEAR(deploy', "deploy*", '"', "-", "{terms}: x", "a & !b | c <-> d", "x" * 5000, "'"])
def test_engine_syntax_is_words(node: NodeProcess, clients: dict[str, mastodon.Mastodon], q: str) -> None:
    bob = clients["bob"]
    answer = requests.get(f"{node.base_url}/api/v2/search", params={"q": q, "type": "statuses"},
                          headers={"Authorization": f"Bearer {bob.access_token}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert isinstance(answer.json()["statuses"], list)


@pytest.mark.parametrize(
    ("params", "reason"),
    [({"q": "deploy before:tomorrow"}, "before"), ({"q": "in:everything"}, "in:"), ({"q": "has:cats"}, "has:"),
     ({"q": "x", "account_id": "abc"}, "account_id"), ({"q": "x", "max_id": "-1"}, "max_id"),
     ({"q": "x", "account_id": "99999999999999999999"}, "account_id")],
)
def test_invalid_values_are_422(
    node: NodeProcess, clients: dict[str, mastodon.Mastodon], params: dict[str, str], reason: str
) -> None:
    bob = clients["bob"]
    answer = requests.get(f"{node.base_url}/api/v2/search", params={**params, "type": "statuses"},
                          headers={"Authorization": f"Bearer {bob.access_token}"}, timeout=30)
    assert answer.status_code == 422, answer.text
    assert reason in answer.json()["error"]


def test_anonymous_callers_find_no_posts(node: NodeProcess) -> None:
    answer = requests.get(f"{node.base_url}/api/v2/search", params={"q": "deploy"}, timeout=30)
    assert answer.status_code == 200 and answer.json()["statuses"] == []
