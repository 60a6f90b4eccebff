"""A change to a post has the same effects whether a local person made it or it came from a
peer: the same notifications, counts and home-timeline entries (node/post_effects.py).

Each test plays one change twice on one node (both engines): once by carol, a local author,
through the node calls the client API and the web UI use; once by mallory, on a fake peer over
real HTTP, as a signed activity to the node's inbox that the inbox worker then handles. In
both cases bob follows the author and alice does not, and what the change did is read back
from the database, named by role so the two runs compare.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import pytest
from sqlalchemy import select

from federation.vocab import PUBLIC
from node import accounts, interactions, posts, remote
from node.context import NodeContext
from node.policy import PeerRule, Policy
from node.posts import NewPost
from storage.models import Account, Follow, Notification, Post, TimelineEntry
from tests.conftest import StartNode
from tests.factory import PASSWORD, LocalNode, fake_peer
from tests.federation.fake_peer import FakePeer

Snapshot = dict[str, object]
# A post mentioning alice, new or edited to: she is told and has it at home; bob, a follower, has it too.
ALICE_MENTIONED: Snapshot = {
    "notifications": [("alice", "mention", "post")],
    "home": [("alice", "post"), ("bob", "post")],
    "counts": None,
}


@dataclass
class Scene:
    node: LocalNode
    alice: Account  # whose post is replied to, boosted, and who is mentioned
    bob: Account  # follows the author

    @property
    def ctx(self) -> NodeContext:
        return self.node.ctx

    async def alice_says(self, text: str) -> Post:
        return await posts.create_post(self.ctx, self.alice, NewPost(text))

    async def snapshot(self, author: Account, alice_post: Post | None = None) -> Snapshot:
        """What the author's changes did on this node: notifications and home entries of alice
        and bob (posts named by kind), and the counts of alice's post."""
        async with self.ctx.db.reader() as s:
            names = {self.alice.id: "alice", self.bob.id: "bob", author.id: "author"}
            theirs = {p.id: p for p in (await s.scalars(select(Post).where(Post.account_id == author.id))).unique()}

            def kind(post_id: int | None) -> str:
                if alice_post is not None and post_id == alice_post.id:
                    return "alice's post"
                post = theirs.get(post_id or 0)
                if post is None:
                    return "gone"
                return "boost" if post.reblog_of_id else "reply" if post.in_reply_to_id else "post"

            notes = (await s.scalars(select(Notification).where(Notification.from_account_id == author.id))).all()
            home = (await s.scalars(select(TimelineEntry).where(TimelineEntry.author_id == author.id))).all()
            counts = None
            if alice_post is not None:
                mine = await s.get(Post, alice_post.id, populate_existing=True)
                assert mine is not None
                counts = {"replies": mine.replies_count, "likes": mine.likes_count, "boosts": mine.boosts_count}
        return {
            "notifications": sorted((names.get(n.account_id, "?"), n.type, kind(n.post_id)) for n in notes),
            "home": sorted(
                (names[e.account_id], kind(e.post_id)) for e in home if e.account_id in (self.alice.id, self.bob.id)
            ),
            "counts": counts,
        }


class Author(Protocol):
    account: Account

    async def say(
        self, text: str, *, reply_to: Post | None = None, followers_only: bool = False, mention: Account | None = None
    ) -> Post: ...
    async def edit(self, post: Post, text: str, *, mention: Account | None = None) -> None: ...
    async def delete(self, post: Post) -> None: ...
    async def boost(self, post: Post) -> None: ...
    async def unboost(self, post: Post) -> None: ...


@dataclass
class LocalAuthor:
    """carol, posting on the node through the calls its client API and web UI make."""

    scene: Scene
    account: Account

    async def say(
        self, text: str, *, reply_to: Post | None = None, followers_only: bool = False, mention: Account | None = None
    ) -> Post:
        body = f"{text} @{mention.username}" if mention else text
        new = NewPost(
            body,
            visibility="followers" if followers_only else "public",
            in_reply_to_id=reply_to.id if reply_to else None,
        )
        return await posts.post_as(self.scene.ctx, self.account, new)

    async def edit(self, post: Post, text: str, *, mention: Account | None = None) -> None:
        body = f"{text} @{mention.username}" if mention else text
        await posts.edit_post(self.scene.ctx, self.account, post.id, body)

    async def delete(self, post: Post) -> None:
        await posts.delete_post(self.scene.ctx, self.account, post.id)

    async def boost(self, post: Post) -> None:
        await interactions.boost(self.scene.ctx, self.account, post.id)

    async def unboost(self, post: Post) -> None:
        await interactions.unboost(self.scene.ctx, self.account, post.id)


@dataclass
class PeerAuthor:
    """mallory, on a fake peer: every change is a signed activity POSTed to the node's inbox
    over HTTP, then handled by the inbox worker."""

    scene: Scene
    peer: FakePeer
    account: Account
    numbers: itertools.count[int]

    @property
    def uri(self) -> str:
        return self.peer.actor("mallory")

    async def _send(self, activity: dict[str, object]) -> None:
        status, body = await self.peer.post(self.scene.node.inbox, activity, as_actor="mallory")
        assert status == 202, body
        await self.scene.node.process()

    def _note(
        self,
        n: int,
        text: str,
        *,
        reply_to: str | None = None,
        followers_only: bool = False,
        mention: Account | None = None,
    ) -> dict[str, object]:
        followers = f"{self.uri}/followers"
        to, cc = ([followers], []) if followers_only else ([PUBLIC], [followers])
        extra: dict[str, object] = {}
        if mention is not None:
            href = self.scene.ctx.actor_uri(mention.username)
            extra["tag"] = [{"type": "Mention", "href": href, "name": f"@{mention.username}"}]
            cc = [*cc, href]
        if reply_to is not None:
            extra["inReplyTo"] = reply_to
        return self.peer.note("mallory", n, f"<p>{text}</p>", to=to, cc=cc, **extra)

    async def say(
        self, text: str, *, reply_to: Post | None = None, followers_only: bool = False, mention: Account | None = None
    ) -> Post:
        note = self._note(
            next(self.numbers),
            text,
            reply_to=reply_to.uri if reply_to else None,
            followers_only=followers_only,
            mention=mention,
        )
        await self._send(self.peer.create("mallory", note))
        async with self.scene.ctx.db.reader() as s:
            post = await s.scalar(select(Post).where(Post.uri == note["id"]))
        assert post is not None, "the peer's note was not stored"
        return post

    async def edit(self, post: Post, text: str, *, mention: Account | None = None) -> None:
        n = int((post.uri or "").rsplit("/", 1)[1])
        note = {**self._note(n, text, mention=mention), "updated": "2026-11-25T11:00:00Z"}
        await self._send(
            {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{note['id']}#update",
                "type": "Update",
                "actor": self.uri,
                "to": note["to"],
                "cc": note["cc"],
                "object": note,
            }
        )

    async def delete(self, post: Post) -> None:
        await self._send(
            {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{post.uri}#delete",
                "type": "Delete",
                "actor": self.uri,
                "to": [PUBLIC],
                "object": post.uri,
            }
        )

    def _announce(self, post: Post) -> dict[str, object]:
        return {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{self.uri}/announces/{post.id}",
            "type": "Announce",
            "actor": self.uri,
            "to": [PUBLIC],
            "cc": [f"{self.uri}/followers"],
            "object": post.uri,
        }

    async def boost(self, post: Post) -> None:
        await self._send(self._announce(post))

    async def unboost(self, post: Post) -> None:
        announce = self._announce(post)
        await self._send(
            {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{announce['id']}/undo",
                "type": "Undo",
                "actor": self.uri,
                "object": announce,
            }
        )


@pytest.fixture
async def peer() -> AsyncIterator[FakePeer]:
    async with fake_peer("mallory") as p:
        yield p


@pytest.fixture
async def scene(start_node: StartNode, peer: FakePeer) -> Scene:
    """A node on loopback whose inbox admits the peer; alice and bob on it."""
    node = await start_node(
        policy=Policy(mode="allowlist", peers=(PeerRule(peer.domain, "public"),)), users=("alice", "bob")
    )
    return Scene(node, await accounts.get_local(node.ctx, "alice"), await accounts.get_local(node.ctx, "bob"))


async def _followed_by_bob(scene: Scene, author: Account) -> None:
    async with scene.ctx.db.session() as s:
        s.add(
            Follow(
                follower_id=scene.bob.id,
                target_id=author.id,
                state="accepted",
                uri=f"{scene.ctx.base_url}/follows/{author.id}",
            )
        )


@pytest.fixture
async def local_author(scene: Scene) -> Author:
    carol = await accounts.create_user(scene.ctx, "carol", PASSWORD)
    await _followed_by_bob(scene, carol)
    return LocalAuthor(scene, carol)


@pytest.fixture
async def peer_author(scene: Scene, peer: FakePeer) -> Author:
    mallory = await remote.actor_by_uri(scene.ctx, peer.actor("mallory"))
    await _followed_by_bob(scene, mallory)
    return PeerAuthor(scene, peer, mallory, itertools.count(1))


@pytest.fixture
def authors(local_author: Author, peer_author: Author) -> dict[str, Author]:
    return {"local": local_author, "peer": peer_author}


async def same_from_here_and_from_a_peer(
    authors: dict[str, Author], change: Callable[[Author], Awaitable[Snapshot]]
) -> Snapshot:
    """Play `change` by the local author, then by the peer's; what it did must be the same."""
    seen = {via: await change(author) for via, author in authors.items()}
    assert seen["peer"] == seen["local"], f"a peer's change did otherwise: {seen}"
    return seen["local"]


async def test_a_new_post_has_the_same_effects_from_here_and_from_a_peer(
    scene: Scene, authors: dict[str, Author]
) -> None:
    async def change(author: Author) -> Snapshot:
        # When the author posts publicly, mentioning alice
        await author.say("hello", mention=scene.alice)
        return await scene.snapshot(author.account)

    # Then alice hears of the mention and has it at home, bob (a follower) has it at home
    assert await same_from_here_and_from_a_peer(authors, change) == ALICE_MENTIONED


async def test_a_post_is_in_its_authors_own_home_only_when_the_author_is_local(
    scene: Scene, authors: dict[str, Author]
) -> None:
    async def own_home(author: Author) -> tuple[list[int], int]:
        # When the author posts publicly
        post = await author.say("at home?")
        async with scene.ctx.db.reader() as s:
            home = (await s.scalars(select(TimelineEntry.post_id).where(TimelineEntry.account_id == author.account.id))).all()
        return list(home), post.id

    # Then carol (local) has her post in her own home; mallory, a peer's account, has no home here
    carol_home, carol_post = await own_home(authors["local"])
    assert carol_home == [carol_post]
    mallory_home, _ = await own_home(authors["peer"])
    assert mallory_home == []


async def test_a_reply_has_the_same_effects_from_here_and_from_a_peer(scene: Scene, authors: dict[str, Author]) -> None:
    async def change(author: Author) -> Snapshot:
        # Given a public post of alice's; when the author replies to it publicly
        alice_post = await scene.alice_says("a thought")
        await author.say("a reply", reply_to=alice_post)
        return await scene.snapshot(author.account, alice_post)

    # Then alice is told of the reply, her post counts it, bob has the reply at home
    assert await same_from_here_and_from_a_peer(authors, change) == {
        "notifications": [("alice", "reply", "reply")],
        "home": [("bob", "reply")],
        "counts": {"replies": 1, "likes": 0, "boosts": 0},
    }


async def test_a_reply_the_parents_author_may_not_see_tells_them_nothing_from_anywhere(
    scene: Scene, authors: dict[str, Author]
) -> None:
    async def change(author: Author) -> Snapshot:
        # Given a public post of alice's; when the author replies to followers only (alice is not one)
        alice_post = await scene.alice_says("a thought")
        await author.say("for my followers", reply_to=alice_post, followers_only=True)
        return await scene.snapshot(author.account, alice_post)

    # Then alice is not told of a reply she may not read (a peer's reply told her before),
    # while the reply still counts and reaches the author's follower
    assert await same_from_here_and_from_a_peer(authors, change) == {
        "notifications": [],
        "home": [("bob", "reply")],
        "counts": {"replies": 1, "likes": 0, "boosts": 0},
    }


async def test_a_boost_and_its_undoing_have_the_same_effects_from_here_and_from_a_peer(
    scene: Scene, authors: dict[str, Author]
) -> None:
    async def change(author: Author) -> Snapshot:
        # Given a public post of alice's; when the author boosts it, then takes the boost back
        alice_post = await scene.alice_says("worth sharing")
        await author.boost(alice_post)
        boosted = await scene.snapshot(author.account, alice_post)
        await author.unboost(alice_post)
        return {"boosted": boosted, "unboosted": await scene.snapshot(author.account, alice_post)}

    seen = await same_from_here_and_from_a_peer(authors, change)
    # Then alice is told of the boost, her post counts it, bob has the boost at home
    assert seen["boosted"] == {
        "notifications": [("alice", "boost", "alice's post")],
        "home": [("bob", "boost")],
        "counts": {"replies": 0, "likes": 0, "boosts": 1},
    }
    # and taken back, the count and bob's entry go (the notification of what happened stays)
    assert seen["unboosted"] == {
        "notifications": [("alice", "boost", "alice's post")],
        "home": [],
        "counts": {"replies": 0, "likes": 0, "boosts": 0},
    }


async def test_an_edit_has_the_same_effects_from_here_and_from_a_peer(scene: Scene, authors: dict[str, Author]) -> None:
    async def change(author: Author) -> Snapshot:
        # Given a public post of the author's; when an edit adds a mention of alice
        post = await author.say("first draft")
        await author.edit(post, "second draft", mention=scene.alice)
        return await scene.snapshot(author.account)

    # Then alice hears of the mention and gets the post at home, as a new post would give it her
    # (a peer's edit told her nothing before)
    assert await same_from_here_and_from_a_peer(authors, change) == ALICE_MENTIONED


async def test_a_delete_has_the_same_effects_from_here_and_from_a_peer(
    scene: Scene, authors: dict[str, Author]
) -> None:
    async def change(author: Author) -> Snapshot:
        # Given the author's reply to alice's post; when the author deletes the reply
        alice_post = await scene.alice_says("a thought")
        reply = await author.say("on second thoughts", reply_to=alice_post)
        await author.delete(reply)
        return await scene.snapshot(author.account, alice_post)

    # Then the reply leaves every home and notification, and alice's post no longer counts it
    assert await same_from_here_and_from_a_peer(authors, change) == {
        "notifications": [],
        "home": [],
        "counts": {"replies": 0, "likes": 0, "boosts": 0},
    }
