"""Posts: rendering, replies and threads, content warnings, edits with history, deletion."""

from __future__ import annotations

import pytest

from node import posts
from node.context import NodeContext
from node.posts import NewPost
from storage.errors import Invalid, NotFound
from storage.models import Account


async def test_text_becomes_sanitised_html_with_mentions_tags_and_links(
    ctx: NodeContext, alice: Account, bob: Account, sam_at_sales: Account
) -> None:
    # When alice writes a post with a mention of a local and a remote colleague, a tag, a link, and markup
    post = await posts.create_post(
        ctx,
        alice,
        NewPost("Hi @bob and @sam@sales.acme.test, see https://acme.test/x #Launch <script>alert(1)</script>"),
    )
    html = post.content_html
    # Then mentions and tags link where they should and markup is escaped, never executed
    assert 'href="https://eng.acme.test/@bob"' in html
    assert 'href="https://sales.acme.test/@sam"' in html
    assert 'href="https://eng.acme.test/tags/launch"' in html
    assert 'href="https://acme.test/x"' in html
    assert "<script" not in html and "&lt;script&gt;" in html
    assert post.uri == f"https://eng.acme.test/users/alice/statuses/{post.id}"
    assert post.url == f"https://eng.acme.test/@alice/{post.id}"


async def test_unknown_mentions_stay_plain_text(ctx: NodeContext, alice: Account) -> None:
    post = await posts.create_post(ctx, alice, NewPost("hello @nobody@nowhere.test"))
    assert "<a" not in post.content_html and "@nobody@nowhere.test" in post.content_html


@pytest.mark.parametrize(
    "new, reason",
    [
        (NewPost("   "), "needs some text"),
        (NewPost("x" * 5001), "too long"),
        (NewPost("hi", visibility="friends"), "unknown visibility"),
        (NewPost("hi", summary="w" * 501), "content warning too long"),
        (NewPost("nul\x00byte"), "NUL"),
    ],
)
async def test_invalid_posts_are_refused_and_nothing_is_stored(
    ctx: NodeContext, alice: Account, new: NewPost, reason: str
) -> None:
    from node import timelines
    from node.pagination import Page

    with pytest.raises(Invalid, match=reason):
        await posts.create_post(ctx, alice, new)
    assert await timelines.account(ctx, alice, alice.id, Page()) == []


async def test_content_warning_marks_the_post_sensitive(ctx: NodeContext, alice: Account) -> None:
    post = await posts.create_post(ctx, alice, NewPost("spoilers inside", summary="Film ending"))
    assert post.summary == "Film ending" and post.sensitive


async def test_replies_form_a_thread(ctx: NodeContext, alice: Account, bob: Account, carol: Account) -> None:
    # Given a root post, a reply, a reply to the reply, and a second reply to the root
    root = await posts.create_post(ctx, alice, NewPost("root"))
    r1 = await posts.create_post(ctx, bob, NewPost("first reply", in_reply_to_id=root.id))
    r11 = await posts.create_post(ctx, alice, NewPost("reply to first", in_reply_to_id=r1.id))
    r2 = await posts.create_post(ctx, carol, NewPost("second reply", in_reply_to_id=root.id))
    # When the context of the first reply is read
    ancestors, descendants = await posts.context(ctx, carol, r1.id)
    # Then the root is its ancestor and its own reply its descendant
    assert [p.id for p in ancestors] == [root.id]
    assert [p.id for p in descendants] == [r11.id]
    # And the root's context holds the whole thread in reading order
    _, all_replies = await posts.context(ctx, carol, root.id)
    assert [p.id for p in all_replies] == [r1.id, r11.id, r2.id]
    assert (await posts.get_post(ctx, alice, root.id)).replies_count == 2
    assert {r1.thread_id, r11.thread_id, r2.thread_id} == {root.id}


async def test_context_hides_what_the_viewer_may_not_see(ctx: NodeContext, alice: Account, bob: Account, carol: Account) -> None:
    root = await posts.create_post(ctx, alice, NewPost("root"))
    secret = await posts.create_post(ctx, bob, NewPost("@alice just us", visibility="direct", in_reply_to_id=root.id))
    _, seen_by_carol = await posts.context(ctx, carol, root.id)
    _, seen_by_alice = await posts.context(ctx, alice, root.id)
    assert secret.id not in [p.id for p in seen_by_carol]
    assert secret.id in [p.id for p in seen_by_alice]


async def test_reply_to_an_inward_post_never_reaches_further(ctx: NodeContext, alice: Account, bob: Account) -> None:
    # Given a post for the organisation only
    inward = await posts.create_post(ctx, alice, NewPost("org only", visibility="organization"))
    # When bob replies publicly
    reply = await posts.create_post(ctx, bob, NewPost("sure", visibility="public", in_reply_to_id=inward.id))
    # Then the reply keeps the parent's audience
    assert reply.visibility == "organization"


async def test_cannot_reply_to_what_you_cannot_see(ctx: NodeContext, alice: Account, bob: Account) -> None:
    private = await posts.create_post(ctx, alice, NewPost("followers only", visibility="followers"))
    with pytest.raises(NotFound):
        await posts.create_post(ctx, bob, NewPost("peek", in_reply_to_id=private.id))


async def test_edit_keeps_history_and_updates_mentions_and_tags(ctx: NodeContext, alice: Account, bob: Account) -> None:
    from node import notifications, timelines
    from node.pagination import Page

    # Given a post
    post = await posts.create_post(ctx, alice, NewPost("first draft #old"))
    # When alice edits it to mention bob and change the tag
    edited = await posts.edit_post(ctx, alice, post.id, "second draft @bob #new", summary="cw")
    # Then the current text is new, the old one is in the history, and edited_at is set
    assert "second draft" in edited.content_html and edited.edited_at is not None and edited.sensitive
    history = await posts.history(ctx, alice, post.id)
    assert [h.source for h in history] == ["first draft #old"]
    # And tag timelines and bob's notifications follow the edit
    assert [p.id for p in await timelines.hashtag(ctx, alice, "new", Page())] == [post.id]
    assert await timelines.hashtag(ctx, alice, "old", Page()) == []
    kinds = [n.type for n in await notifications.list_notifications(ctx, bob.id, Page())]
    assert kinds == ["mention"]


async def test_only_the_author_edits(ctx: NodeContext, alice: Account, bob: Account) -> None:
    post = await posts.create_post(ctx, alice, NewPost("mine"))
    with pytest.raises(NotFound):
        await posts.edit_post(ctx, bob, post.id, "yours now")


async def test_delete_by_author_or_moderator_only(ctx: NodeContext, alice: Account, bob: Account, make_account) -> None:  # type: ignore[no-untyped-def]
    mod = await make_account("mod", role="moderator")
    post = await posts.create_post(ctx, alice, NewPost("to be removed"))
    other = await posts.create_post(ctx, alice, NewPost("moderated"))
    with pytest.raises(NotFound):
        await posts.delete_post(ctx, bob, post.id)
    await posts.delete_post(ctx, alice, post.id)
    await posts.delete_post(ctx, mod, other.id)
    for pid in (post.id, other.id):
        with pytest.raises(NotFound):
            await posts.get_post(ctx, alice, pid)


async def test_deleting_a_reply_updates_the_count_and_keeps_the_thread(ctx: NodeContext, alice: Account, bob: Account) -> None:
    root = await posts.create_post(ctx, alice, NewPost("root"))
    reply = await posts.create_post(ctx, bob, NewPost("reply", in_reply_to_id=root.id))
    await posts.delete_post(ctx, bob, reply.id)
    assert (await posts.get_post(ctx, alice, root.id)).replies_count == 0
    # and deleting the root leaves replies readable
    r2 = await posts.create_post(ctx, bob, NewPost("another", in_reply_to_id=root.id))
    await posts.delete_post(ctx, alice, root.id)
    kept = await posts.get_post(ctx, bob, r2.id)
    assert kept.in_reply_to_id is None and kept.in_reply_to_uri == root.uri
