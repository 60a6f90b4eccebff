"""Staff actions (node/moderation.py): they take effect everywhere on the node and each one is
recorded in the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from node import accounts, audit, follows, moderation, notifications, outbox, post_search, posts, search, timelines
from node.context import NodeContext
from node.pagination import Page
from node.policy import PeerRule, Policy
from node.posts import NewPost
from storage.errors import Conflict, Forbidden, NotFound
from storage.models import Account, AuditEntry, Post, Report
from tests.node.conftest import OUTSIDE_PEER, PASSWORD, MakeAccount


async def write(ctx: NodeContext, author: Account, text: str, visibility: str = "public") -> Post:
    return await posts.create_post(ctx, author, NewPost(text, visibility=visibility))


async def remote_post(ctx: NodeContext, author: Account, text: str) -> Post:
    async with ctx.db.session() as s:
        post = Post(account_id=author.id, local=False, uri=f"{author.actor_uri}/statuses/{len(text)}", source="",
                    content_html=f"<p>{text}</p>", visibility="public")
        s.add(post)
        await s.flush()
        await post_search.index_posts(s, [post])  # as node/post_effects.py does for every stored post
    return post


async def admin_log(ctx: NodeContext) -> list[AuditEntry]:
    return [e async for e in audit.entries(ctx.db) if e.direction == "admin"]


def ids(rows: list[Post]) -> list[int]:
    return [p.id for p in rows]


@pytest.fixture
async def mod(make_account: MakeAccount) -> Account:
    return await make_account("mod", role="moderator")


@pytest.fixture
async def root(make_account: MakeAccount) -> Account:
    return await make_account("root", role="admin")


async def test_a_suspended_remote_account_is_hidden_everywhere_until_lifted(
    ctx: NodeContext, alice: Account, mod: Account, pat_at_partner: Account
) -> None:
    # Given a post of pat's, on a peer, known to this node
    post = await remote_post(ctx, pat_at_partner, "spam spam spam")
    assert post.id in ids(await timelines.account(ctx, alice, pat_at_partner.id, Page()))
    assert post.id in ids((await search.search(ctx, alice, "spam", kind="statuses")).statuses)
    # When a moderator suspends pat
    await moderation.moderate_account(ctx, mod, pat_at_partner.id, "suspend", "spam")
    # Then the post is in no timeline, no search and cannot be opened
    assert post.id not in ids(await timelines.account(ctx, alice, pat_at_partner.id, Page()))
    assert post.id not in ids((await search.search(ctx, alice, "spam", kind="statuses")).statuses)
    with pytest.raises(NotFound):
        await posts.get_post(ctx, alice, post.id)
    # And the action is in the audit trail, with who did it and why
    [entry] = await admin_log(ctx)
    assert (entry.rule, entry.object, entry.peer) == ("admin:suspend", "accounts/pat@partner.test", "partner.test")
    assert entry.reason == "by @mod: spam"
    # When the suspension is lifted, the post is back
    await moderation.moderate_account(ctx, mod, pat_at_partner.id, "unsuspend")
    assert (await posts.get_post(ctx, alice, post.id)).id == post.id


async def test_a_silenced_account_stays_out_of_shared_timelines_but_not_its_followers_home(
    ctx: NodeContext, alice: Account, bob: Account, mod: Account
) -> None:
    # Given bob follows alice, who posts publicly
    await follows.follow(ctx, bob, alice.id)
    post = await write(ctx, alice, "buy my course")
    # When a moderator silences alice
    await moderation.moderate_account(ctx, mod, alice.id, "silence")
    # Then the post leaves the local and federated timelines, yet bob still sees it at home
    assert post.id not in ids(await timelines.local(ctx, bob, Page()))
    assert post.id not in ids(await timelines.federated(ctx, None, Page()))
    assert post.id in ids(await timelines.home(ctx, bob, Page()))
    assert (await posts.get_post(ctx, bob, post.id)).id == post.id


async def test_a_suspended_local_user_cannot_sign_in_and_their_posts_vanish(
    ctx: NodeContext, alice: Account, bob: Account, mod: Account
) -> None:
    await follows.follow(ctx, bob, alice.id)
    post = await write(ctx, alice, "hello")
    await moderation.moderate_account(ctx, mod, alice.id, "suspend")
    with pytest.raises(Forbidden, match="suspended"):
        await accounts.authenticate(ctx, "alice", PASSWORD, client="127.0.0.1")
    assert post.id not in ids(await timelines.home(ctx, bob, Page()))
    assert (await accounts.get_account(ctx, alice.id)).credentials_version == 1  # sessions void


async def test_moderators_cannot_act_on_staff_or_themselves(
    ctx: NodeContext, mod: Account, root: Account, alice: Account
) -> None:
    with pytest.raises(Forbidden):
        await moderation.moderate_account(ctx, mod, root.id, "suspend")
    with pytest.raises(Conflict):
        await moderation.moderate_account(ctx, mod, mod.id, "silence")
    with pytest.raises(Forbidden):
        await moderation.moderate_account(ctx, alice, mod.id, "silence")
    assert await admin_log(ctx) == []


async def test_removing_a_post_deletes_it_and_is_audited(ctx: NodeContext, alice: Account, mod: Account) -> None:
    post = await write(ctx, alice, "a leaked secret")
    await moderation.remove_post(ctx, mod, post.id, "confidential")
    with pytest.raises(NotFound):
        await posts.get_post(ctx, alice, post.id)
    [entry] = await admin_log(ctx)
    assert (entry.rule, entry.object, entry.reason) == ("admin:remove-post", post.uri, "by @mod: confidential")


async def test_resolving_a_local_report_answers_the_reporter_with_a_direct_post(
    ctx: NodeContext, alice: Account, bob: Account, mod: Account
) -> None:
    # Given bob reports alice's post
    post = await write(ctx, alice, "rude words")
    report = await moderation.file_report(ctx, bob, post.id, "this is rude")
    [open_] = await moderation.list_reports(ctx, mod, resolved=False)
    assert (open_.reporter.id, open_.target.id, ids(open_.posts)) == (bob.id, alice.id, [post.id])
    # When a moderator resolves it with an answer
    done = await moderation.resolve_report(ctx, mod, report.id, "We removed it.")
    # Then the report is closed with the answer, and bob is told in a direct post mentioning him
    assert done.report.resolved and done.report.resolution == "resolved by @mod: We removed it."
    [note] = await notifications.list_notifications(ctx, bob.id, Page())
    answer = await posts.get_post(ctx, bob, note.post_id or 0)
    assert (note.type, answer.visibility, answer.account_id) == ("mention", "direct", mod.id)
    assert "We removed it." in answer.source
    assert [e.rule for e in await admin_log(ctx)] == ["admin:resolve-report"]
    with pytest.raises(Conflict):
        await moderation.resolve_report(ctx, mod, report.id, "again")


async def test_a_remote_reporters_answer_stays_on_the_node(
    ctx: NodeContext, alice: Account, mod: Account, pat_at_partner: Account
) -> None:
    async with ctx.db.session() as s:
        report = Report(number=1, reporter_id=pat_at_partner.id, target_id=alice.id, post_ids="[]", comment="from afar")
        s.add(report)
    done = await moderation.resolve_report(ctx, mod, report.id, "Thanks, handled.")
    assert done.report.resolution == "resolved by @mod: Thanks, handled."
    assert await timelines.account(ctx, mod, mod.id, Page()) == []  # nothing was posted


async def test_only_admins_manage_users_and_never_their_own_account(
    ctx: NodeContext, root: Account, mod: Account
) -> None:
    with pytest.raises(Forbidden):
        await moderation.add_user(ctx, mod, "newbie", "long-enough-pw", "user", None)
    made = await moderation.add_user(ctx, root, "newbie", "long-enough-pw", "moderator", None)
    assert made.role == "moderator"
    await moderation.change_role(ctx, root, "newbie", "admin")
    disabled = await moderation.set_disabled(ctx, root, "newbie", True)
    assert disabled.disabled and disabled.credentials_version == 1
    with pytest.raises(Conflict):
        await moderation.set_disabled(ctx, root, "root", True)
    assert [e.rule for e in await admin_log(ctx)] == ["admin:create-user", "admin:set-role", "admin:disable-user"]


async def test_nothing_of_a_suspended_account_reaches_notifications(
    ctx: NodeContext, alice: Account, bob: Account, mod: Account
) -> None:
    await write(ctx, bob, "@alice hi there", "direct")
    assert len(await notifications.list_notifications(ctx, alice.id, Page())) == 1
    await moderation.moderate_account(ctx, mod, bob.id, "suspend")
    assert await notifications.list_notifications(ctx, alice.id, Page()) == []


async def test_nothing_is_delivered_to_a_suspended_remote_account(
    ctx: NodeContext, mod: Account, pat_at_partner: Account
) -> None:
    ctx.policy = lambda: Policy(mode="allowlist", peers=(PeerRule(OUTSIDE_PEER, "partner"),))
    async with ctx.db.session() as s:
        pat = await s.get(Account, pat_at_partner.id)
        assert pat is not None
        pat.inbox_uri = f"https://{OUTSIDE_PEER}/users/pat/inbox"
    note = {"id": "https://eng.acme.test/users/mod/statuses/1"}
    async with ctx.db.session() as s:
        pat = await s.get(Account, pat_at_partner.id)
        assert await outbox.deliver_to(ctx, s, [pat], note, visibility="public", signer=None, object_uri="x") != []
    await moderation.moderate_account(ctx, mod, pat_at_partner.id, "suspend")
    async with ctx.db.session() as s:
        pat = await s.get(Account, pat_at_partner.id)
        assert await outbox.deliver_to(ctx, s, [pat], note, visibility="public", signer=None, object_uri="x") == []


async def test_the_decision_log_reads_newest_first_filtered_and_paged(ctx: NodeContext) -> None:
    for peer, decision in (("a.test", "refused"), ("b.test", "accepted"), ("a.test", "accepted")):
        await audit.record_now(ctx.db, direction="in", peer=peer, obj="x", decision=decision, rule="r")
    newest = await audit.recent(ctx.db, limit=2)
    assert [(e.peer, e.decision) for e in newest] == [("a.test", "accepted"), ("b.test", "accepted")]
    assert [e.decision for e in await audit.recent(ctx.db, before=newest[-1].id)] == ["refused"]
    assert [e.decision for e in await audit.recent(ctx.db, peer="a.test", decision="refused")] == ["refused"]


async def test_the_decision_log_filters_by_time(ctx: NodeContext) -> None:
    """Given a decision logged now, the time filter keeps it for a window that holds now and
    leaves it out of one that starts later."""
    await audit.record_now(ctx.db, direction="out", peer="t.test", obj="x", decision="delivered", rule="r")
    now = datetime.now(UTC)
    assert [e.peer for e in await audit.recent(ctx.db, since=now - timedelta(hours=1), peer="t.test")] == ["t.test"]
    assert await audit.recent(ctx.db, since=now + timedelta(minutes=1)) == []
