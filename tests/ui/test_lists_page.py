"""The Lists pages (web/ui/lists.py): reached from the navigation, a list made, people you
follow added and removed, renamed and made exclusive, its timeline read, deleted — at 1280
and 390 px with axe-core passing; someone else's list is not found."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect

from node import accounts, follows, posts
from node.context import NodeContext
from node.posts import NewPost
from tests.ui.conftest import UINode, post_card, shot
from tests.ui.test_accessibility import violations
from tests.ui.test_own_lists import Open, fits, go_by_nav, on_node, open_as, size  # noqa: F401 - fixtures

__all__ = ["open_as", "size"]


def test_a_list_is_made_filled_read_and_deleted(node: UINode, open_as: Open, size: str) -> None:  # noqa: F811
    tag = f"{size}-{uuid.uuid4().hex[:8]}"

    async def seed(ctx: NodeContext) -> None:
        alice, lena, mallory = [await accounts.get_local(ctx, n) for n in ("alice", "lena", "mallory")]
        for other in (lena, mallory):
            try:
                await follows.follow(ctx, alice, other.id)
            except Exception:  # noqa: BLE001 - already followed by the other size's run
                pass
        await posts.post_as(ctx, lena, NewPost(f"lena-{tag} from the platform team"))
        await posts.post_as(ctx, mallory, NewPost(f"mallory-{tag} elsewhere"))

    on_node(node, seed)
    alice, mallory = open_as(node, "alice"), open_as(node, "mallory")
    # When alice opens Lists from the navigation and names a new list
    go_by_nav(alice, "Lists")
    expect(alice.get_by_role("heading", name="Lists", exact=True)).to_be_visible()
    assert fits(alice) and violations(alice) == []
    shot(alice, f"lists-{size}-index")
    alice.get_by_label("Name").fill(f"Team {tag}")
    alice.get_by_role("button", name="Create list").click()
    # Then she is on its settings, and adds lena from the people she follows
    expect(alice.get_by_role("heading", name=f"Team {tag}")).to_be_visible()
    alice.get_by_role("button", name="Add @lena").click()
    on_list = alice.get_by_role("list", name=f"People on Team {tag}")
    expect(on_list.get_by_role("button", name="Remove @lena")).to_be_visible()
    # When she renames it and keeps its people off her home timeline
    alice.get_by_label("Name").fill(f"Platform {tag}")
    alice.get_by_label("Hide these people’s posts from my home timeline").check()
    alice.get_by_role("button", name="Save").click()
    expect(alice.get_by_role("status")).to_have_text("The list is saved.")
    expect(alice.get_by_role("heading", name=f"Platform {tag}")).to_be_visible()
    assert fits(alice) and violations(alice) == []
    shot(alice, f"lists-{size}-edit", full_page=True)
    edit_url = alice.url
    # Then its timeline has lena's post, not mallory's
    alice.get_by_role("link", name="Posts", exact=True).click()
    expect(post_card(alice, f"lena-{tag}")).to_be_visible()
    assert f"mallory-{tag}" not in alice.content()
    assert fits(alice) and violations(alice) == []
    shot(alice, f"lists-{size}-timeline")
    list_url = alice.url
    # And her home timeline (the list is exclusive) has mallory's post, not lena's
    alice.goto(node.url + "/")
    expect(post_card(alice, f"mallory-{tag}")).to_be_visible()
    assert f"lena-{tag}" not in alice.content()
    # And the Lists page shows it with one person, not on home
    go_by_nav(alice, "Lists")
    item = alice.locator("li.list-item", has_text=f"Platform {tag}")
    expect(item).to_contain_text("1 person · not on home")
    shot(alice, f"lists-{size}-index-one")
    # And mallory cannot open it, nor change it
    for url in (list_url, edit_url):
        mallory.goto(url)
        expect(mallory.get_by_role("heading", name="Not found")).to_be_visible()
        assert f"Platform {tag}" not in mallory.content()
    # When alice removes lena and deletes the list, it is gone
    alice.goto(edit_url)
    alice.get_by_role("button", name="Remove @lena").click()
    expect(alice.get_by_role("list", name=f"People on Platform {tag}").get_by_text("No one yet")).to_be_visible()
    alice.once("dialog", lambda d: d.accept())
    alice.get_by_role("button", name="Delete list").click()
    expect(alice.get_by_role("heading", name="Lists", exact=True)).to_be_visible()
    assert f"Platform {tag}" not in alice.content()
