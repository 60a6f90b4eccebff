"""Our attachments at the boundary, going out — over real HTTP to fake peers that record what
they receive, on every engine: the note carries them as Mastodon sends them; `withhold_media`
keeps them from a peer (the text still goes), at fan-out and again at delivery; content rules
read alt text and file names; a peer's signed fetch of the note is held the same way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

from sqlalchemy import update

from node import posts
from node.policy import ContentRule, Policy
from node.posts import NewPost
from storage.media_store import new_key
from storage.models import Account, Follow, Post
from storage.models.media import MediaAttachment, MediaKind, MediaState
from tests.policy.harness import Net, network
from tests.policy.test_delivery_recheck import audit_out, deliver, fan_out

CONFIDENTIAL = ContentRule("confidential", "(?i)confidential", "organization")
BLURHASH = "LEHV6nWB2yk8pyo0adR*.7kCMdnj"


@asynccontextmanager
async def net_of(database_url: str, rules: tuple[ContentRule, ...] = ()) -> AsyncIterator[Net]:
    async with network(database_url, rules) as net:
        yield net


async def followed_by(net: Net, author: Account, *trusts: str) -> None:
    """`author` followed by one account on each peer of `trusts`."""
    followers = [await net.remote(trust, f"fol{n}") for n, trust in enumerate(trusts)]
    async with net.ctx.db.session() as s:
        for fol in followers:
            s.add(Follow(follower_id=fol.id, target_id=author.id, state="accepted", uri=f"{fol.actor_uri}/follows/1"))


async def post_with_media(net: Net, author: Account, text: str, *, alt: str = "A chart", file_name: str | None = None,
                          visibility: str = "public") -> tuple[Post, MediaAttachment]:
    """A post with one ready picture attached (its row made as an upload would leave it)."""
    post = await posts.create_post(net.ctx, author, NewPost(text, visibility=visibility))
    async with net.ctx.db.session() as s:
        row = MediaAttachment(account_id=author.id, post_id=post.id, position=0, kind=MediaKind.IMAGE,
                              state=MediaState.READY, content_type="image/png", file_name=file_name,
                              size_bytes=1234, storage_key=new_key("png"), width=800, height=600,
                              focus_x=0.1, focus_y=-0.2, description=alt, blurhash=BLURHASH)
        s.add(row)
    return post, row


def creates(net: Net, trust: str) -> list[dict[str, object]]:
    """The notes of the Creates the peer of `trust` received."""
    return [a["object"] for a in net.peers[trust].received if a.get("type") == "Create"]  # type: ignore[misc]


def with_rule(policy: Policy, domain: str, **change: object) -> Policy:
    return replace(policy, peers=tuple(replace(r, **change) if r.pattern == domain else r for r in policy.peers))  # type: ignore[arg-type]


async def test_attachments_go_as_mastodon_sends_them_and_are_withheld_where_the_policy_says(database_url: str) -> None:
    async with net_of(database_url) as net:
        # Given ada followed on the public and partner peers, the partner's rule withholding media
        partner = net.peers["partner"].domain
        net.ctx.policy = lambda: with_rule(net.policy, partner, withhold_media=True)
        ada = await net.local("ada")
        await followed_by(net, ada, "public", "partner")
        # When she posts a picture with alt text, and the workers run
        post, row = await post_with_media(net, ada, "Q3 numbers")
        await net.drain()
        # Then the public peer received it with the attachment, as Mastodon sends it
        [note] = creates(net, "public")
        assert note["attachment"] == [{
            "type": "Document", "mediaType": "image/png", "url": f"{net.ctx.base_url}/media/{row.storage_key}",
            "name": "A chart", "blurhash": BLURHASH, "focalPoint": [0.1, -0.2], "width": 800, "height": 600,
        }]
        # And the partner received the text without it
        [bare] = creates(net, "partner")
        assert "attachment" not in bare and "Q3 numbers" in str(bare["content"])
        # And the audit trail says so, with the rule
        [entry] = await audit_out(net, "rewritten")
        assert (entry.peer, entry.object, entry.rule) == (partner, post.uri, f'peers."{partner}".withhold_media')


async def test_a_withholding_added_after_fan_out_holds_at_delivery(database_url: str) -> None:
    async with net_of(database_url) as net:
        # Given ada's picture queued for a follower on the public peer, media allowed at fan-out
        public = net.peers["public"].domain
        ada = await net.local("ada")
        await followed_by(net, ada, "public")
        post, _ = await post_with_media(net, ada, "team photo")
        await fan_out(net)
        # When the operator withholds media from that peer before the delivery runs
        net.ctx.policy = lambda: with_rule(net.policy, public, withhold_media=True)
        assert await deliver(net) == 1
        # Then the peer got the text and no attachment, and the trail says it was decided at delivery
        [note] = creates(net, "public")
        assert "attachment" not in note and "team photo" in str(note["content"])
        [entry] = await audit_out(net, "rewritten")
        assert entry.rule == f'peers."{public}".withhold_media' and "(at delivery)" in entry.reason


async def test_content_rules_read_alt_text_and_file_names(database_url: str) -> None:
    async with net_of(database_url, (CONFIDENTIAL,)) as net:
        # Given ada followed on the organization and partner peers
        ada = await net.local("ada")
        await followed_by(net, ada, "organization", "partner")
        # When she posts harmless text with a picture described as confidential, and a file so named
        by_alt, _ = await post_with_media(net, ada, "see attached", alt="Confidential: merger plan")
        by_name, _ = await post_with_media(net, ada, "the deck", alt="", file_name="CONFIDENTIAL-deck.pdf")
        await fan_out(net)  # one after the other: each fan-out audits a refusal
        await deliver(net)
        # Then neither reached the partner, each refused by the rule; the organization got both
        assert creates(net, "partner") == []
        refused = await audit_out(net)
        assert sorted((e.object, e.rule) for e in refused) == sorted(
            [(by_alt.uri, 'rules."confidential"'), (by_name.uri, 'rules."confidential"')])
        assert len(creates(net, "organization")) == 2


async def test_alt_text_changed_after_fan_out_is_judged_at_delivery(database_url: str) -> None:
    async with net_of(database_url, (CONFIDENTIAL,)) as net:
        # Given ada's picture queued for the partner peer with harmless alt text
        ada = await net.local("ada")
        await followed_by(net, ada, "partner")
        post, row = await post_with_media(net, ada, "photo", alt="A whiteboard")
        await fan_out(net)
        # When its alt text is changed to something confidential before the delivery runs
        async with net.ctx.db.session() as s:
            await s.execute(update(MediaAttachment).where(MediaAttachment.id == row.id)
                            .values(description="confidential numbers on a whiteboard"))
        await deliver(net)
        # Then the delivery is refused by the content rule, at delivery
        assert creates(net, "partner") == []
        [entry] = await audit_out(net)
        assert (entry.object, entry.rule) == (post.uri, 'rules."confidential"') and "(at delivery)" in entry.reason


async def test_a_signed_fetch_by_a_withheld_peer_gets_no_attachments(database_url: str) -> None:
    async with net_of(database_url) as net:
        # Given ada's public picture, and media withheld from the partner peer
        partner = net.peers["partner"].domain
        net.ctx.policy = lambda: with_rule(net.policy, partner, withhold_media=True)
        ada = await net.local("ada")
        post, _ = await post_with_media(net, ada, "public picture")
        await net.remote("partner", "reader")
        await net.remote("public", "reader")
        # When each peer fetches the note, signed
        _, withheld = await net.get(str(post.uri), as_peer="partner", as_actor="reader")
        _, whole = await net.get(str(post.uri), as_peer="public", as_actor="reader")
        # Then the partner's copy has the text without the attachment; the public peer's has it
        assert withheld is not None and "attachment" not in withheld and "public picture" in str(withheld["content"])
        assert whole is not None and len(whole["attachment"]) == 1  # type: ignore[arg-type]
