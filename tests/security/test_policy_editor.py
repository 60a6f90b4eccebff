"""The admin's policy editor over real HTTP (web/ui/admin_policy_edit.py, node/policy_edit.py):
a save is `atrium policy apply` plus policy.toml written, audited with who and both digests;
a change made meanwhile refuses the save; the page warns when policy.toml is not the policy in
force; only admins, only with the form's token; hostile text (too large, not UTF-8, binary,
TOML bombs) is refused with a reason and changes nothing. And a peer blocked through the editor
is refused at the next delivery, by this process and by another process of the node.

The node runs in-process on loopback with a `PolicyStore` on its own policy.toml, as
`atrium serve` has one (docs/architecture.md ("Background loops"): policy sync); a second
store on the same database stands for a worker process on another machine. Both engines.
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from atrium.cli_policy import cmd_check
from node import accounts, audit, policy_edit, remote, shared_settings
from node.delivery import handle_delivery
from node.outbox import handle_fanout
from node.policy import PolicyStore
from node.posts import NewPost, post_as
from node.queues import DELIVER, FANOUT
from node.workers import JobWorker
from storage.db import Database
from storage.models import AuditEntry, Follow, Job
from tests.conftest import StartNode
from tests.factory import PASSWORD, LocalNode
from tests.federation.fake_peer import FakePeer
from tests.security.clients import session_from

EDIT = "/admin/policy/edit"


def admitting(peer: FakePeer, trust: str = "public") -> str:
    return f'mode = "allowlist"\n\n[peers."{peer.domain}"]\ntrust = "{trust}"\n'


@dataclass
class Edited:
    node: LocalNode
    store: PolicyStore  # this (web) process's
    file: Path
    peer: FakePeer


@pytest.fixture
async def edited(db: Database, tmp_path: Path, peer: FakePeer, start_node: StartNode) -> Edited:
    """A node whose policy.toml admits `peer` (mallory's server, tests/security/conftest.py) as
    public, in force as version 1; users alice
    (user), mod (moderator) and root (admin)."""
    file = tmp_path / "web" / "policy.toml"
    file.parent.mkdir()
    file.write_text(admitting(peer))
    store = PolicyStore(file, db)
    await store.start()
    node = await start_node(users=("alice", "mod"), admins=("root",), instance=True, policy_file=file)
    node.ctx.policy = lambda: store.policy
    await accounts.set_role(node.ctx, "mod", "moderator")
    return Edited(node, store, file, peer)


async def signed_in(node: LocalNode | str, username: str, password: str = PASSWORD) -> aiohttp.ClientSession:
    """A browser signed in to the web UI of `node` (or of the process at that base URL)."""
    http = session_from("127.0.0.1", node if isinstance(node, str) else node.ctx.base_url)
    async with http.get("/signin") as r:
        token = re.search(r'name="csrf" value="([^"]+)"', await r.text())
        assert token is not None
    async with http.post("/signin", data={"csrf": token.group(1), "login": username, "password": password},
                         allow_redirects=False) as r:
        assert r.status == 303, await r.text()
    return http


def hidden(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page))


async def open_editor(http: aiohttp.ClientSession) -> dict[str, str]:
    async with http.get(EDIT) as r:
        page = await r.text()
        assert r.status == 200, page[:300]
    return hidden(page)


async def send(http: aiohttp.ClientSession, form: dict[str, str], text: str, action: str) -> tuple[int, str, dict[str, str]]:
    async with http.post(EDIT, data={**form, "text": text, "action": action}, allow_redirects=False) as r:
        page = await r.text()
        return r.status, page, hidden(page)


async def version(db: Database) -> int:
    return await shared_settings.version(db, shared_settings.POLICY)


@dataclass
class Editor:
    http: aiohttp.ClientSession  # signed in as root
    form: dict[str, str]  # the editor's hidden fields as opened


@pytest.fixture
async def root(edited: Edited) -> AsyncIterator[Editor]:
    http = await signed_in(edited.node, "root")
    async with http:
        yield Editor(http, await open_editor(http))


async def nothing_changed(edited: Edited, db: Database) -> None:
    assert await version(db) == 1 and edited.file.read_text() == admitting(edited.peer)
    assert sorted(p.name for p in edited.file.parent.iterdir()) == ["policy.toml"]


async def test_a_mistake_is_shown_with_its_line_as_the_cli_words_it_then_the_fix_is_saved_everywhere(
    edited: Edited, db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    node, peer = edited.node, edited.peer
    before = edited.file.read_text()
    http = await signed_in(node, "root")
    async with http:
        form = await open_editor(http)
        # Given root's text with a mistake on line 4 (a trust level that does not exist)
        wrong = admitting(peer, "trusted") + '\n[peers."partner.example"]\ntrust = "partner"\n'
        # When root checks it
        status, page, form = await send(http, form, wrong.replace("\n", "\r\n"), "check")  # as a browser sends it
        # Then the problem is shown with its line, in the very words of `atrium policy check`
        assert status == 422
        (tmp_path / "cli").mkdir()
        (tmp_path / "cli" / "policy.toml").write_text(wrong)
        assert cmd_check(argparse.Namespace(), lambda _: tmp_path / "cli") == 1
        cli_line = capsys.readouterr().err.splitlines()[0]
        assert cli_line.startswith(f"{tmp_path / 'cli' / 'policy.toml'}:4: ")
        assert f"policy.toml:4: {cli_line.split(':4: ', 1)[1]}".replace("'", "&#39;") in page
        assert 'data-line="4"' in page and "Save and apply" not in page
        # When root fixes it and checks again
        fixed = admitting(peer, "blocked") + '\n[peers."partner.example"]\ntrust = "partner"\n'
        status, page, form = await send(http, form, fixed.replace("\n", "\r\n"), "check")
        # Then the difference from the policy in force is shown, signed, and Save is offered
        assert status == 200 and "Save and apply" in page
        assert re.search(r'diff-removed">.*?−.*?trust = &#34;public&#34;', page, re.S)
        assert re.search(r'diff-added">.*?\+.*?trust = &#34;blocked&#34;', page, re.S)
        assert form["checked"] == shared_settings.digest(fixed)
        # When root saves
        status, page, _ = await send(http, form, fixed.replace("\n", "\r\n"), "save")
        assert status == 303, page[:500]
    # Then the file on disk and the policy in force are both the text (lines ended as a file's)
    assert edited.file.read_text() == fixed
    shared = await policy_edit.in_force(db)
    assert shared is not None and shared.value == fixed and shared.version == 2
    assert edited.store.policy.trust_of(peer.domain)[0] == "blocked"  # this process at once
    # and another process of the node (a worker on another machine, no file) adopts it at its next sync
    (tmp_path / "worker").mkdir()
    worker = PolicyStore(tmp_path / "worker" / "policy.toml", db)
    await worker.start()
    assert worker.version == 2 and worker.policy.trust_of(peer.domain)[0] == "blocked"
    # and the change is in the audit trail: who, and the digests of the old and the new text
    entries = [e async for e in audit.entries(db) if e.object == "node_settings/policy"]
    assert entries[-1].reason == (
        f"policy version 2 (sha256 {shared_settings.digest(fixed)[:16]}…, was sha256 "
        f"{shared_settings.digest(before)[:16]}…) from the web UI, by @root"
    )
    # and no temporary file is left beside it
    assert sorted(p.name for p in edited.file.parent.iterdir()) == ["policy.toml"]


async def test_a_change_made_meanwhile_refuses_the_save_and_shows_the_new_difference(edited: Edited, db: Database) -> None:
    peer = edited.peer
    http = await signed_in(edited.node, "root")
    async with http:
        # Given root checked a change that makes the peer a partner
        mine = admitting(peer, "partner")
        _, _, form = await send(http, await open_editor(http), mine, "check")
        # When meanwhile an operator applies another policy from the command line
        theirs = admitting(peer, "limited")
        await policy_edit.apply(db, theirs, source="atrium policy apply /tmp/other.toml")
        # and root saves
        status, page, form = await send(http, form, mine, "save")
        # Then the save is refused with a clear reason, and the difference shown is against their policy
        assert status == 409
        assert "changed (version 2) since you started editing; nothing was saved" in page
        assert re.search(r'diff-removed">.*?trust = &#34;limited&#34;', page, re.S)
        assert (await policy_edit.in_force(db)).value == theirs  # type: ignore[union-attr]
        assert edited.file.read_text() == admitting(peer)  # the file untouched
        # When root, having read it, saves again from that page
        status, _, _ = await send(http, form, mine, "save")
        # Then it is saved over theirs
        assert status == 303
    assert (await policy_edit.in_force(db)).value == mine  # type: ignore[union-attr]
    assert edited.file.read_text() == mine


async def test_the_page_warns_when_policy_toml_is_not_the_policy_in_force(edited: Edited, db: Database) -> None:
    peer = edited.peer
    http = await signed_in(edited.node, "root")
    async with http:
        # Given nothing differs, no warning is shown
        async with http.get(EDIT) as r:
            assert "is not the policy in force" not in await r.text()
        # When someone edits policy.toml with a mistake (the node keeps the policy in force)
        edited.file.write_text(admitting(peer) + "\n[peers.\"x.example\"]\ntrust = \"sure\"\n")
        await edited.store.sync()
        async with http.get(EDIT) as r:
            page = await r.text()
        # Then the editor warns, with the file's problem by its line and the difference
        assert "policy.toml on this machine is not the policy in force" in page
        assert "policy.toml:7: peers.x.example: trust must be one of" in page
        assert re.search(r'diff-added">.*?trust = &#34;sure&#34;', page, re.S)
        # and the policy page says so too
        async with http.get("/admin/policy") as r:
            assert "policy.toml on this machine is not the policy in force" in await r.text()
        # When instead a valid policy is applied from elsewhere (the file is not written)
        edited.file.write_text(admitting(peer))
        await edited.store.sync()
        await policy_edit.apply(db, admitting(peer, "partner"), source="atrium policy apply /elsewhere.toml")
        async with http.get(EDIT) as r:
            page = await r.text()
        assert re.search(r'diff-removed">.*?trust = &#34;partner&#34;', page, re.S)
        # and the file can be loaded into the editor
        async with http.get(EDIT + "?from=file") as r:
            assert f"\n{admitting(peer)}</textarea>".replace('"', "&#34;") in await r.text()


async def test_only_admins_edit_the_policy_and_only_with_the_forms_token(edited: Edited, db: Database) -> None:
    root = await signed_in(edited.node, "root")
    async with root:
        form = await open_editor(root)
        # A form without root's token is refused
        status, _, _ = await send(root, {**form, "csrf": "forged"}, admitting(edited.peer, "organization"), "check")
        assert status == 403
    for name in ("alice", "mod"):
        http = await signed_in(edited.node, name)
        async with http:
            async with http.get(EDIT) as r:
                assert r.status == 403, name
            async with http.get("/settings") as r:
                token = hidden(await r.text())["csrf"]
            status, _, _ = await send(http, {"csrf": token, "based_on": form["based_on"], "checked": ""},
                                      admitting(edited.peer, "organization"), "save")
            assert status == 403, name
    assert await version(db) == 1


@pytest.mark.parametrize(("body", "status", "reason"), [
    ("a" * (600 * 1024), 413, "a policy is at most 512 KB; nothing was changed"),
    ("a" * (1100 * 1024), 413, "What you sent is too large: at most 1 MB at once. Nothing was changed"),
    ('mode = "allow\x00list"\n', 422, "policy.toml:1: not valid TOML: Illegal character"),
    ("a = " + "[" * 100_000 + "]" * 100_000, 422, "policy.toml:1: not accepted: nested more than 32 levels deep"),
    ("a" + ".a" * 200_000 + " = 1", 422, "policy.toml:1: not accepted: more than 32 dots in one line"),
    ('mode = "open"\n' + "x = {y = " * 40 + "1" + "}" * 40, 422, "policy.toml:2: not accepted: nested"),
])
async def test_hostile_text_is_refused_with_a_reason_and_nothing_changes(
    edited: Edited, db: Database, root: Editor, body: str, status: int, reason: str
) -> None:
    started = time.monotonic()
    answer, page, _ = await send(root.http, root.form, body, "save")
    assert time.monotonic() - started < 10
    assert answer == status and reason.replace('"', "&#34;") in page, page[:800]
    await nothing_changed(edited, db)


@pytest.mark.parametrize(("content_type", "body", "reason"), [
    ("application/x-www-form-urlencoded", b"text=%FF%FE%00&action=save", "the policy text is not UTF-8 text"),
    ("application/x-www-form-urlencoded", b"text=\xff\xfe&action=save", "what you sent is not UTF-8 text"),
    ("multipart/form-data; boundary=b", b"", "send the policy as the editor&#39;s form does"),
])
async def test_bytes_that_are_not_utf8_are_refused_and_nothing_changes(
    edited: Edited, db: Database, root: Editor, content_type: str, body: bytes, reason: str
) -> None:
    http, form = root.http, root.form
    if content_type.startswith("application/"):
        body += f"&csrf={form['csrf']}&based_on={form['based_on']}".encode()
    else:  # the fields in a multipart body, which the editor's form never sends
        body = "".join(f'--b\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in
                       {**form, "text": 'mode = "open"', "action": "save"}.items()).encode() + b"--b--\r\n"
    async with http.post(EDIT, data=body, headers={"Content-Type": content_type}, allow_redirects=False) as r:
        page = await r.text()
    assert 400 <= r.status < 500 and reason in page, (r.status, page[:500])
    await nothing_changed(edited, db)


async def step(node: LocalNode) -> None:
    worker = JobWorker(node.ctx.db, {FANOUT: lambda job: handle_fanout(node.ctx, job),
                                     DELIVER: lambda job: handle_delivery(node.ctx, job)})
    while await worker.run_once():
        pass


async def test_a_peer_blocked_in_the_editor_is_refused_at_the_next_delivery(edited: Edited, db: Database) -> None:
    node, peer = edited.node, edited.peer
    # Given mallory, on the peer, follows alice, and alice's posts reach her
    mallory = await remote.actor_by_uri(node.ctx, peer.actor("mallory"))
    alice = await accounts.get_local(node.ctx, "alice")
    async with db.session() as s:
        s.add(Follow(follower_id=mallory.id, target_id=alice.id, state="accepted", uri=f"{peer.actor('mallory')}/follows/1"))
    await post_as(node.ctx, alice, NewPost("before the block"))
    await step(node)
    assert [a["type"] for a in peer.received] == ["Create"]
    # and a post of hers is fanned out to mallory's inbox, its delivery not sent yet
    await post_as(node.ctx, alice, NewPost("queued before the block"))
    await JobWorker(db, {FANOUT: lambda job: handle_fanout(node.ctx, job)}).run_once()
    async with db.reader() as s:
        assert await s.scalar(select(func.count()).select_from(Job).where(Job.queue == DELIVER, Job.status != "done")) == 1
    # When root blocks the peer in the editor
    http = await signed_in(node, "root")
    async with http:
        _, _, form = await send(http, await open_editor(http), admitting(peer, "blocked"), "check")
        status, _, _ = await send(http, form, admitting(peer, "blocked"), "save")
        assert status == 303
    # Then the queued post is refused at its delivery, and a new one at its fan-out, each audited
    await step(node)
    await post_as(node.ctx, alice, NewPost("after the block"))
    await step(node)
    assert [a["type"] for a in peer.received] == ["Create"]
    async with db.reader() as s:
        refused = (await s.scalars(select(AuditEntry).where(AuditEntry.decision == "refused",
                                                            AuditEntry.peer == peer.domain))).all()
    assert len(refused) >= 2 and all(e.rule == f'peers."{peer.domain}"' for e in refused)
    # and what mallory sends is refused at the door
    status, _ = await peer.post(node.inbox, {"@context": "https://www.w3.org/ns/activitystreams", "type": "Like",
                                             "id": f"{peer.actor('mallory')}/likes/1", "actor": peer.actor("mallory"),
                                             "object": node.ctx.actor_uri("alice")}, as_actor="mallory")
    assert status == 403
