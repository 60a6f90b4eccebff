"""A community that lives on another node, in the web UI (web/ui/pages_communities_peer.py):
reached from "Your communities" and from the Group's `/@name@domain`, it shows the posts this
node has of it (newest first, only those the viewer may see), joins and leaves it, and writes
to it — at 1280 and 390 px, with axe-core passing. The community's node is not running here
(what crosses to it is tests/ui/test_communities_nodes.py's, with two real nodes): the peer's
Group, its member's posts and lena's membership are stored as federation would store them."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from playwright.sync_api import Browser, Page, expect

from node import accounts
from node.context import NodeContext
from storage.models import Account, Follow, Post, utcnow
from tests.ui.conftest import UINode, post_card, shot
from tests.ui.test_communities import checked
from tests.ui.test_own_lists import Open, go_by_nav, on_node, open_as, size  # noqa: F401 - fixtures

__all__ = ["open_as", "size"]


def texts(page: Page) -> list[str]:
    return page.locator("section[aria-label^='Posts in'] article.post").all_inner_texts()


def test_a_peers_community_is_read_joined_written_to_and_left(node: UINode, open_as: Open, size: str,  # noqa: F811
                                                              browser: Browser) -> None:
    tag = uuid.uuid4().hex[:6]
    peer = f"guilds-{size[:2]}-{tag}.example"
    handle = f"makers@{peer}"

    async def seed(ctx: NodeContext) -> None:
        # Given a community on a peer, as federation stores it: its Group actor, a member of
        # it there, three posts written to it (one only for its followers), and lena in it
        lena = await accounts.get_local(ctx, "lena")
        async with ctx.db.session() as s:
            group = Account(username="makers", domain=peer, actor_type="Group", display_name=f"Makers {tag}",
                            bio=f"<p>Hardware tinkerers of {tag}: <b>boards</b>, printers, solder.</p>",
                            actor_uri=f"https://{peer}/c/makers", inbox_uri=f"https://{peer}/c/makers/inbox",
                            url=f"https://{peer}/c/makers", fetched_at=utcnow())
            rita = Account(username="rita", domain=peer, display_name="Rita", actor_uri=f"https://{peer}/u/rita",
                           inbox_uri=f"https://{peer}/u/rita/inbox", fetched_at=utcnow())
            s.add_all([group, rita])
            await s.flush()
            now = utcnow()
            for i, (word, audience) in enumerate([("oldest", "public"), ("hidden", "private"), ("newest", "public")]):
                s.add(Post(account_id=rita.id, local=False, uri=f"https://{peer}/p/{word}-{tag}",
                           url=f"https://{peer}/p/{word}-{tag}", content_html=f"<p>{word}-{tag} from the bench</p>",
                           visibility=audience, community_id=group.id, created_at=now - timedelta(minutes=10 - i)))
            s.add(Follow(follower_id=lena.id, target_id=group.id, state="accepted"))

    on_node(node, seed)
    lena, mallory = open_as(node, "lena"), open_as(node, "mallory")
    # When lena opens Communities, the peer's community is among hers, and she opens it
    go_by_nav(lena, "Communities")
    row = lena.get_by_role("list", name="Your communities").locator("li.community-row", has_text=f"Makers {tag}")
    expect(row).to_contain_text(f"on {peer}")
    expect(row).to_contain_text("Hardware tinkerers")
    expect(row).not_to_contain_text("<b>")
    row.get_by_role("link").first.click()
    # Then its page here: its name, where it lives, her membership, the posts that reached this
    # node newest first, and not the one for its followers only (she may not see it)
    expect(lena).to_have_url(re.compile(f"/communities/{re.escape(handle)}$"))
    head = lena.locator(".community-head")
    expect(head.get_by_role("heading", name=f"Makers {tag}")).to_be_visible()
    expect(head).to_contain_text(f"@{handle}")
    expect(head).to_contain_text("1 member here")
    expect(head).to_contain_text("Member")
    shown = texts(lena)
    at = {word: next(i for i, t in enumerate(shown) if f"{word}-{tag}" in t) for word in ("newest", "oldest")}
    assert at["newest"] < at["oldest"], shown
    assert not any(f"hidden-{tag}" in t for t in shown), shown
    # When she writes to it, choosing who can see the post (organisation is not offered: the peer is not of it)
    form = lena.locator("form.community-compose")
    expect(form.get_by_role("radio", name=re.compile("^Organisation"))).to_have_count(0)
    form.get_by_label(f"Write to Makers {tag}").fill(f"mine-{tag}: the reflow oven is fixed")
    form.get_by_role("radio", name=re.compile("^Public")).check()
    form.get_by_role("button", name="Post", exact=True).click()
    # Then her post is first on the community's page, public
    expect(post_card(lena, f"mine-{tag}")).to_contain_text("Public")
    assert f"mine-{tag}" in texts(lena)[0]
    checked(lena, f"communities-{size}-peer")
    # And an empty one is refused with the reason, nothing lost
    form = lena.locator("form.community-compose")
    form.get_by_label(f"Write to Makers {tag}").fill("  ")
    form.get_by_role("button", name="Post", exact=True).click()
    expect(lena.get_by_role("alert")).to_contain_text("needs some text")
    # When mallory, not in it, opens the Group's profile address, she is on its page here
    mallory.goto(f"{node.url}/@{handle}")
    expect(mallory).to_have_url(re.compile(f"/communities/{re.escape(handle)}$"))
    expect(post_card(mallory, f"newest-{tag}")).to_be_visible()
    expect(mallory.locator("form.community-compose")).to_have_count(0)
    expect(mallory.locator(".community-join-note")).to_contain_text("Join to post here")
    checked(mallory, f"communities-{size}-peer-visitor")
    # And joining a community on a node this node's policy does not admit is refused, on its
    # page, saying why (joining one on an admitted peer: tests/ui/test_communities_nodes.py)
    mallory.locator(".community-head").get_by_role("button", name="Join").click()
    expect(mallory.get_by_role("alert")).to_contain_text(f"does not admit {peer}")
    expect(mallory.locator(".community-head").get_by_role("button", name="Join")).to_be_visible()
    checked(mallory, f"communities-{size}-peer-refused")
    # When lena leaves it, it is no longer hers, and the page offers Join
    lena.locator(".community-head").get_by_role("button", name="Leave").click()
    expect(lena.locator(".community-head").get_by_role("button", name="Join")).to_be_visible()
    expect(lena.locator("form.community-compose")).to_have_count(0)
    lena.goto(f"{node.url}/communities")
    expect(lena.locator("li.community-row", has_text=f"Makers {tag}")).to_have_count(0)
    # And a visitor not signed in reads its public posts, with a way to sign in and no composer
    visitor = browser.new_context()
    try:
        page = visitor.new_page()
        page.goto(f"{node.url}/communities/{handle}")
        expect(post_card(page, f"newest-{tag}")).to_be_visible()
        expect(page.get_by_role("link", name="Sign in to join")).to_be_visible()
        expect(page.locator("form.community-compose")).to_have_count(0)
        # And a handle that is no community is not found
        assert page.goto(f"{node.url}/communities/rita@{peer}").status == 404  # type: ignore[union-attr]
    finally:
        visitor.close()
    shot(lena, f"communities-{size}-peer-left", full_page=True)
