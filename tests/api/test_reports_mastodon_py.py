"""Reports with Mastodon.py 2.3.3 against real `atrium serve` processes (issue #20, "Reports"):
two nodes that trust each other as `organization` (tests/api/two_nodes.py `pair`: `here`, on
the engine under test, stands for eng with alice; `there` for sales with pat). alice reports
pat with `forward`, and a moderator on sales finds it in the moderation queue, forwarded by
eng, with the post and the comment, and without alice's name."""

from __future__ import annotations

import json

import mastodon  # Mastodon.py 2.3.3, a test dependency
import pytest
from sqlalchemy import select

from node import accounts, moderation, posts
from node.context import NodeContext
from node.posts import NewPost
from storage.errors import NotFound
from storage.models import Account, Report
from tests.api.two_nodes import pair
from tests.federation.nodes import NodeProcess, eventually

__all__ = ["pair"]  # the fixture, used by name


def client_for(node: NodeProcess, username: str) -> mastodon.Mastodon:
    client_id, secret = mastodon.Mastodon.create_app("reports test", api_base_url=node.base_url,
                                                     scopes=["read", "write"])
    client = mastodon.Mastodon(client_id=client_id, client_secret=secret, api_base_url=node.base_url,
                               version_check_mode="none")
    client.log_in(username, f"{username}-password", allow_http=True, scopes=["read", "write"])
    return client


async def _moderator(ctx: NodeContext, node: NodeProcess) -> Account:
    try:
        return await node.user(ctx, "mod")
    except NotFound:
        return await accounts.create_user(ctx, "mod", "mod-password-1", role="moderator")


async def test_a_report_filed_on_eng_with_forward_shows_in_sales_moderation_queue(
    pair: tuple[NodeProcess, NodeProcess],
) -> None:
    eng, sales = pair
    # Given pat on sales posted, and alice on eng finds the post by its URL (a signed fetch)
    async with sales.act() as ctx:
        pat = await sales.user(ctx, "pat")
        post = await posts.create_post(ctx, pat, NewPost("Buy my timeshare, colleagues"))
        post_uri = ctx.post_uri("pat", post.id)
    alice = client_for(eng, "alice")
    [status] = alice.search_v2(post_uri, resolve=True).statuses
    assert status.account.acct == f"pat@{sales.domain}"
    # When alice reports pat with that post, a comment and forward (Mastodon.py's `report`)
    report = alice.report(status.account.id, [status.id], comment="Selling in the company feed", forward=True)
    # Then the Report entity says so
    assert report.forwarded is True and report.action_taken is False and report.category == "other"
    assert report.status_ids == [str(status.id)] and report.target_account.acct == f"pat@{sales.domain}"
    assert report.comment == "Selling in the company feed"

    # And sales' moderation queue gets it, forwarded by eng, about pat and the post, with the comment
    async def forwarded() -> list[moderation.ReportView]:
        async with sales.act() as ctx:
            return await moderation.list_reports(ctx, await _moderator(ctx, sales), resolved=False)

    [view] = await eventually(forwarded, what="the Flag to reach sales' moderation queue")
    assert view.target.username == "pat" and view.target.domain is None
    assert [p.id for p in view.posts] == [post.id]
    assert view.report.comment == "Selling in the company feed"
    assert view.reporter.domain == eng.domain and view.reporter.actor_uri == f"{eng.base_url}/actor"
    # And alice is named nowhere on sales: not as the reporter, not as an account it knows
    async with sales.act() as ctx, ctx.db.reader() as s:
        known = (await s.scalars(select(Account.username).where(Account.domain == eng.domain))).all()
    assert "alice" not in known and "alice" not in json.dumps([view.report.comment, view.report.uri])
    # And the report is kept on eng too, for eng's moderators
    async with eng.act() as ctx:
        alice_row = await eng.user(ctx, "alice")
        async with ctx.db.reader() as s:
            mine = (await s.scalars(select(Report).where(Report.reporter_id == alice_row.id))).all()
    assert [r.forwarded for r in mine] == [True]


def test_mastodon_py_hostile_reports_get_mastodons_errors(pair: tuple[NodeProcess, NodeProcess]) -> None:
    eng, _ = pair
    alice = client_for(eng, "alice")
    me = alice.account_verify_credentials()
    own = alice.status_post("mine", visibility="public")
    # Unknown account: 404; one's own post as another's: 404; a comment over 1000 characters: 422
    with pytest.raises(mastodon.MastodonNotFoundError):
        alice.report("999999999999", comment="who?")
    with pytest.raises(mastodon.MastodonAPIError) as too_long:
        alice.report(me.id, [own.id], comment="x" * 1001)
    assert too_long.value.args[1] == 422
    # A report without write:reports is refused
    read_only_id, read_only_secret = mastodon.Mastodon.create_app("read only", api_base_url=eng.base_url,
                                                                  scopes=["read"])
    reader = mastodon.Mastodon(client_id=read_only_id, client_secret=read_only_secret, api_base_url=eng.base_url,
                               version_check_mode="none")
    reader.log_in("alice", "alice-password", allow_http=True, scopes=["read"])
    with pytest.raises(mastodon.MastodonAPIError) as forbidden:
        reader.report(me.id)
    assert forbidden.value.args[1] == 403
