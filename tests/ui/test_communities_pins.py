"""A community's pins in the web UI (web/ui/templates/community.html's moderator row, the form
routes of web/ui/pages_pins.py): a moderator pins a post written to the community, which then
shows first on its page, labelled, and unpins it; a member who is no moderator is offered no
pin and a pin she sends herself is refused — at 1280 and 390 px, with axe-core passing."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from node import accounts, communities, posts
from node.context import NodeContext
from node.posts import NewPost
from tests.ui.conftest import UINode, post_card
from tests.ui.test_communities import checked, notice
from tests.ui.test_own_lists import Open, on_node, open_as, size  # noqa: F401 - fixtures

__all__ = ["open_as", "size"]


def first_post_text(page: Page) -> str:
    return page.locator("article.post").first.inner_text()


def test_a_moderator_pins_a_post_first_and_a_member_cannot(node: UINode, open_as: Open, size: str) -> None:  # noqa: F811
    tag = uuid.uuid4().hex[:6]
    name = f"pins-{size[:2]}-{tag}"
    made: dict[str, int] = {}

    async def seed(ctx: NodeContext) -> None:
        # Given alice's community, with lena and mallory in it, and two posts of lena's (the older first)
        alice = await accounts.get_local(ctx, "alice")
        group = await communities.create_community(ctx, name, audience="organization", creator=alice,
                                                   display_name=f"Release Train {tag}")
        for who in ("lena", "mallory"):
            await communities.join(ctx, await accounts.get_local(ctx, who), group.id)
        lena = await accounts.get_local(ctx, "lena")
        for word in ("older", "newer"):
            post = await posts.post_as(ctx, lena, NewPost(text=f"{word}-{tag}: release notes",
                                                          visibility="organization", community_id=group.id))
            made[word] = post.id
        made["group"] = group.id

    on_node(node, seed)
    alice, mallory = open_as(node, "alice"), open_as(node, "mallory")
    # When alice, its moderator, opens its page: the newest post first, each with Pin to community
    alice.goto(f"{node.url}/communities/{name}")
    assert f"newer-{tag}" in first_post_text(alice)
    expect(alice.locator(".pinned-posts")).to_have_count(0)
    older = post_card(alice, f"older-{tag}").locator("xpath=..")
    # And she pins the older one
    older.get_by_role("button", name="Pin to community the post by @lena").click()
    # Then it shows first, in the pinned posts, labelled, with Unpin — and not again below
    pinned = alice.get_by_role("region", name="Pinned posts")
    expect(pinned).to_contain_text(f"older-{tag}")
    expect(pinned.locator(".pinned-label")).to_have_text(re.compile("Pinned"))
    assert f"older-{tag}" in first_post_text(alice)
    expect(alice.locator("article.post", has_text=f"older-{tag}")).to_have_count(1)
    expect(pinned.get_by_role("button", name="Unpin the post by @lena")).to_be_visible()
    checked(alice, f"communities-{size}-pinned")
    # And mallory, a member who is no moderator, sees it first too, with no pin control
    mallory.goto(f"{node.url}/communities/{name}")
    assert f"older-{tag}" in first_post_text(mallory)
    expect(mallory.get_by_role("region", name="Pinned posts")).to_contain_text(f"older-{tag}")
    expect(mallory.get_by_role("button", name=re.compile("^(Pin to community|Unpin)"))).to_have_count(0)
    # And a pin (or an unpin) she sends herself is refused, and changes nothing
    token = mallory.locator("form.community-compose input[name=csrf]").input_value()
    for action in (f"pins/{made['newer']}", f"pins/{made['older']}/remove"):
        refused = mallory.request.post(f"{node.url}/communities/{made['group']}/{action}",
                                       form={"csrf": token, "next": f"/communities/{name}"}, max_redirects=0)
        assert refused.status == 403, action
        assert "moderators" in refused.text()
    mallory.reload()
    pinned_for_mallory = mallory.get_by_role("region", name="Pinned posts")
    expect(pinned_for_mallory.locator("article.post")).to_have_count(1)
    expect(pinned_for_mallory).to_contain_text(f"older-{tag}")
    # When alice unpins it, the page is back to newest first, with nothing pinned
    alice.get_by_role("region", name="Pinned posts").get_by_role("button", name="Unpin the post by @lena").click()
    expect(alice.locator(".pinned-posts")).to_have_count(0)
    assert f"newer-{tag}" in first_post_text(alice)
    expect(notice(alice)).to_have_count(0)
