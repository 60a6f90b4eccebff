"""A community's settings by form post over real HTTP (a node in-process, a browser's cookies):
its moderator changes its name, texts, mode and pictures, and its members on other nodes are
sent the `Update(Group)` — only those its audience admits; a member who is not a moderator is
refused, even with a valid form of their own; a picture that is not one is refused with the
reason and nothing of the change is written."""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from PIL import Image
from sqlalchemy import func, select

from node import accounts, actors, communities, remote
from node.outbox import handle_fanout
from node.policy import PeerRule, Policy
from node.workers import JobWorker
from storage.media_store import LocalStore
from storage.models import Account, Community, Follow, Job, MediaAttachment, utcnow
from tests.conftest import StartNode
from tests.factory import PASSWORD, LocalNode, fake_peer
from tests.federation.fake_peer import FakePeer
from tests.media_files import PDF, picture

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
Session = tuple[aiohttp.ClientSession, str]


@pytest.fixture
async def org_peer() -> AsyncIterator[FakePeer]:
    async with fake_peer("sam") as p:
        yield p


@pytest.fixture
async def partner() -> AsyncIterator[FakePeer]:
    async with fake_peer("pat") as p:
        yield p


@pytest.fixture
async def node(start_node: StartNode, org_peer: FakePeer, partner: FakePeer) -> LocalNode:
    policy = Policy(mode="allowlist", peers=(PeerRule(org_peer.domain, "organization"),
                                             PeerRule(partner.domain, "partner")))
    return await start_node(instance=True, users=("alice", "bob"), policy=policy)


async def signed_in(node: LocalNode, login: str) -> Session:
    http = aiohttp.ClientSession(base_url=node.url, cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get("/signin") as r:
        csrf = CSRF.search(await r.text())
    assert csrf is not None
    async with http.post("/signin", data={"login": login, "password": PASSWORD, "csrf": csrf.group(1)},
                         allow_redirects=False) as r:
        assert r.status == 303, await r.text()
    async with http.get("/") as r:
        csrf = CSRF.search(await r.text())
    assert csrf is not None
    return http, csrf.group(1)


@pytest.fixture
async def sessions(node: LocalNode) -> AsyncIterator[dict[str, Session]]:
    made = {name: await signed_in(node, name) for name in ("alice", "bob")}
    try:
        yield made
    finally:
        for http, _ in made.values():
            await http.close()


@pytest.fixture
async def guild(node: LocalNode) -> Account:
    """An organisation community alice moderates, bob is a member of (not a moderator)."""
    alice, bob = await accounts.get_local(node.ctx, "alice"), await accounts.get_local(node.ctx, "bob")
    group = await communities.create_community(node.ctx, "guild", audience="organization", display_name="Guild",
                                               description="Old words", rules="Be kind", creator=alice)
    await communities.join(node.ctx, bob, group.id)
    return group


def form(csrf: str, **fields: Any) -> aiohttp.FormData:
    data = aiohttp.FormData()
    values = {"csrf": csrf, "display_name": "Platform Guild", "description": "Builds the platform",
              "rules": "Be kind\nStay on topic", "mode": "approval", **fields}
    for name, value in values.items():
        if isinstance(value, bytes):
            data.add_field(name, value, filename=f"{name}.bin", content_type="application/octet-stream")
        else:
            data.add_field(name, value)
    return data


async def group_document(node: LocalNode) -> dict[str, Any]:
    """The community's actor document as this node serves it to a reader it admits (an
    organisation community is not for the open web: its serving is tests/federation's)."""
    return await actors.group_document(node.ctx, await accounts.get_local(node.ctx, "guild"))


def stored_files(node: LocalNode) -> set[str]:
    assert isinstance(node.ctx.media, LocalStore)
    return {p.name for p in node.ctx.media.root.rglob("*") if p.is_file()}


async def updates_to(node: LocalNode, domain: str) -> list[dict[str, Any]]:
    """The activities queued for delivery to `domain`, fan-outs run first."""
    worker = JobWorker(node.ctx.db, {"fanout": lambda job: handle_fanout(node.ctx, job)})
    while await worker.run_once():
        pass
    async with node.ctx.db.reader() as s:
        rows = (await s.scalars(select(Job).where(Job.queue == "deliver", Job.target == domain).order_by(Job.id))).all()
    bodies = [r.payload.decode() if isinstance(r.payload, bytes) else r.payload for r in rows]
    return [a for a in (json.loads(json.loads(b)["body"]) for b in bodies) if a["type"] == "Update"]


async def remote_member(node: LocalNode, peer: FakePeer, name: str, group: Account) -> None:
    """`name` on `peer` follows the community (as a member who joined before, whatever the
    policy says now: the fan-out must still ask it)."""
    account = await remote.actor_by_uri(node.ctx, peer.actor(name))
    async with node.ctx.db.session() as s:
        s.add(Follow(follower_id=account.id, target_id=group.id, state="accepted", created_at=utcnow(),
                     uri=f"{peer.actor(name)}/follows/1"))


async def test_a_moderator_changes_the_settings_and_members_nodes_the_audience_admits_get_the_update(
    node: LocalNode, sessions: dict[str, Session], guild: Account, org_peer: FakePeer, partner: FakePeer
) -> None:
    # Given the organisation community has members on an organisation peer and on a partner
    await remote_member(node, org_peer, "sam", guild)
    await remote_member(node, partner, "pat", guild)
    http, csrf = sessions["alice"]
    # And its page shows its moderator the way to its settings
    async with http.get("/communities/guild") as r:
        assert r.status == 200 and 'href="/communities/guild/settings"' in await r.text()
    # When alice saves new texts, a new mode, an avatar and a header (and tries to change its audience)
    async with http.post("/communities/guild/settings", allow_redirects=False, data=form(
            csrf, avatar=picture("PNG", (900, 600)), header=picture("JPEG", (3000, 1200)), audience="public")) as r:
        assert r.status == 303, await r.text()
        assert r.headers["Location"] == "/communities/guild/settings?done=1"
    # Then the community has them, and its audience is what it was
    account = await accounts.get_local(node.ctx, "guild")
    assert (account.display_name, account.bio, account.locked) == ("Platform Guild", "Builds the platform", True)
    async with node.ctx.db.reader() as s:
        community = await s.get(Community, guild.id)
    assert community is not None
    assert (community.rules, community.mode, community.audience) == ("Be kind\nStay on topic", "approval", "organization")
    # And its Group document names the new name, the avatar (cropped square) and the header
    doc = await group_document(node)
    assert doc["type"] == "Group" and doc["name"] == "Platform Guild"
    icon, image = doc["icon"], doc["image"]
    assert icon["type"] == image["type"] == "Image"
    async with aiohttp.ClientSession() as plain, plain.get(icon["url"]) as r:
        assert r.status == 200 and Image.open(io.BytesIO(await r.read())).size == (400, 400)
    async with aiohttp.ClientSession() as plain, plain.get(image["url"]) as r:
        assert r.status == 200 and Image.open(io.BytesIO(await r.read())).size == (1500, 500)
    # And the organisation peer's member is sent the Update(Group) with them; the partner's never
    sent = await updates_to(node, org_peer.domain)
    assert [(a["object"]["type"], a["object"]["icon"]["url"]) for a in sent] == [("Group", icon["url"])]
    assert await updates_to(node, partner.domain) == []
    # And the page says the change is saved, and that the audience cannot be changed
    async with http.get("/communities/guild/settings?done=1") as r:
        text = await r.text()
    assert r.status == 200 and "settings are saved" in text and "audience cannot be changed" in text
    # When she removes the avatar, its row goes and the default shows again
    async with http.post("/communities/guild/settings", allow_redirects=False,
                         data=form(csrf, remove_avatar="on")) as r:
        assert r.status == 303
    assert "icon" not in await group_document(node) and "image" in await group_document(node)
    async with node.ctx.db.reader() as s:
        rows = await s.scalar(select(func.count(MediaAttachment.id)).where(MediaAttachment.account_id == guild.id))
    assert rows == 1


async def test_a_member_who_is_no_moderator_is_refused_even_with_a_form_of_their_own(
    node: LocalNode, sessions: dict[str, Session], guild: Account
) -> None:
    http, csrf = sessions["bob"]
    # Given bob, a member: the community's page shows him no settings
    async with http.get("/communities/guild") as r:
        assert r.status == 200 and "/communities/guild/settings" not in await r.text()
    # When he opens the settings page, or posts the form with his own valid CSRF token, or none
    async with http.get("/communities/guild/settings") as r:
        page_status, page_text = r.status, await r.text()
    async with http.post("/communities/guild/settings", allow_redirects=False,
                         data=form(csrf, avatar=picture("PNG"))) as r:
        forged_status, forged_text = r.status, await r.text()
    async with http.post("/communities/guild/settings", allow_redirects=False, data=form("")) as r:
        no_token = r.status
    # Then each is refused with the reason, and nothing changed, no picture kept
    assert page_status == forged_status == no_token == 403
    assert "moderators" in page_text and "moderators" in forged_text
    account = await accounts.get_local(node.ctx, "guild")
    assert (account.display_name, account.bio, account.avatar_id) == ("Guild", "Old words", None)
    async with node.ctx.db.reader() as s:
        assert await s.scalar(select(func.count(MediaAttachment.id)).where(MediaAttachment.account_id == guild.id)) == 0
        assert await s.scalar(select(func.count(Job.id)).where(Job.queue == "fanout")) == 0


async def test_a_file_that_is_no_picture_is_refused_with_the_reason_and_nothing_half_written(
    node: LocalNode, sessions: dict[str, Session], guild: Account
) -> None:
    http, csrf = sessions["alice"]
    stored = stored_files(node)
    # When alice sends a good header with a PDF as the avatar, and new texts
    async with http.post("/communities/guild/settings", allow_redirects=False,
                         data=form(csrf, header=picture("JPEG", (3000, 1000)), avatar=PDF)) as r:
        status, text = r.status, await r.text()
    # Then she is told why, on the form as she sent it, and that nothing was changed
    assert status == 422 and "Nothing was changed" in text and "Platform Guild" in text
    # And nothing was: texts, mode, pictures (no row, no bytes left), no Update queued
    account = await accounts.get_local(node.ctx, "guild")
    assert (account.display_name, account.bio, account.header_id, account.locked) == ("Guild", "Old words", None, False)
    async with node.ctx.db.reader() as s:
        community = await s.get(Community, guild.id)
        assert community is not None and (community.rules, community.mode) == ("Be kind", "open")
        assert await s.scalar(select(func.count(MediaAttachment.id)).where(MediaAttachment.account_id == guild.id)) == 0
        assert await s.scalar(select(func.count(Job.id)).where(Job.queue == "fanout")) == 0
    assert stored_files(node) == stored
    # And a display name left empty is refused too, with nothing written
    async with http.post("/communities/guild/settings", allow_redirects=False,
                         data=form(csrf, display_name=" ", header=picture("JPEG", (3000, 1000)))) as r:
        assert r.status == 422 and "display name" in await r.text()
    assert (await accounts.get_local(node.ctx, "guild")).header_id is None
