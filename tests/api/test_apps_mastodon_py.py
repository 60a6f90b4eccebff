"""Mastodon.py 2.3.3 (a real client library) against real `atrium serve` processes, for the app
families of issue #20: `app_verify_credentials`, `preferences` (saved by `account_update_credentials`),
`status_favourited_by` / `status_reblogged_by`, and the organisation timeline and stream
(Atrium's own, so through Mastodon.py's raw request and stream helpers, as an app adding a
custom timeline would).

The nodes are test_mastodon_py's fixture: eng (SQLite) is where alice (and here carol) live;
sales (PostgreSQL when the run includes it) is a partner node, outside the organisation, where bob lives. alice follows bob, so his public posts
reach eng — and must never show on eng's organisation timeline.
"""

from __future__ import annotations

import asyncio
import queue
from typing import Any

import mastodon  # Mastodon.py 2.3.3, a test dependency (pyproject.toml)
import pytest

from node import follows, posts, remote
from tests.api import test_mastodon_py
from tests.federation.nodes import NodeProcess, eventually
from tests.federation.test_multinode import follow_remote

SCOPES = ["read", "write", "follow"]
WAIT = 60.0
nodes = test_mastodon_py.nodes  # the same two real nodes (a module fixture: this module's own pair)


@pytest.fixture(scope="module", autouse=True)
def carol(nodes: tuple[NodeProcess, NodeProcess]) -> None:
    """A second person on eng, beside alice (the nodes are test_mastodon_py's: eng and its partner sales)."""
    nodes[0].create_user("carol")


def _client(node: NodeProcess, username: str) -> mastodon.Mastodon:
    client_id, client_secret = mastodon.Mastodon.create_app(f"{username}'s app", api_base_url=node.base_url,
                                                            scopes=SCOPES)
    client = mastodon.Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=node.base_url,
                               version_check_mode="none")
    client.log_in(username, f"{username}-password", scopes=SCOPES, allow_http=True)
    return client


def test_mastodon_py_verifies_its_app_and_reads_and_saves_preferences(nodes: tuple[NodeProcess, NodeProcess]) -> None:
    eng, _ = nodes
    alice = _client(eng, "alice")
    # When Mastodon.py asks which app its token belongs to
    app = alice.app_verify_credentials()
    # Then it is the app it registered
    assert app.name == "alice's app" and set(app.scopes) == set(SCOPES)
    # And alice's preferences start as Mastodon's defaults
    assert alice.preferences()["posting:default:visibility"] == "public"
    # When she saves followers-only, sensitive and French through update_credentials
    me = alice.account_update_credentials(default_privacy="private", default_sensitive=True, default_language="fr")
    assert me.source.privacy == "private" and me.source.sensitive is True and me.source.language == "fr"
    # Then her preferences say so, and a post made without a visibility starts from them
    prefs = alice.preferences()
    assert (prefs["posting:default:visibility"], prefs["posting:default:sensitive"],
            prefs["posting:default:language"]) == ("private", True, "fr")
    post = alice.status_post("sans visibilité")
    assert post.visibility == "private" and post.language == "fr"
    alice.account_update_credentials(default_privacy="public", default_sensitive=False)


def test_mastodon_py_reads_who_liked_and_boosted_and_a_stranger_cannot(nodes: tuple[NodeProcess, NodeProcess]) -> None:
    eng, _ = nodes
    alice, carol = _client(eng, "alice"), _client(eng, "carol")
    # Given a public post of alice's liked and boosted by carol
    post = alice.status_post("likes welcome", visibility="public")
    carol.status_favourite(post.id)
    carol.status_reblog(post.id)
    # Then Mastodon.py reads carol among who liked it and who boosted it
    assert [a.username for a in alice.status_favourited_by(post.id)] == ["carol"]
    assert [a.username for a in alice.status_reblogged_by(post.id)] == ["carol"]
    # And for a followers-only post of alice's, carol (no follower) gets 404
    private = alice.status_post("followers only", visibility="private")
    with pytest.raises(mastodon.MastodonNotFoundError):
        carol.status_favourited_by(private.id)
    with pytest.raises(mastodon.MastodonNotFoundError):
        carol.status_reblogged_by(private.id)
    assert alice.status_favourited_by(private.id) == []


class _Collector(mastodon.StreamListener):
    def __init__(self) -> None:
        self.updates: queue.Queue[Any] = queue.Queue()

    def on_update(self, status: Any) -> None:
        self.updates.put(status)


async def test_mastodon_py_reads_the_organisation_timeline_and_stream_never_a_partners_post(
    nodes: tuple[NodeProcess, NodeProcess],
) -> None:
    eng, sales = nodes
    alice, carol = _client(eng, "alice"), _client(eng, "carol")
    # Given alice follows bob on sales (a partner) and his public post reached her home
    await follow_remote(eng, "alice", f"bob@{sales.domain}")
    await eventually(lambda: _following(eng, f"bob@{sales.domain}"), what="sales to accept alice's follow", timeout=60)
    async with sales.act() as ctx:
        from_partner = await posts.create_post(ctx, await sales.user(ctx, "bob"), posts.NewPost("partner news, public"))
    await eventually(lambda: _in_home(alice, from_partner.uri), what="bob's post in alice's home", timeout=60)
    # And alice listens to the organisation stream (server-sent events, as Mastodon.py streams)
    listener = _Collector()
    handle = alice._Mastodon__stream("/api/v1/streaming/organization", listener, run_async=True)  # type: ignore[attr-defined]
    try:
        # When carol posts to the organisation, to her followers (alice is not one) and in public
        unlisted = carol.status_post("not listed", visibility="unlisted")
        org = _org_post(carol, "for the organisation")
        hidden = carol.status_post("for my followers", visibility="private")
        public = carol.status_post("for everyone", visibility="public")
        streamed = []
        while public.id not in [s.id for s in streamed]:
            streamed.append(listener.updates.get(timeout=WAIT))
    finally:
        handle.close()
    # Then the raw organisation timeline holds carol's organisation and public posts
    timeline = alice._Mastodon__api_request("GET", "/api/v1/timelines/organization")  # type: ignore[attr-defined]
    ids = [str(s["id"]) for s in timeline]
    assert ids[:2] == [str(public.id), str(org["id"])]
    # And never the partner's post, the followers-only one or the unlisted one
    assert not {str(hidden.id), str(unlisted.id)} & set(ids)
    assert not [s for s in timeline if s["account"]["acct"].startswith("bob@")]
    # And the stream carried the same two of carol's, and nothing else
    assert [str(s.id) for s in streamed] == [str(org["id"]), str(public.id)]


def _org_post(client: mastodon.Mastodon, text: str) -> Any:
    """An `organization` post: Atrium's word, sent through Mastodon.py's raw request."""
    return client._Mastodon__api_request(  # type: ignore[attr-defined]
        "POST", "/api/v1/statuses", {"status": text, "visibility": "organization"})


async def _following(eng: NodeProcess, handle: str) -> bool:
    async with eng.act() as ctx:
        alice = await eng.user(ctx, "alice")
        target = await remote.resolve_handle(ctx, handle)
        return bool((await follows.relationship(ctx, alice, target.id))["following"])


async def _in_home(client: mastodon.Mastodon, uri: str | None) -> bool:
    home = await asyncio.to_thread(client.timeline_home)
    return any(s.uri == uri for s in home)
