"""Reports carry a short number per node (#1, #2...) that people read, assigned when filed,
never twice, even when reports are filed at the same moment (issue #15, "Report numbers")."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from node import moderation, posts
from node.context import NodeContext
from node.posts import NewPost
from storage.models import Account, Post
from tests.node.conftest import MakeAccount


async def test_reports_are_numbered_in_order_and_the_answer_names_the_number(
    ctx: NodeContext, make_account: MakeAccount, alice: Account, bob: Account
) -> None:
    # Given a post of carol's, and a moderator
    carol = await make_account("carol")
    mod = await make_account("mod", role="moderator")
    post = await posts.create_post(ctx, carol, NewPost("regrettable"))
    # When alice, then bob report it
    first = await moderation.file_report(ctx, alice, post.id, "first")
    second = await moderation.file_report(ctx, bob, post.id, "second")
    # Then they are #1 and #2, while their ids stay the long ones the client API serves
    assert (first.number, second.number) == (1, 2)
    assert first.id > 10**12
    # And the answer alice gets names #1, not the id
    await moderation.resolve_report(ctx, mod, first.id, "Handled.")
    async with ctx.db.reader() as s:
        sent = (await s.execute(select(Post.source, Post.visibility).where(Post.account_id == mod.id))).all()
    assert [tuple(row) for row in sent] == [("@alice About your report #1: Handled.", "direct")]


async def test_reports_filed_at_once_never_share_a_number(
    ctx: NodeContext, make_account: MakeAccount
) -> None:
    # Given twelve people who can see one post
    author = await make_account("author")
    post = await posts.create_post(ctx, author, NewPost("disputed"))
    reporters = [await make_account(f"reporter{i}") for i in range(12)]
    # When they all report it at the same moment (each in a transaction of its own)
    filed = await asyncio.gather(*(moderation.file_report(ctx, r, post.id, "") for r in reporters))
    # Then every report was kept, numbered 1 to 12
    assert sorted(r.number for r in filed) == list(range(1, 13))
