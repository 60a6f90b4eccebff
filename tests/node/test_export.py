"""The eDiscovery export (node/export_ediscovery.py) and its verification (node/export_zip.py),
on both engines: what goes in, what never does, and that no byte of an archive can change
unnoticed."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from sqlalchemy import select, update

from federation.keys import generate_rsa_keypair
from node import audit, export_ediscovery, interactions, posts
from node.audience import Audience
from node.context import NodeContext
from node.export_zip import MANIFEST, SIGNATURE, load_public_key, verify_archive, writing
from node.instance import create_instance, get_instance
from node.media import Upload, upload
from node.posts import NewPost
from storage.errors import Conflict, Invalid
from storage.ids import new_id
from storage.media_store import new_key
from storage.models import Account, LegalHold, Post, SealCause, SealedPost
from tests.media_files import picture
from tests.node.conftest import DOMAIN, ORG_PEER

SEALED_BYTES = b"%PDF-1.4 the sealed attachment"


async def node_key(ctx: NodeContext) -> RSAPublicKey:
    return load_public_key((await get_instance(ctx.db)).public_key_pem)


def read(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Every JSON Lines file of an archive, parsed."""
    with zipfile.ZipFile(path) as z:
        return {n: [json.loads(line) for line in z.read(n).splitlines()] for n in z.namelist() if n.endswith(".jsonl")}


def snapshot_of(post_id: int, uri: str, store_key: str) -> str:
    """A sealed post's snapshot in the shape node/holds.py gives (SPEC: retention writes it)."""
    return json.dumps({
        "post": {"id": str(post_id), "uri": uri, "url": uri, "visibility": "organization", "source": "the sealed plan",
                 "content_html": "<p>the sealed plan</p>", "summary": "", "sensitive": False, "language": "en",
                 "in_reply_to_uri": None, "created_at": "2026-01-02T03:04:05+00:00", "edited_at": None},
        "edits": [{"created_at": "2026-01-02T04:00:00+00:00", "source": "the first plan", "content_html": "<p>the first plan</p>",
                   "summary": "", "sensitive": False, "media_ids": []}],
        "media": [{"id": "77", "kind": "unknown", "content_type": "application/pdf", "store_key": store_key,
                   "preview_key": None, "description": "plan", "file_name": "plan.pdf"}],
        "mentions": [], "tags": ["plans"],
    })


@pytest.fixture
async def alices_world(ctx: NodeContext, alice: Account, bob: Account, sam_at_sales: Account) -> dict[str, Any]:
    """Given alice's post with a picture, edited; a like from bob and a boost; alice's like of
    bob's post; a direct message bob sent her; a policy decision about her post; a sealed post of
    hers (held); bob's own public post; and a peer's post stored here."""
    await create_instance(ctx.db, DOMAIN)
    pic = await upload(ctx, alice, Upload(picture("PNG", (40, 30)), "chart.png"), description="the chart")
    post = await posts.create_post(ctx, alice, NewPost("Quarterly launch plan", visibility=Audience.ORGANIZATION,
                                                       media_ids=(pic.id,)))
    await posts.edit_post(ctx, alice, post.id, "Quarterly launch plan, revised")
    await interactions.like(ctx, bob, post.id)
    await interactions.boost(ctx, bob, post.id)
    bobs = await posts.create_post(ctx, bob, NewPost("bob's lunch menu"))
    await interactions.like(ctx, alice, bobs.id)
    dm = await posts.create_post(ctx, bob, NewPost("@alice the launch password is swordfish", visibility=Audience.DIRECT))
    remote = Post(account_id=sam_at_sales.id, local=False, uri=f"https://{ORG_PEER}/users/sam/statuses/1",
                  content_html="<p>sales launch numbers</p>", visibility=Audience.ORGANIZATION)
    key = new_key("pdf")
    assert ctx.media is not None
    await ctx.media.put(key, SEALED_BYTES, "application/pdf")
    sealed_uri = f"https://{DOMAIN}/users/alice/statuses/{new_id()}"
    async with ctx.db.session() as s:
        s.add(remote)
        s.add(LegalHold(case_name="acme-v-globex", account_id=alice.id, reason="litigation", created_by="admin"))
        s.add(SealedPost(post_id=new_id(), account_id=alice.id, uri=sealed_uri, visibility="organization",
                         posted_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), cause=SealCause.AUTHOR_DELETE,
                         snapshot=snapshot_of(1, sealed_uri, key)))
        await audit.record(s, direction="out", peer="partner.test", obj=post.uri or "", decision="refused",
                           rule="audience:organization", reason="not trusted as organization")
    return {"post": post, "pic": pic, "bobs": bobs, "dm": dm, "remote": remote, "sealed_uri": sealed_uri}


async def test_an_accounts_export_holds_its_posts_history_media_reactions_messages_and_sealed_posts(
    ctx: NodeContext, alices_world: dict[str, Any], tmp_path: Path
) -> None:
    # When alice's account is exported
    scope = await export_ediscovery.account_scope(ctx, "alice")
    out = tmp_path / "alice.zip"
    done = await export_ediscovery.export(ctx, scope, out)
    # Then it verifies against the node's key
    assert verify_archive(out, await node_key(ctx)).files == len(zipfile.ZipFile(out).namelist()) - 2
    files = read(out)
    post = alices_world["post"]
    # her post, with its audience, its edit history and its attachment's bytes
    [record] = files["posts.jsonl"]
    assert record["uri"] == post.uri and record["audience"] == "organization"
    assert record["source"] == "Quarterly launch plan, revised"
    assert [e["source"] for e in record["edits"]] == ["Quarterly launch plan"]
    [attachment] = record["attachments"]
    assert attachment["file_name"] == "chart.png" and attachment["description"] == "the chart"
    assert ctx.media is not None
    with zipfile.ZipFile(out) as z:
        assert z.read(attachment["file"]) == await ctx.media.get(alices_world["pic"].storage_key)
        assert z.read("media/77.pdf") == SEALED_BYTES
    # the direct message she received
    assert [m["source"] for m in files["direct_messages.jsonl"]] == ["@alice the launch password is swordfish"]
    # the reactions she gave and received
    reactions = {(r["type"], r["by"], r["post_uri"]) for r in files["reactions.jsonl"]}
    assert reactions == {("like", f"bob@{DOMAIN}", post.uri), ("boost", f"bob@{DOMAIN}", post.uri),
                         ("like", f"alice@{DOMAIN}", alices_world["bobs"].uri)}
    # the policy's decision about her post
    assert [(d["object"], d["decision"]) for d in files["decisions.jsonl"]] == [(post.uri, "refused")]
    # her sealed post, as sealed, with the file its attachment is in
    [sealed] = files["sealed_posts.jsonl"]
    assert sealed["uri"] == alices_world["sealed_uri"] and sealed["cause"] == "author-delete"
    assert sealed["snapshot"]["edits"][0]["source"] == "the first plan"
    assert sealed["snapshot"]["media"][0]["file"] == "media/77.pdf"
    # her account, with the hold on it
    [account] = [a for a in files["accounts.jsonl"] if a["exported"]]
    assert account["handle"] == f"alice@{DOMAIN}" and account["legal_holds"][0]["case"] == "acme-v-globex"
    # And nothing of bob's own: his lunch menu is not in it
    assert "bob's lunch menu" not in out.read_bytes().decode("utf-8", "replace")
    assert done.counts["posts"] == 1 and done.counts["sealed_posts"] == 1 and not done.missing_media


async def test_a_hold_exports_the_accounts_of_its_case(ctx: NodeContext, alices_world: dict[str, Any], tmp_path: Path) -> None:
    # Given alice held under acme-v-globex (the fixture); when the case is exported
    out = tmp_path / "case.zip"
    await export_ediscovery.export(ctx, await export_ediscovery.hold_scope(ctx, "acme-v-globex"), out)
    # Then alice's posts and sealed posts are in it
    files = read(out)
    assert [p["uri"] for p in files["posts.jsonl"]] == [alices_world["post"].uri]
    assert len(files["sealed_posts.jsonl"]) == 1


async def test_a_query_exports_only_posts_this_node_holds(ctx: NodeContext, alices_world: dict[str, Any], tmp_path: Path) -> None:
    # When every post containing "launch" is exported
    out = tmp_path / "launch.zip"
    await export_ediscovery.export(ctx, export_ediscovery.query_scope("LAUNCH"), out)
    files = read(out)
    # Then alice's post, the peer's post stored here and the direct message are in it, bob's menu not
    assert {p["uri"] for p in files["posts.jsonl"]} == {alices_world["post"].uri, alices_world["remote"].uri}
    assert [m["uri"] for m in files["direct_messages.jsonl"]] == [alices_world["dm"].uri]
    # And every post in the archive is a row of this node's database
    async with ctx.db.reader() as s:
        held = set(await s.scalars(select(Post.uri)))
    assert {p["uri"] for name in ("posts.jsonl", "direct_messages.jsonl") for p in files[name]} <= held
    # the sealed post does not say "launch": not in it
    assert files["sealed_posts.jsonl"] == []
    # And the reactions are those to the posts found (bob's like and boost), not alice's like of the menu
    assert {(r["type"], r["post_uri"]) for r in files["reactions.jsonl"]} == {
        ("like", alices_world["post"].uri), ("boost", alices_world["post"].uri)}


async def test_since_and_until_bound_what_is_exported(ctx: NodeContext, alice: Account, tmp_path: Path) -> None:
    # Given alice's posts of three days
    await create_instance(ctx.db, DOMAIN)
    day = datetime(2026, 3, 1, 12, tzinfo=UTC)
    for n in range(3):
        p = await posts.create_post(ctx, alice, NewPost(f"day {n}"))
        async with ctx.db.session() as s:
            await s.execute(update(Post).where(Post.id == p.id).values(created_at=day + timedelta(days=n)))
    # When the middle day is exported
    scope = await export_ediscovery.account_scope(ctx, "alice", since=day + timedelta(days=1), until=day + timedelta(days=2))
    out = tmp_path / "day.zip"
    await export_ediscovery.export(ctx, scope, out)
    # Then only its post is in it
    assert [p["source"] for p in read(out)["posts.jsonl"]] == ["day 1"]


@pytest.fixture
async def archive(ctx: NodeContext, alices_world: dict[str, Any], tmp_path: Path) -> Path:
    out = tmp_path / "alice.zip"
    await export_ediscovery.export(ctx, await export_ediscovery.account_scope(ctx, "alice"), out)
    return out


def _offsets(path: Path) -> dict[str, tuple[int, int]]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: (i.header_offset + 30 + len(i.filename), i.file_size) for i in z.infolist()}


async def test_changing_any_byte_makes_verification_fail(ctx: NodeContext, archive: Path, tmp_path: Path) -> None:
    key = await node_key(ctx)
    data = archive.read_bytes()
    where = _offsets(archive)
    # Given positions in a data file, an attachment, the manifest, the signature, and the zip's own structure
    positions = [where["posts.jsonl"][0] + 5, where["media/77.pdf"][0], where[MANIFEST][0] + where[MANIFEST][1] // 2,
                 where[SIGNATURE][0] + 10, 0, 8, 14, len(data) - 1, len(data) - 22]
    positions += list(range(0, len(data), max(1, len(data) // 300)))  # and a sweep across the whole archive
    bad = tmp_path / "bad.zip"
    for at in positions:
        # When that one byte changes
        changed = bytearray(data)
        changed[at] ^= 0x20
        bad.write_bytes(bytes(changed))
        # Then verification fails with a reason
        with pytest.raises(Invalid, match="verification failed|not a zip"):
            verify_archive(bad, key)
    # And the untouched archive still verifies
    verify_archive(archive, key)


async def test_another_key_does_not_verify(archive: Path) -> None:
    _, other = generate_rsa_keypair()
    with pytest.raises(Invalid, match="signature"):
        verify_archive(archive, load_public_key(other))


async def test_a_key_inside_the_archive_is_never_trusted(ctx: NodeContext, archive: Path, tmp_path: Path) -> None:
    # Given a forged archive: alice's posts altered, re-signed by a forger whose public key rides along
    forger_private, forger_public = generate_rsa_keypair()
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(archive) as z, writing(forged) as w:
        for name in z.namelist():
            if name in (MANIFEST, SIGNATURE):
                continue
            body = z.read(name)
            w.add(name, body.replace(b"Quarterly", b"Harmless") if name == "posts.jsonl" else body)
        w.add("public_key.pem", forger_public.encode())
        w.sign({"format": "atrium-export/1", "public_key": forger_public}, forger_private)
        w.finish()
    # Then it is well formed (the forger's key verifies it), but the node's key refuses it
    verify_archive(forged, load_public_key(forger_public))
    with pytest.raises(Invalid, match="signature"):
        verify_archive(forged, await node_key(ctx))


@pytest.mark.parametrize("change", ["extra", "missing"])
async def test_a_file_more_or_less_than_the_manifest_says_fails(
    ctx: NodeContext, archive: Path, tmp_path: Path, change: str
) -> None:
    # Given the archive rebuilt with its own signed manifest, and one file more (or one less)
    with zipfile.ZipFile(archive) as z:
        manifest, signature = z.read(MANIFEST), z.read(SIGNATURE)
        contents = {n: z.read(n) for n in z.namelist() if n not in (MANIFEST, SIGNATURE)}
    out = tmp_path / "changed.zip"
    with writing(out) as w:
        for name, body in contents.items():
            if not (change == "missing" and name == "reactions.jsonl"):
                w.add(name, body)
        if change == "extra":
            w.add("extra.txt", b"not listed")
        w.add(MANIFEST, manifest)
        w.add(SIGNATURE, signature)
        w.finish()
    # Then verification names the difference
    with pytest.raises(Invalid, match="not in the manifest" if change == "extra" else "not in the archive"):
        verify_archive(out, await node_key(ctx))


async def test_an_export_never_replaces_a_file_and_leaves_nothing_half_written(
    ctx: NodeContext, alices_world: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scope = await export_ediscovery.account_scope(ctx, "alice")
    # Given a file already there: refused, and left as it was
    taken = tmp_path / "taken.zip"
    taken.write_bytes(b"keep me")
    with pytest.raises(Conflict, match="exists"):
        await export_ediscovery.export(ctx, scope, taken)
    assert taken.read_bytes() == b"keep me"
    # When an export fails half-way (the media store is gone), no archive and no temporary file is left
    ctx.media = None
    out = tmp_path / "sub"
    out.mkdir()
    done = await export_ediscovery.export(ctx, scope, out / "a.zip")
    assert done.missing_media  # said, not silently dropped
    before = set(out.iterdir())

    async def broken(*_: object) -> None:
        raise RuntimeError("disk gone")

    monkeypatch.setattr(export_ediscovery, "_write_decisions", broken)
    with pytest.raises(RuntimeError):
        await export_ediscovery.export(ctx, scope, out / "b.zip")
    assert set(out.iterdir()) == before


def test_an_archive_left_unfinished_leaves_no_file(tmp_path: Path) -> None:
    # Given an archive written but never finished (nor signed)
    with writing(tmp_path / "a.zip") as w:
        w.add("posts.jsonl", b"{}\n")
    # Then neither it nor its temporary file is left
    assert list(tmp_path.iterdir()) == []


async def test_rows_are_read_a_page_at_a_time_each_once(
    ctx: NodeContext, alice: Account, bob: Account, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given alice's seven posts, each liked by bob, and pages of two rows
    await create_instance(ctx.db, DOMAIN)
    made = [await posts.create_post(ctx, alice, NewPost(f"post {n}")) for n in range(7)]
    for p in made:
        await interactions.like(ctx, bob, p.id)
    monkeypatch.setattr(export_ediscovery, "PAGE", 2)
    # When her account is exported
    out = tmp_path / "paged.zip"
    await export_ediscovery.export(ctx, await export_ediscovery.account_scope(ctx, "alice"), out)
    # Then every post and every like is in it exactly once
    files = read(out)
    assert sorted(p["source"] for p in files["posts.jsonl"]) == [f"post {n}" for n in range(7)]
    assert sorted(r["post_uri"] for r in files["reactions.jsonl"]) == sorted(p.uri or "" for p in made)
