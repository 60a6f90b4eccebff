"""Grouped notifications and a person's domain block across two real `atrium serve` processes,
through Mastodon.py 2.3.3 on both: `here` (the engine under test, alice) and `there` (SQLite,
pat and quinn), trusting each other as `organization`. docs/architecture.md ("How a test builds
a node": real processes)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import mastodon
import pytest

from tests.api.two_nodes import running_pair
from tests.conftest import ENGINES
from tests.federation.nodes import NodeProcess

T = TypeVar("T")
WAIT = 60.0  # generous: the machine is shared


@pytest.fixture(scope="module", params=ENGINES)
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProcess, NodeProcess]]:
    """`here` (the engine under test: alice) and `there` (SQLite: pat and quinn)."""
    yield from running_pair(request, tmp_path_factory, "groups", ("alice",), ("pat", "quinn"))


def _client(node: NodeProcess, username: str) -> mastodon.Mastodon:
    client_id, secret = mastodon.Mastodon.create_app("groups test", api_base_url=node.base_url)
    client = mastodon.Mastodon(client_id=client_id, client_secret=secret, api_base_url=node.base_url,
                               version_check_mode="none")
    client.log_in(username, f"{username}-password", allow_http=True, scopes=["read", "write", "follow"])
    return client


def _eventually(check: Callable[[], T | None], what: str) -> T:
    deadline = time.monotonic() + WAIT
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


def _resolve_status(client: mastodon.Mastodon, uri: str) -> str:
    return str(_eventually(lambda: client.search_v2(uri, resolve=True).statuses, f"{uri} resolved")[0].id)


def _resolve_account(client: mastodon.Mastodon, handle: str) -> str:
    return str(_eventually(lambda: client.search_v2(handle, resolve=True).accounts, f"{handle} resolved")[0].id)


def test_likes_from_two_remote_accounts_are_one_group(pair: tuple[NodeProcess, NodeProcess]) -> None:
    here, there = pair
    alice, pat, quinn = _client(here, "alice"), _client(there, "pat"), _client(there, "quinn")
    # Given alice's public post, liked on the other node by pat and then quinn
    status = alice.status_post("liked across nodes", visibility="public")
    for client in (pat, quinn):
        client.status_favourite(_resolve_status(client, status.uri))

    # When alice reads her grouped notifications
    def liked_twice() -> mastodon.AttribAccessDict | None:
        groups = alice.grouped_notifications(types=["favourite"], expand_accounts="full")
        return groups if groups.notification_groups and groups.notification_groups[0].notifications_count == 2 else None

    results = _eventually(liked_twice, "both likes to arrive")
    # Then they are one group of two, quinn's the newest, both accounts beside it
    [group] = results.notification_groups
    assert group.type == "favourite" and str(group.status_id) == str(status.id)
    by_id = {str(a.id): a.acct for a in results.accounts}
    assert [by_id[str(i)] for i in group.sample_account_ids] == [f"quinn@{there.domain}", f"pat@{there.domain}"]
    assert [a.acct for a in alice.grouped_notification_accounts(group.group_key)] == [
        f"quinn@{there.domain}", f"pat@{there.domain}"]


def test_a_domain_block_hides_the_domains_posts_and_notifications_and_ends_follows(
    pair: tuple[NodeProcess, NodeProcess],
) -> None:
    here, there = pair
    alice, pat = _client(here, "alice"), _client(there, "pat")
    # Given alice and pat following each other, and pat's public post in alice's home and public timelines
    pat_here = _resolve_account(alice, f"pat@{there.domain}")
    alice.account_follow(pat_here)
    pat.account_follow(_resolve_account(pat, f"alice@{here.domain}"))
    _eventually(lambda: alice.account_relationships(pat_here)[0].followed_by, "pat's follow to arrive")
    _eventually(lambda: alice.account_relationships(pat_here)[0].following, "alice's follow to be accepted")
    pat.status_post("pat says hello", visibility="public")
    _eventually(lambda: any("pat says hello" in s.content for s in alice.timeline_home()), "pat's post in alice's home")
    assert any("pat says hello" in s.content for s in alice.timeline_public())
    assert alice.grouped_notifications(types=["follow"]).notification_groups

    # When alice blocks pat's domain
    alice.domain_block(there.domain)

    # Then the domain is listed and the relationship says so; the follows both ways are gone
    assert alice.domain_blocks() == [there.domain]
    rel = alice.account_relationships(pat_here)[0]
    assert (rel.domain_blocking, rel.following, rel.followed_by) == (True, False, False)
    # ... pat's posts are in none of her timelines, his notifications in neither list
    assert not any("pat says hello" in s.content for s in alice.timeline_home())
    assert not any("pat says hello" in s.content for s in alice.timeline_public())
    assert not alice.grouped_notifications().notification_groups
    assert not alice.notifications()
    # ... and pat's node heard that he no longer follows her (a Reject)
    alice_there = _resolve_account(pat, f"alice@{here.domain}")
    _eventually(lambda: not pat.account_relationships(alice_there)[0].following, "pat's follow to end on his node")

    # When she lifts the block, the list is empty and the public timeline shows the domain's
    # posts again (the follows stay ended, as Mastodon's do)
    alice.domain_unblock(there.domain)
    assert alice.domain_blocks() == []
    assert any("pat says hello" in s.content for s in alice.timeline_public())
    assert not alice.account_relationships(pat_here)[0].following


def test_hostile_domains_are_refused(pair: tuple[NodeProcess, NodeProcess]) -> None:
    here, _ = pair
    alice = _client(here, "alice")
    for bad in ("not a domain/", "x" * 10_000, "", "@evil", here.domain, "a" * 64 + ".example/../"):
        with pytest.raises(mastodon.MastodonAPIError) as refused:
            alice.domain_block(bad)
        assert refused.value.args[1] == 422, bad
    assert alice.domain_blocks() == []
