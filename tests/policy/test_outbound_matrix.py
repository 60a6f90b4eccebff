"""The outbound matrix: every visibility × every trust level × every way out, judged by what
actually crossed the wire.

One node runs in-process with real HTTP on loopback; six fake peer servers stand for the six
columns (organization, partner, public, limited, blocked, and a domain the allowlist does not
name). The fan-out and delivery workers really POST to the peers; the peers really sign their
fetches. The scenario runs once per database engine and records, for each cell, whether the
post (or the boost, reply, edit, deletion of it) reached that peer; `OUTBOUND` below says, by
hand, whether it may. The policy names each peer with its trust (allowlist mode) and has two
content rules: `confidential` (below organization) and `embargo` (below partner).

Ways out:
- follower:        a post fanned out to its author's follower on the peer
- mention:         a post fanned out to an account on the peer that it mentions
- boost:           a local user boosts the post; the Announce goes to the booster's follower there
- reply:           a local user replies (asking for `public`) to the post; the reply goes to the
                   replier's follower there — the content column is the reply's own text
- edit:            the post of (b) is edited; the Update goes to the account it mentions there —
                   the content column is the edited text (the original was plain)
- delete:          the post of (a) is deleted; the Delete goes to its author's follower there
                   (plain text only: a Delete carries no text)
- fetch_follower:  the author's follower on the peer fetches the note, signed
- fetch_mentioned: the account on the peer that the note mentions fetches it, signed
- outbox:          the peer's follower fetches the author's outbox page, signed
- media_follower:  the follower of fetch_follower fetches the picture attached to that post
                   (`/media/<key>`), signed
- media_mentioned: the account of fetch_mentioned fetches the picture attached to that post, signed

The media column: a post's attachment crosses exactly as the post does. Its rows are the
fetch rows (`MEDIA_WAYS`), so the table still says by hand who may have it; and the open web's
bare `/media/<key>` is the open web's fetch of the note (ANONYMOUS). Local readers of media
(sessions, tokens, signed URLs, expired and forged signatures): tests/security/test_media_boundary.py.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from node import communities, interactions, posts
from node.media_urls import MEDIA_PATH
from node.policy import ContentRule
from node.posts import NewPost
from storage.errors import Invalid, NotFound
from storage.models import Account, AuditEntry, Follow, Post
from tests.conftest import ENGINES
from tests.media_files import PNG, stored_media
from tests.policy.harness import TRUSTS, Net, database_url, network

VISIBILITIES = ("public", "unlisted", "followers", "direct", "organization", "local")
CONTENTS = ("plain", "confidential", "embargoed")
SUFFIX = {"plain": "", "confidential": " Attached: the CONFIDENTIAL roadmap.", "embargoed": " EMBARGOED until the launch."}


def rules() -> tuple[ContentRule, ...]:
    """As policy.toml says it: [[rules]] name = "confidential", pattern = "(?i)confidential",
    below = "organization"; and name = "embargo", pattern = "(?i)embargoed", below = "partner".
    (Made when the scenario runs, not at import: mutation testing must see them built.)"""
    return ContentRule("confidential", "(?i)confidential", "organization"), ContentRule("embargo", "(?i)embargoed", "partner")

Y, N = True, False

# (way, visibility, content) -> crossed to (organization, partner, public, limited, blocked, unknown).
# Written out by hand from docs/policy.md ("Trust levels", "Audiences across the boundary") and
# docs/architecture.md ("Audiences and jobs", "The life of an outbound post").
# fmt: off
OUTBOUND: dict[tuple[str, str, str], tuple[bool, bool, bool, bool, bool, bool]] = {
    #                                             org partner public limited blocked unknown
    # (a) fan-out to the author's follower on the peer
    ("follower", "public", "plain"):               (Y, Y, Y, Y, N, N),
    ("follower", "unlisted", "plain"):             (Y, Y, Y, Y, N, N),
    ("follower", "followers", "plain"):            (Y, Y, Y, Y, N, N),
    ("follower", "direct", "plain"):               (N, N, N, N, N, N),  # mentions no one: no audience
    ("follower", "organization", "plain"):         (Y, N, N, N, N, N),
    ("follower", "local", "plain"):                (N, N, N, N, N, N),
    ("follower", "public", "confidential"):        (Y, N, N, N, N, N),
    ("follower", "unlisted", "confidential"):      (Y, N, N, N, N, N),
    ("follower", "followers", "confidential"):     (Y, N, N, N, N, N),
    ("follower", "direct", "confidential"):        (N, N, N, N, N, N),
    ("follower", "organization", "confidential"):  (Y, N, N, N, N, N),
    ("follower", "local", "confidential"):         (N, N, N, N, N, N),
    ("follower", "public", "embargoed"):           (Y, Y, N, N, N, N),
    ("follower", "unlisted", "embargoed"):         (Y, Y, N, N, N, N),
    ("follower", "followers", "embargoed"):        (Y, Y, N, N, N, N),
    ("follower", "direct", "embargoed"):           (N, N, N, N, N, N),
    ("follower", "organization", "embargoed"):     (Y, N, N, N, N, N),
    ("follower", "local", "embargoed"):            (N, N, N, N, N, N),
    # (b) fan-out to an account on the peer that the post mentions
    ("mention", "public", "plain"):                (Y, Y, Y, Y, N, N),
    ("mention", "unlisted", "plain"):              (Y, Y, Y, Y, N, N),
    ("mention", "followers", "plain"):             (Y, Y, Y, Y, N, N),
    ("mention", "direct", "plain"):                (Y, Y, Y, Y, N, N),
    ("mention", "organization", "plain"):          (Y, N, N, N, N, N),
    ("mention", "local", "plain"):                 (N, N, N, N, N, N),
    ("mention", "public", "confidential"):         (Y, N, N, N, N, N),
    ("mention", "unlisted", "confidential"):       (Y, N, N, N, N, N),
    ("mention", "followers", "confidential"):      (Y, N, N, N, N, N),
    ("mention", "direct", "confidential"):         (Y, N, N, N, N, N),
    ("mention", "organization", "confidential"):   (Y, N, N, N, N, N),
    ("mention", "local", "confidential"):          (N, N, N, N, N, N),
    ("mention", "public", "embargoed"):            (Y, Y, N, N, N, N),
    ("mention", "unlisted", "embargoed"):          (Y, Y, N, N, N, N),
    ("mention", "followers", "embargoed"):         (Y, Y, N, N, N, N),
    ("mention", "direct", "embargoed"):            (Y, Y, N, N, N, N),
    ("mention", "organization", "embargoed"):      (Y, N, N, N, N, N),
    ("mention", "local", "embargoed"):             (N, N, N, N, N, N),
    # (c) a local user boosts the post; the Announce goes to the booster's follower on the peer
    ("boost", "public", "plain"):                  (Y, Y, Y, Y, N, N),
    ("boost", "unlisted", "plain"):                (Y, Y, Y, Y, N, N),
    ("boost", "followers", "plain"):               (N, N, N, N, N, N),  # cannot be boosted
    ("boost", "direct", "plain"):                  (N, N, N, N, N, N),  # cannot be boosted
    ("boost", "organization", "plain"):            (Y, N, N, N, N, N),
    ("boost", "local", "plain"):                   (N, N, N, N, N, N),
    ("boost", "public", "confidential"):           (Y, N, N, N, N, N),
    ("boost", "unlisted", "confidential"):         (Y, N, N, N, N, N),
    ("boost", "followers", "confidential"):        (N, N, N, N, N, N),
    ("boost", "direct", "confidential"):           (N, N, N, N, N, N),
    ("boost", "organization", "confidential"):     (Y, N, N, N, N, N),
    ("boost", "local", "confidential"):            (N, N, N, N, N, N),
    ("boost", "public", "embargoed"):              (Y, Y, N, N, N, N),
    ("boost", "unlisted", "embargoed"):            (Y, Y, N, N, N, N),
    ("boost", "followers", "embargoed"):           (N, N, N, N, N, N),
    ("boost", "direct", "embargoed"):              (N, N, N, N, N, N),
    ("boost", "organization", "embargoed"):        (Y, N, N, N, N, N),
    ("boost", "local", "embargoed"):               (N, N, N, N, N, N),
    # (d) a local user replies, asking for `public`, to a post of this visibility; the reply
    # goes to the replier's follower on the peer. A reply to an organization or local post is
    # narrowed to its parent's audience; to others it is the replier's own public post.
    ("reply", "public", "plain"):                  (Y, Y, Y, Y, N, N),
    ("reply", "unlisted", "plain"):                (Y, Y, Y, Y, N, N),
    ("reply", "followers", "plain"):               (Y, Y, Y, Y, N, N),
    ("reply", "direct", "plain"):                  (Y, Y, Y, Y, N, N),
    ("reply", "organization", "plain"):            (Y, N, N, N, N, N),
    ("reply", "local", "plain"):                   (N, N, N, N, N, N),
    ("reply", "public", "confidential"):           (Y, N, N, N, N, N),
    ("reply", "unlisted", "confidential"):         (Y, N, N, N, N, N),
    ("reply", "followers", "confidential"):        (Y, N, N, N, N, N),
    ("reply", "direct", "confidential"):           (Y, N, N, N, N, N),
    ("reply", "organization", "confidential"):     (Y, N, N, N, N, N),
    ("reply", "local", "confidential"):            (N, N, N, N, N, N),
    ("reply", "public", "embargoed"):              (Y, Y, N, N, N, N),
    ("reply", "unlisted", "embargoed"):            (Y, Y, N, N, N, N),
    ("reply", "followers", "embargoed"):           (Y, Y, N, N, N, N),
    ("reply", "direct", "embargoed"):              (Y, Y, N, N, N, N),
    ("reply", "organization", "embargoed"):        (Y, N, N, N, N, N),
    ("reply", "local", "embargoed"):               (N, N, N, N, N, N),
    # an edit (Update) of the post of (b)
    ("edit", "public", "plain"):                   (Y, Y, Y, Y, N, N),
    ("edit", "unlisted", "plain"):                 (Y, Y, Y, Y, N, N),
    ("edit", "followers", "plain"):                (Y, Y, Y, Y, N, N),
    ("edit", "direct", "plain"):                   (Y, Y, Y, Y, N, N),
    ("edit", "organization", "plain"):             (Y, N, N, N, N, N),
    ("edit", "local", "plain"):                    (N, N, N, N, N, N),
    ("edit", "public", "confidential"):            (Y, N, N, N, N, N),  # the plain original went out;
    ("edit", "unlisted", "confidential"):          (Y, N, N, N, N, N),  # an edit that adds the
    ("edit", "followers", "confidential"):         (Y, N, N, N, N, N),  # pattern does not
    ("edit", "direct", "confidential"):            (Y, N, N, N, N, N),
    ("edit", "organization", "confidential"):      (Y, N, N, N, N, N),
    ("edit", "local", "confidential"):             (N, N, N, N, N, N),
    ("edit", "public", "embargoed"):               (Y, Y, N, N, N, N),
    ("edit", "unlisted", "embargoed"):             (Y, Y, N, N, N, N),
    ("edit", "followers", "embargoed"):            (Y, Y, N, N, N, N),
    ("edit", "direct", "embargoed"):               (Y, Y, N, N, N, N),
    ("edit", "organization", "embargoed"):         (Y, N, N, N, N, N),
    ("edit", "local", "embargoed"):                (N, N, N, N, N, N),
    # the Delete of the post of (a)
    ("delete", "public", "plain"):                 (Y, Y, Y, Y, N, N),
    ("delete", "unlisted", "plain"):               (Y, Y, Y, Y, N, N),
    ("delete", "followers", "plain"):              (Y, Y, Y, Y, N, N),
    ("delete", "direct", "plain"):                 (N, N, N, N, N, N),  # no audience, as in (a)
    ("delete", "organization", "plain"):           (Y, N, N, N, N, N),
    ("delete", "local", "plain"):                  (N, N, N, N, N, N),
    # (e) the author's follower on the peer fetches the note, signed
    ("fetch_follower", "public", "plain"):              (Y, Y, Y, Y, N, N),
    ("fetch_follower", "unlisted", "plain"):            (Y, Y, Y, Y, N, N),
    ("fetch_follower", "followers", "plain"):           (Y, Y, Y, Y, N, N),
    ("fetch_follower", "direct", "plain"):              (N, N, N, N, N, N),  # not in its audience
    ("fetch_follower", "organization", "plain"):        (Y, N, N, N, N, N),
    ("fetch_follower", "local", "plain"):               (N, N, N, N, N, N),
    ("fetch_follower", "public", "confidential"):       (Y, N, N, N, N, N),
    ("fetch_follower", "unlisted", "confidential"):     (Y, N, N, N, N, N),
    ("fetch_follower", "followers", "confidential"):    (Y, N, N, N, N, N),
    ("fetch_follower", "direct", "confidential"):       (N, N, N, N, N, N),
    ("fetch_follower", "organization", "confidential"): (Y, N, N, N, N, N),
    ("fetch_follower", "local", "confidential"):        (N, N, N, N, N, N),
    ("fetch_follower", "public", "embargoed"):          (Y, Y, N, N, N, N),
    ("fetch_follower", "unlisted", "embargoed"):        (Y, Y, N, N, N, N),
    ("fetch_follower", "followers", "embargoed"):       (Y, Y, N, N, N, N),
    ("fetch_follower", "direct", "embargoed"):          (N, N, N, N, N, N),
    ("fetch_follower", "organization", "embargoed"):    (Y, N, N, N, N, N),
    ("fetch_follower", "local", "embargoed"):           (N, N, N, N, N, N),
    # (e) the account on the peer that the note mentions fetches it, signed
    ("fetch_mentioned", "public", "plain"):              (Y, Y, Y, Y, N, N),
    ("fetch_mentioned", "unlisted", "plain"):            (Y, Y, Y, Y, N, N),
    ("fetch_mentioned", "followers", "plain"):           (Y, Y, Y, Y, N, N),
    ("fetch_mentioned", "direct", "plain"):              (Y, Y, Y, Y, N, N),
    ("fetch_mentioned", "organization", "plain"):        (Y, N, N, N, N, N),
    ("fetch_mentioned", "local", "plain"):               (N, N, N, N, N, N),
    ("fetch_mentioned", "public", "confidential"):       (Y, N, N, N, N, N),
    ("fetch_mentioned", "unlisted", "confidential"):     (Y, N, N, N, N, N),
    ("fetch_mentioned", "followers", "confidential"):    (Y, N, N, N, N, N),
    ("fetch_mentioned", "direct", "confidential"):       (Y, N, N, N, N, N),
    ("fetch_mentioned", "organization", "confidential"): (Y, N, N, N, N, N),
    ("fetch_mentioned", "local", "confidential"):        (N, N, N, N, N, N),
    ("fetch_mentioned", "public", "embargoed"):          (Y, Y, N, N, N, N),
    ("fetch_mentioned", "unlisted", "embargoed"):        (Y, Y, N, N, N, N),
    ("fetch_mentioned", "followers", "embargoed"):       (Y, Y, N, N, N, N),
    ("fetch_mentioned", "direct", "embargoed"):          (Y, Y, N, N, N, N),
    ("fetch_mentioned", "organization", "embargoed"):    (Y, N, N, N, N, N),
    ("fetch_mentioned", "local", "embargoed"):           (N, N, N, N, N, N),
    # (f) the author's outbox page, fetched signed by the follower on the peer: public posts only
    ("outbox", "public", "plain"):                 (Y, Y, Y, Y, N, N),
    ("outbox", "unlisted", "plain"):               (N, N, N, N, N, N),
    ("outbox", "followers", "plain"):              (N, N, N, N, N, N),
    ("outbox", "direct", "plain"):                 (N, N, N, N, N, N),
    ("outbox", "organization", "plain"):           (N, N, N, N, N, N),
    ("outbox", "local", "plain"):                  (N, N, N, N, N, N),
    ("outbox", "public", "confidential"):          (Y, N, N, N, N, N),
    ("outbox", "unlisted", "confidential"):        (N, N, N, N, N, N),
    ("outbox", "followers", "confidential"):       (N, N, N, N, N, N),
    ("outbox", "direct", "confidential"):          (N, N, N, N, N, N),
    ("outbox", "organization", "confidential"):    (N, N, N, N, N, N),
    ("outbox", "local", "confidential"):           (N, N, N, N, N, N),
    ("outbox", "public", "embargoed"):             (Y, Y, N, N, N, N),
    ("outbox", "unlisted", "embargoed"):           (N, N, N, N, N, N),
    ("outbox", "followers", "embargoed"):          (N, N, N, N, N, N),
    ("outbox", "direct", "embargoed"):             (N, N, N, N, N, N),
    ("outbox", "organization", "embargoed"):       (N, N, N, N, N, N),
    ("outbox", "local", "embargoed"):              (N, N, N, N, N, N),
}
# fmt: on

# An unsigned reader (the open web: trust `public`): (way, visibility, content) -> served, by hand.
# fmt: off
ANONYMOUS: dict[tuple[str, str, str], bool] = {
    ("fetch", "public", "plain"): Y,        ("outbox", "public", "plain"): Y,
    ("fetch", "unlisted", "plain"): Y,      ("outbox", "unlisted", "plain"): N,
    ("fetch", "followers", "plain"): N,     ("outbox", "followers", "plain"): N,
    ("fetch", "direct", "plain"): N,        ("outbox", "direct", "plain"): N,
    ("fetch", "organization", "plain"): N,  ("outbox", "organization", "plain"): N,
    ("fetch", "local", "plain"): N,         ("outbox", "local", "plain"): N,
    ("fetch", "public", "confidential"): N,        ("outbox", "public", "confidential"): N,
    ("fetch", "unlisted", "confidential"): N,      ("outbox", "unlisted", "confidential"): N,
    ("fetch", "followers", "confidential"): N,     ("outbox", "followers", "confidential"): N,
    ("fetch", "direct", "confidential"): N,        ("outbox", "direct", "confidential"): N,
    ("fetch", "organization", "confidential"): N,  ("outbox", "organization", "confidential"): N,
    ("fetch", "local", "confidential"): N,         ("outbox", "local", "confidential"): N,
    ("fetch", "public", "embargoed"): N,        ("outbox", "public", "embargoed"): N,
    ("fetch", "unlisted", "embargoed"): N,      ("outbox", "unlisted", "embargoed"): N,
    ("fetch", "followers", "embargoed"): N,     ("outbox", "followers", "embargoed"): N,
    ("fetch", "direct", "embargoed"): N,        ("outbox", "direct", "embargoed"): N,
    ("fetch", "organization", "embargoed"): N,  ("outbox", "organization", "embargoed"): N,
    ("fetch", "local", "embargoed"): N,         ("outbox", "local", "embargoed"): N,
}
# fmt: on

# The media column (node/media_access.py): the attachment of a post is fetched exactly as the
# post is, by every reader.
MEDIA_WAYS = {"media_follower": "fetch_follower", "media_mentioned": "fetch_mentioned"}
OUTBOUND |= {(media, v, c): OUTBOUND[fetch, v, c] for media, fetch in MEDIA_WAYS.items()
             for v in VISIBILITIES for c in CONTENTS}
ANONYMOUS |= {("media", v, c): ANONYMOUS["fetch", v, c] for v in VISIBILITIES for c in CONTENTS}

# The community column: a community of each audience a community may have (node/communities.py),
# with a member on every peer. `community_reshare`: a post written to it by a local member; the
# community's re-share (an Announce, FEP-1b12) goes to the member there. `community_actor`: the
# peer fetches the community's Group actor, signed. By hand, from docs/policy.md and the
# communities' rule: anything of a community crosses where its audience would.
COMMUNITY_AUDIENCES = ("public", "unlisted", "organization", "local")
# fmt: off
COMMUNITY: dict[tuple[str, str, str], tuple[bool, bool, bool, bool, bool, bool]] = {
    #                                                       org partner public limited blocked unknown
    ("community_reshare", "public", "plain"):                (Y, Y, Y, Y, N, N),
    ("community_reshare", "unlisted", "plain"):              (Y, Y, Y, Y, N, N),
    ("community_reshare", "organization", "plain"):          (Y, N, N, N, N, N),
    ("community_reshare", "local", "plain"):                 (N, N, N, N, N, N),
    ("community_reshare", "public", "confidential"):         (Y, N, N, N, N, N),
    ("community_reshare", "unlisted", "confidential"):       (Y, N, N, N, N, N),
    ("community_reshare", "organization", "confidential"):   (Y, N, N, N, N, N),
    ("community_reshare", "local", "confidential"):          (N, N, N, N, N, N),
    ("community_reshare", "public", "embargoed"):            (Y, Y, N, N, N, N),
    ("community_reshare", "unlisted", "embargoed"):          (Y, Y, N, N, N, N),
    ("community_reshare", "organization", "embargoed"):      (Y, N, N, N, N, N),
    ("community_reshare", "local", "embargoed"):             (N, N, N, N, N, N),
    ("community_actor", "public", "plain"):                  (Y, Y, Y, Y, N, N),
    ("community_actor", "unlisted", "plain"):                (Y, Y, Y, Y, N, N),
    ("community_actor", "organization", "plain"):            (Y, N, N, N, N, N),
    ("community_actor", "local", "plain"):                   (N, N, N, N, N, N),
}
# An unsigned reader of the community's actor: the open web, as for its posts.
COMMUNITY_ANONYMOUS: dict[tuple[str, str, str], bool] = {
    ("community_actor", "public", "plain"): Y,
    ("community_actor", "unlisted", "plain"): Y,
    ("community_actor", "organization", "plain"): N,
    ("community_actor", "local", "plain"): N,
}
# fmt: on

# Cells where the node does not do what the table says, each with why. The test fails when a
# cell here starts to match (remove it then) or when any other cell does not.
KNOWN_GAPS: dict[tuple[str, str, str, str], str] = {}

# (visibility, trust, way, content) -> crossed: the rows above, cell by cell.
EXPECTED = {
    (visibility, trust, way, content): row[column]
    for (way, visibility, content), row in OUTBOUND.items()
    for column, trust in enumerate(TRUSTS)
}


def mark(way: str, visibility: str, content: str) -> str:
    """A word that appears in one post's text only, to find it on the wire."""
    return f"mk_{way}_{visibility}_{content}_km"


@dataclass
class Wire:
    crossed: dict[tuple[str, str, str, str], bool] = field(default_factory=dict)
    anonymous: dict[tuple[str, str, str], bool] = field(default_factory=dict)
    requests: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # trust -> what the node asked of that peer
    refused: dict[tuple[str, str], set[tuple[str, str]]] = field(default_factory=dict)  # (trust, object) -> {(rule, reason)} refused (audit trail)
    domains: dict[str, str] = field(default_factory=dict)  # trust -> the peer's domain
    follower_posts: dict[tuple[str, str], str] = field(default_factory=dict)  # (visibility, content) -> URI of way (a)'s post
    originals_seen: dict[str, int] = field(default_factory=dict)  # trust -> copies of the boosted posts' text received
    community: dict[tuple[str, str, str, str], bool] = field(default_factory=dict)  # (audience, trust, way, content)
    community_anonymous: dict[tuple[str, str, str], bool] = field(default_factory=dict)


async def _follow(net: Net, follower: Account, target: Account) -> None:
    async with net.ctx.db.session() as s:
        s.add(Follow(follower_id=follower.id, target_id=target.id, state="accepted",
                     uri=f"{follower.actor_uri}/follows/{target.username}" if follower.actor_uri else None))


async def run_matrix(database: str) -> Wire:
    async with network(database, rules()) as net:
        ctx = net.ctx
        author = await net.local("ada")      # (a), (e), (f), delete: followed on every peer
        mentioner = await net.local("mei")   # (b), (e), edit: no remote followers; mentions men@ every peer
        origin = await net.local("ori")      # (c), (d): the posts boosted and replied to; no remote audience
        booster = await net.local("bo")
        replier = await net.local("rey")
        fols: dict[str, Account] = {}
        for trust in TRUSTS:
            fol = fols[trust] = await net.remote(trust, "fol")
            await net.remote(trust, "men")
            for followed in (author, booster, replier):
                await _follow(net, fol, followed)
        await _follow(net, booster, origin)  # so that both may see what they boost and reply to
        await _follow(net, replier, origin)
        everyone = " ".join(f"@men@{peer.domain}" for peer in net.peers.values())
        # The community column: one community per audience, cory and each peer's `fol` members.
        cory = await net.local("cory")
        groups = {aud: await communities.create_community(ctx, f"c{aud}", audience=aud, creator=cory)
                  for aud in COMMUNITY_AUDIENCES}
        for group in groups.values():
            for trust in TRUSTS:
                await _follow(net, fols[trust], group)
        written = {(aud, c): await posts.create_post(ctx, cory, NewPost(mark("community", aud, c) + SUFFIX[c],
                                                                          community_id=group.id))
                   for aud, group in groups.items() for c in CONTENTS}

        # Phase 1: the posts.
        a: dict[tuple[str, str], Post] = {}  # (a) follower; fetched (e) and listed (f); then deleted
        b: dict[tuple[str, str], Post] = {}  # (b) mention; fetched (e); then edited
        c_: dict[tuple[str, str], Post] = {}  # (c) boosted and (d) replied to
        for v in VISIBILITIES:
            for c in CONTENTS:
                a[v, c] = await posts.create_post(ctx, author, NewPost(mark("follower", v, c) + SUFFIX[c], visibility=v))
                b[v, c] = await posts.create_post(ctx, mentioner, NewPost(f"{mark('mention', v, c)} {everyone}{SUFFIX[c]}", visibility=v))
                c_[v, c] = await posts.create_post(ctx, origin, NewPost(f"{mark('boost', v, c)} @bo @rey{SUFFIX[c]}", visibility=v))
        # each post of (a) and (b) with a picture of its own
        pictures = {post.id: await stored_media(ctx, owner, PNG + str(post.id).encode(), post=post)
                    for owner, written in ((author, a), (mentioner, b)) for post in written.values()}
        await net.drain()

        wire = Wire()
        # Phase 2: the peers fetch, signed (and an unsigned reader), a few requests at a time.
        gate = asyncio.Semaphore(8)

        async def fetch(key: tuple[str, ...], post: Post, trust: str | None, actor: str) -> tuple[tuple[str, ...], bool]:
            async with gate:
                status, doc = await net.get(post.uri or "", as_peer=trust, as_actor=actor)
            return key, status == 200 and doc is not None and doc["id"] == post.uri

        async def picture(key: tuple[str, ...], post: Post, trust: str | None, actor: str) -> tuple[tuple[str, ...], bool]:
            row = pictures[post.id]
            async with gate:
                status, body = await net.get_bytes(f"{ctx.base_url}{MEDIA_PATH}{row.storage_key}", as_peer=trust, as_actor=actor)
            return key, status == 200 and body == PNG + str(post.id).encode()

        fetches = [fetch((v, trust, "fetch_follower", c), post, trust, "fol") for trust in TRUSTS for (v, c), post in a.items()]
        fetches += [picture((v, trust, "media_follower", c), post, trust, "fol") for trust in TRUSTS for (v, c), post in a.items()]
        fetches += [picture((v, trust, "media_mentioned", c), post, trust, "men") for trust in TRUSTS for (v, c), post in b.items()]
        fetches += [picture(("media", v, c), post, None, "") for (v, c), post in a.items()]
        fetches += [fetch((v, trust, "fetch_mentioned", c), post, trust, "men") for trust in TRUSTS for (v, c), post in b.items()]
        fetches += [fetch(("fetch", v, c), post, None, "") for (v, c), post in a.items()]
        for key, served in await asyncio.gather(*fetches):
            if len(key) == 4:
                wire.crossed[key] = served  # type: ignore[index]
            else:
                wire.anonymous[key] = served  # type: ignore[index]
        for aud, group in groups.items():
            for trust in (*TRUSTS, None):
                status, doc = await net.get(ctx.actor_uri(group.username), as_peer=trust, as_actor="fol")
                seen = status == 200 and doc is not None and doc.get("type") == "Group"
                if trust is None:
                    wire.community_anonymous["community_actor", aud, "plain"] = seen
                else:
                    wire.community[aud, trust, "community_actor", "plain"] = seen
        for trust in (*TRUSTS, None):
            outbox = await _outbox_ids(net, ctx.actor_uri("ada"), trust)
            for (v, c), post in a.items():
                if trust is None:
                    wire.anonymous["outbox", v, c] = post.uri in outbox
                else:
                    wire.crossed[v, trust, "outbox", c] = post.uri in outbox

        # Phase 3: boosts, replies, edits, deletions.
        for v in VISIBILITIES:
            for c in CONTENTS:
                try:
                    await interactions.boost(ctx, booster, c_[v, c].id)
                except (Invalid, NotFound):
                    pass  # not boostable: nothing may cross, which the table says
                await posts.create_post(ctx, replier, NewPost(mark("reply", v, c) + SUFFIX[c], visibility="public",
                                                              in_reply_to_id=c_[v, c].id))
                await posts.edit_post(ctx, mentioner, b[v, c].id, f"{mark('edit', v, c)} {everyone}{SUFFIX[c]}")
            await posts.delete_post(ctx, author, a[v, "plain"].id)
        await net.drain()

        for trust, peer in net.peers.items():
            got = peer.received
            dumps = [json.dumps(activity) for activity in got]
            announced = {str(activity.get("object")) for activity in got if activity.get("type") == "Announce"}
            deletes = {str(activity["object"]["id"]) for activity in got  # type: ignore[index]
                       if activity.get("type") == "Delete" and isinstance(activity.get("object"), dict)}
            for v in VISIBILITIES:
                for c in CONTENTS:
                    for way in ("follower", "mention", "reply", "edit"):
                        wire.crossed[v, trust, way, c] = any(mark(way, v, c) in d for d in dumps)
                    wire.crossed[v, trust, "boost", c] = c_[v, c].uri in announced
                wire.crossed[v, trust, "delete", "plain"] = a[v, "plain"].uri in deletes
            for (aud, c), post in written.items():
                wire.community[aud, trust, "community_reshare", c] = post.uri in announced
            # The boosted posts themselves never leave: their author has no audience out there.
            wire.originals_seen[trust] = sum(mark("boost", v, c) in d for d in dumps for v in VISIBILITIES for c in CONTENTS)

        wire.requests = {trust: list(peer.requests) for trust, peer in net.peers.items()}
        async with ctx.db.reader() as s:
            rows = (await s.execute(select(AuditEntry.peer, AuditEntry.object, AuditEntry.rule, AuditEntry.reason).where(
                AuditEntry.direction == "out", AuditEntry.decision == "refused"))).all()
        wire.domains = {trust: peer.domain for trust, peer in net.peers.items()}
        by_domain = {domain: trust for trust, domain in wire.domains.items()}
        for peer_domain, obj, rule, reason in rows:
            wire.refused.setdefault((by_domain[peer_domain], obj), set()).add((rule, reason))
        wire.follower_posts = {key: post.uri or "" for key, post in a.items()}
        return wire


async def _outbox_ids(net: Net, actor: str, trust: str | None) -> set[str]:
    status, page = await net.get(f"{actor}/outbox?page=true", as_peer=trust, as_actor="fol")
    if status != 200 or page is None:
        return set()  # refused: nothing crossed
    return {str(item["object"]["id"]) for item in page["orderedItems"]}  # type: ignore[index,union-attr]


@pytest.fixture(scope="module", params=ENGINES)
def wire(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Wire:
    """The whole scenario, once per engine (some 20 s on an idle machine): every test below
    reads its record."""
    return asyncio.run(run_matrix(database_url(str(request.param), request, tmp_path_factory)))


def _cell(cell: tuple[str, str, str, str]) -> str:
    visibility, trust, way, content = cell
    return f"{way:16} {visibility:12} {content:12} -> {trust}"


def test_what_crossed_the_wire_is_what_the_table_says(wire: Wire) -> None:
    # Keep this test first: it reads every cell (mutation testing credits the scenario to it).
    assert set(wire.crossed) == set(EXPECTED), "every cell of the table is observed, and only those"
    wrong = {cell for cell in EXPECTED if wire.crossed[cell] != EXPECTED[cell]}
    unexpected = sorted(wrong - set(KNOWN_GAPS))
    fixed = sorted(set(KNOWN_GAPS) - wrong)
    lines = [f"{_cell(c)}: table says {'crosses' if EXPECTED[c] else 'must not cross'}, "
             f"{'crossed' if wire.crossed[c] else 'did not cross'}" for c in unexpected]
    lines += [f"{_cell(c)}: now matches the table; remove it from KNOWN_GAPS" for c in fixed]
    assert not lines, "\n".join(lines)


def test_an_unsigned_reader_gets_public_posts_only(wire: Wire) -> None:
    wrong = {cell: served for cell, served in wire.anonymous.items() if served != ANONYMOUS[cell]}
    assert set(wire.anonymous) == set(ANONYMOUS) and wrong == {}


def test_a_boost_sends_the_post_by_reference_only(wire: Wire) -> None:
    # The booster's followers get an Announce naming the post, never its text: the boosted
    # posts' author has no audience on any peer, so their text reached none.
    assert wire.originals_seen == dict.fromkeys(TRUSTS, 0)


def test_blocked_and_unknown_peers_are_never_contacted(wire: Wire) -> None:
    assert wire.requests["blocked"] == []
    assert wire.requests["unknown"] == []


def test_the_node_only_ever_posted_to_inboxes(wire: Wire) -> None:
    # No fetch of a peer's actor, no stray request: deliveries are all that left the node.
    for trust in ("organization", "partner", "public", "limited"):
        assert wire.requests[trust] and set(wire.requests[trust]) == {("POST", "/inbox")}, trust


def test_refusals_are_in_the_audit_trail_with_the_rule_that_made_them(wire: Wire) -> None:
    # A few by hand: each refusal at fan-out (and of a signed fetch) names its peer, the object,
    # the rule of policy.toml that decided and why.
    d, uri = wire.domains, wire.follower_posts
    confidential = ('rules."confidential"', "the text matches 'confidential', kept from peers trusted below organization")
    embargo = ('rules."embargo"', "the text matches 'embargo', kept from peers trusted below partner")
    not_org = f"{d['partner']} is not trusted as organization"
    expected = {
        ("blocked", uri["public", "plain"]): {(f'peers."{d["blocked"]}"', f"{d['blocked']} is blocked")},
        ("unknown", uri["public", "plain"]): {("mode = allowlist (unknown domain)", f"{d['unknown']} is blocked")},
        ("partner", uri["organization", "plain"]): {(f'peers."{d["partner"]}"', not_org),
                                                     (f'peers."{d["partner"]}"', f"fetch: {not_org}")},
        ("partner", uri["public", "confidential"]): {confidential, (confidential[0], f"fetch: {confidential[1]}")},
        ("public", uri["public", "embargoed"]): {embargo, (embargo[0], f"fetch: {embargo[1]}")},
    }
    assert {key: wire.refused.get(key) for key in expected} == expected
    # and what was admitted was not refused
    for trust in ("organization", "partner", "public", "limited"):
        assert (trust, uri["public", "plain"]) not in wire.refused
    assert ("organization", uri["organization", "plain"]) not in wire.refused
    assert ("organization", uri["public", "confidential"]) not in wire.refused
    assert ("partner", uri["public", "embargoed"]) not in wire.refused


def test_a_community_crosses_where_its_audience_would(wire: Wire) -> None:
    expected = {(aud, trust, way, content): row[column] for (way, aud, content), row in COMMUNITY.items()
                for column, trust in enumerate(TRUSTS)}
    assert set(wire.community) == set(expected)
    wrong = [_cell(cell) for cell in expected if wire.community[cell] != expected[cell]]
    assert not wrong, "\n".join(wrong)
    assert wire.community_anonymous == COMMUNITY_ANONYMOUS
