"""The audiences' rules (node/audience.py), each read off the one definition: who may see a
post, whether it leaves the node and to which trust levels, boosts, replies, Mastodon's words
and ActivityPub's addressing — with the strings stored and sent exactly as before."""

from __future__ import annotations

import pytest

from federation.addressing import NotFederated
from federation.vocab import PUBLIC
from node.audience import Audience
from node.policy import PeerRule, Policy
from node.trust import Trust
from storage.errors import Invalid
from storage.models import VISIBILITIES

FOLLOWERS = "https://a.example/users/alice/followers"
BOB = "https://b.example/users/bob"
ALL = tuple(Audience)


def test_the_audiences_are_the_strings_stored_and_sent() -> None:
    # The storage column's values, NodeInfo's list and the client API's atrium_visibility
    assert tuple(a.value for a in Audience) == VISIBILITIES
    assert all(a == a.value and isinstance(a, str) and f"{a}" == a.value for a in Audience)
    assert Audience("organization") is Audience.ORGANIZATION


def test_only_local_posts_never_leave_the_node() -> None:
    assert [a for a in ALL if not a.federates] == [Audience.LOCAL]


@pytest.mark.parametrize(
    ("audience", "trusts"),
    [
        (Audience.PUBLIC, {Trust.ORGANIZATION, Trust.PARTNER, Trust.PUBLIC, Trust.LIMITED}),
        (Audience.UNLISTED, {Trust.ORGANIZATION, Trust.PARTNER, Trust.PUBLIC, Trust.LIMITED}),
        (Audience.FOLLOWERS, {Trust.ORGANIZATION, Trust.PARTNER, Trust.PUBLIC, Trust.LIMITED}),
        (Audience.DIRECT, {Trust.ORGANIZATION, Trust.PARTNER, Trust.PUBLIC, Trust.LIMITED}),
        (Audience.ORGANIZATION, {Trust.ORGANIZATION}),
        (Audience.LOCAL, set()),
    ],
)
def test_which_trust_levels_may_receive_each_audience(audience: Audience, trusts: set[Trust]) -> None:
    assert {t for t in Trust if audience.admits(t)} == trusts


def test_the_policy_asks_the_audience() -> None:
    # Given a partner and an organisation peer
    policy = Policy(peers=(PeerRule("p.example", Trust.PARTNER), PeerRule("o.example", Trust.ORGANIZATION)))
    # Then each audience goes exactly where its rule admits, with the reasons as before
    for audience in Audience:
        for domain, trust in (("p.example", Trust.PARTNER), ("o.example", Trust.ORGANIZATION)):
            assert policy.outbound(audience, domain).allowed == audience.admits(trust)
    assert policy.outbound("local", "o.example").reason == "local posts never leave the node"
    assert policy.outbound("local", "o.example").rule == "visibility local"
    assert policy.outbound("organization", "p.example").reason == "p.example is not trusted as organization"
    assert policy.outbound("organization", None).reason == "an anonymous reader is not trusted as organization"
    # And a word that is no audience is refused, never guessed at
    assert not policy.outbound("everyone", "o.example").allowed


def test_only_audiences_of_places_can_be_boosted_or_made_local_only() -> None:
    # A boost shows the post to the booster's followers: a list of named people would widen
    assert [a for a in ALL if not a.rules.boostable] == [Audience.FOLLOWERS, Audience.DIRECT]
    assert [a for a in ALL if not a.rules.may_be_local_only] == [Audience.FOLLOWERS, Audience.DIRECT]


@pytest.mark.parametrize(
    ("parent", "asked", "kept"),
    [
        (Audience.ORGANIZATION, Audience.PUBLIC, Audience.ORGANIZATION),
        (Audience.ORGANIZATION, Audience.FOLLOWERS, Audience.ORGANIZATION),
        (Audience.ORGANIZATION, Audience.DIRECT, Audience.DIRECT),
        (Audience.LOCAL, Audience.PUBLIC, Audience.LOCAL),
        (Audience.LOCAL, Audience.ORGANIZATION, Audience.LOCAL),
        (Audience.LOCAL, Audience.DIRECT, Audience.DIRECT),
        (Audience.PUBLIC, Audience.UNLISTED, Audience.UNLISTED),
        (Audience.FOLLOWERS, Audience.PUBLIC, Audience.PUBLIC),
        (Audience.DIRECT, Audience.ORGANIZATION, Audience.ORGANIZATION),
    ],
)
def test_a_reply_never_reaches_further_than_an_inward_parent(parent: Audience, asked: Audience, kept: Audience) -> None:
    assert parent.reply_audience(asked) is kept


def test_who_may_see_each_audience() -> None:
    # Someone who is only a follower, only mentioned, only in the organisation, only a local
    # user (of a post written here) — and nobody in particular
    def seen_by(**facts: bool) -> set[Audience]:
        base = {
            "follower": False,
            "mentioned": False,
            "in_organization": False,
            "local_user": False,
            "local_post": True,
        }
        return {a for a in Audience if a.may_see(**{**base, **facts})}

    anyone = {Audience.PUBLIC, Audience.UNLISTED}
    assert seen_by() == anyone
    assert seen_by(follower=True) == anyone | {Audience.FOLLOWERS}
    assert seen_by(mentioned=True) == anyone | {Audience.FOLLOWERS, Audience.DIRECT, Audience.ORGANIZATION}
    assert seen_by(in_organization=True) == anyone | {Audience.ORGANIZATION}
    assert seen_by(local_user=True) == anyone | {Audience.LOCAL}
    # A peer's claim of a `local` post is no local post: nobody sees it through that rule
    assert seen_by(local_user=True, local_post=False) == anyone
    assert [a for a in ALL if a.rules.listed] == [Audience.PUBLIC, Audience.ORGANIZATION, Audience.LOCAL]


def test_mastodons_four_visibilities() -> None:
    assert {a: a.rules.mastodon for a in Audience} == {
        Audience.PUBLIC: "public",
        Audience.UNLISTED: "unlisted",
        Audience.FOLLOWERS: "private",
        Audience.DIRECT: "direct",
        Audience.ORGANIZATION: "unlisted",
        Audience.LOCAL: "unlisted",
    }
    # A client may ask in Mastodon's words or Atrium's own, and nothing else
    assert Audience.from_mastodon("private") is Audience.FOLLOWERS
    assert all(Audience.from_mastodon(a.value) is a for a in Audience)
    assert Audience.from_mastodon("everyone") is None
    assert Audience.mastodon_words() == (
        "public",
        "unlisted",
        "private",
        "followers",
        "direct",
        "organization",
        "local",
    )


def test_a_word_that_is_no_audience_is_a_bad_request() -> None:
    with pytest.raises(Invalid) as refused:
        Audience.parse("everyone")
    assert refused.value.status == 422
    assert "unknown visibility 'everyone': one of public, unlisted, followers, direct, organization, local" in str(
        refused.value.reason
    )


@pytest.mark.parametrize("audience", [a for a in Audience if a.federates])
def test_activitypub_addressing_round_trip(audience: Audience) -> None:
    # Given a post of the audience mentioning bob, addressed as we send it
    sent = audience.address(FOLLOWERS, [BOB])
    # When a peer reads the addressing back
    read = Audience.addressed(sent.to, sent.cc, FOLLOWERS, sent.scope)
    # Then it is the same audience
    assert read is audience


def test_activitypub_addressing_on_the_wire() -> None:
    # Exactly the to/cc sent before the audiences were typed
    assert Audience.PUBLIC.address(FOLLOWERS, [BOB]).to == (PUBLIC,)
    assert Audience.PUBLIC.address(FOLLOWERS, [BOB]).cc == (FOLLOWERS, BOB)
    assert Audience.UNLISTED.address(FOLLOWERS, [BOB]).cc == (PUBLIC, BOB)
    assert Audience.DIRECT.address(FOLLOWERS, [BOB, BOB]).to == (BOB,)
    org = Audience.ORGANIZATION.address(FOLLOWERS, [BOB])
    assert (org.to, org.cc, org.scope) == ((FOLLOWERS,), (BOB,), "organization")
    with pytest.raises(NotFederated):
        Audience.LOCAL.address(FOLLOWERS, [BOB])
    # A boost is to Public only for a public post; a Delete names Public for what anyone saw
    assert Audience.PUBLIC.announce_addressing(FOLLOWERS, BOB).to == (PUBLIC,)
    assert Audience.UNLISTED.announce_addressing(FOLLOWERS, BOB).to == (FOLLOWERS,)
    assert Audience.ORGANIZATION.announce_addressing(FOLLOWERS, None).cc == (FOLLOWERS,)
    assert [a for a in ALL if a.delete_addressing().to == (PUBLIC,)] == [Audience.PUBLIC, Audience.UNLISTED]


def test_only_the_organisation_speaks_for_the_organisation() -> None:
    # A received `organization` post from a peer not trusted as organization is kept to followers
    assert Audience.ORGANIZATION.as_claimed_by(Trust.ORGANIZATION) is Audience.ORGANIZATION
    for trust in (Trust.PARTNER, Trust.PUBLIC, Trust.LIMITED):
        assert Audience.ORGANIZATION.as_claimed_by(trust) is Audience.FOLLOWERS
    # Other claims stand as made
    assert all(a.as_claimed_by(Trust.LIMITED) is a for a in ALL if a is not Audience.ORGANIZATION)


def test_trust_levels_are_their_own_type() -> None:
    assert [t.value for t in Trust] == ["organization", "partner", "public", "limited", "blocked"]
    assert [t.rank for t in Trust] == [4, 3, 2, 1, 0]
    assert Trust.PUBLIC == Audience.PUBLIC  # the same word on the wire ...
    assert Trust.PUBLIC is not Audience.PUBLIC  # ... of two different types
    # The policy types what its file (or a caller) wrote
    assert PeerRule("x.example", "partner").trust is Trust.PARTNER  # type: ignore[arg-type]
