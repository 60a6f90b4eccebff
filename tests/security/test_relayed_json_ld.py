"""Relayed activities and reshaped JSON-LD: only the HTTP signature speaks, and it speaks only
for its own actor. A Linked Data signature is never a reason to believe a relay, and
@graph / @reverse / @included cannot smuggle a second actor's activity or note past the
origin checks.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from federation.vocab import PUBLIC
from storage.models import InboxEntry, Post
from tests.factory import LocalNode
from tests.federation.fake_peer import FakePeer
from tests.security.conftest import post_signed

AS = "https://www.w3.org/ns/activitystreams"


async def test_a_relayed_activity_with_a_linked_data_signature_is_not_believed(
    node: LocalNode, peer: FakePeer, other_peer: FakePeer
) -> None:
    # Given trudy's server relays mallory's Create, carrying an LD signature said to be mallory's
    activity = peer.create("mallory", peer.note("mallory", 1, "relayed")) | {
        "@context": [AS, "https://w3id.org/security/v1"],
        "signature": {"type": "RsaSignature2017", "creator": peer.key_id("mallory"),
                      "created": "2026-11-25T10:00:00Z", "signatureValue": "AAAA"},
    }
    # When the relay signs the HTTP request with its own key
    answer = await post_signed(node.inbox, activity, other_peer.key_id("trudy"), other_peer.keys["trudy"])
    # Then it is refused: the signer is not the actor, whatever the body claims
    assert answer.status == 403 and "not the activity's actor" in answer.error
    assert await node.outcomes() == []


def _reshaped(peer: FakePeer, other: FakePeer) -> dict[str, dict[str, Any]]:
    mallory, trudy = peer.actor("mallory"), other.actor("trudy")
    trudys_note = other.note("trudy", 9, "smuggled")
    trudys_create = other.create("trudy", trudys_note)
    del trudys_create["@context"]
    mine = peer.create("mallory", peer.note("mallory", 2, "mine"))
    del mine["@context"]
    return {
        "@graph holding another's activity": {"@context": AS, "@graph": [trudys_create]},
        "@graph of two": {"@context": AS, "@graph": [mine, trudys_create]},
        "@reverse": {"@context": AS, "id": f"{mallory}/a/3", "type": "Like", "actor": mallory,
                     "object": f"{mallory}/notes/3", "@reverse": {"object": trudys_create}},
        "@included": {"@context": AS, "id": f"{mallory}/a/4", "type": "Like", "actor": mallory,
                      "object": f"{mallory}/notes/4", "@included": [trudys_create, trudys_note]},
        "object by @id": {"@context": AS, "@id": f"{mallory}/a/5", "@type": "Create", "actor": mallory,
                          "object": {"@id": trudys_note["id"], "@type": "Note", "attributedTo": trudy,
                                     "content": "smuggled", "to": [PUBLIC]}},
    }


NAMES = ["@graph holding another's activity", "@graph of two", "@reverse", "@included", "object by @id"]


@pytest.mark.parametrize("name", NAMES)
async def test_reshaped_json_ld_cannot_smuggle_another_actors_activity(
    node: LocalNode, peer: FakePeer, other_peer: FakePeer, name: str
) -> None:
    doc = _reshaped(peer, other_peer)[name]
    # When mallory signs the reshaped document
    answer = await post_signed(node.inbox, doc, peer.key_id("mallory"), peer.keys["mallory"])
    await node.process()
    # Then either it is refused with a reason, or only mallory's own activity is taken
    assert answer.status in (202, 400, 403), answer.text
    async with node.ctx.db.reader() as s:
        actors = set((await s.scalars(select(InboxEntry.actor_uri))).all())
        smuggled = (await s.scalars(select(Post).where(Post.uri.like(f"{other_peer.base}%")))).all()
    assert actors <= {peer.actor("mallory")}
    assert smuggled == []
    if answer.status != 202:
        assert answer.error
