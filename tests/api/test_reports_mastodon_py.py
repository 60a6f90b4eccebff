"""Reports with Mastodon.py 2.3.3 against real `atrium serve` processes (issue #20, "Reports"):
eng and sales trust each other as `organization`; alice on eng reports sam of sales with
`forward`, and a moderator on sales finds it in the moderation queue, forwarded by eng, with
the post and the comment, and without alice's name. eng runs on SQLite, sales on PostgreSQL
when the run includes it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mastodon  # Mastodon.py 2.3.3, a test dependency
import pytest
from sqlalchemy import select

from node import moderation, posts
from node.posts import NewPost
from storage.models import Account, Report
from tests.conftest import ENGINES, drop_pg_database, recreate_pg_database, worker_tag
from tests.federation.nodes import NodeProcess, eventually


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProcess, NodeProcess]]:
    root: Path = tmp_path_factory.mktemp("reports_mpy")
    pg_name = f"atrium_reports_{worker_tag()}"
    on_pg = "postgresql" in ENGINES
    eng = NodeProcess("eng", root)
    sales = NodeProcess("sales", root, recreate_pg_database(pg_name) if on_pg else None)
    with ThreadPoolExecutor() as pool:
        list(pool.map(NodeProcess.init, (eng, sales)))
    eng.write_policy(f'mode = "allowlist"\n[peers."{sales.domain}"]\ntrust = "organization"\n')
    sales.write_policy(f'mode = "allowlist"\n[peers."{eng.domain}"]\ntrust = "organization"\n')
    eng.create_user("alice")
    sales.create_user("sam")
    sales.create_user("root", "--admin")
    try:
        eng.start()
        sales.start()
        yield eng, sales
    finally:
        eng.stop()
        sales.stop()
        if on_pg and not os.environ.get("ATRIUM_KEEP_TEST_DATABASES"):
            drop_pg_database(pg_name)


def client_for(node: NodeProcess, username: str) -> mastodon.Mastodon:
    client_id, secret = mastodon.Mastodon.create_app("reports test", api_base_url=node.base_url,
                                                     scopes=["read", "write"])
    client = mastodon.Mastodon(client_id=client_id, client_secret=secret, api_base_url=node.base_url,
                               version_check_mode="none")
    client.log_in(username, f"{username}-password", allow_http=True, scopes=["read", "write"])
    return client


async def test_a_report_filed_on_eng_with_forward_shows_in_sales_moderation_queue(
    org: tuple[NodeProcess, NodeProcess],
) -> None:
    eng, sales = org
    # Given sam on sales posted, and alice on eng finds the post by its URL (a signed fetch)
    async with sales.act() as ctx:
        sam = await sales.user(ctx, "sam")
        post = await posts.create_post(ctx, sam, NewPost("Buy my timeshare, colleagues"))
        post_uri = ctx.post_uri("sam", post.id)
    alice = client_for(eng, "alice")
    [status] = alice.search_v2(post_uri, resolve=True).statuses
    assert status.account.acct == f"sam@{sales.domain}"
    # When alice reports sam with that post, a comment and forward (Mastodon.py's `report`)
    report = alice.report(status.account.id, [status.id], comment="Selling in the company feed", forward=True)
    # Then the Report entity says so
    assert report.forwarded is True and report.action_taken is False and report.category == "other"
    assert report.status_ids == [str(status.id)] and report.target_account.acct == f"sam@{sales.domain}"
    assert report.comment == "Selling in the company feed"

    # And sales' moderation queue gets it, forwarded by eng, about sam and the post, with the comment
    async def forwarded() -> list[moderation.ReportView]:
        async with sales.act() as ctx:
            root = await sales.user(ctx, "root")
            return await moderation.list_reports(ctx, root, resolved=False)

    [view] = await eventually(forwarded, what="the Flag to reach sales' moderation queue")
    assert view.target.username == "sam" and view.target.domain is None
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


def test_mastodon_py_hostile_reports_get_mastodons_errors(org: tuple[NodeProcess, NodeProcess]) -> None:
    eng, _ = org
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
