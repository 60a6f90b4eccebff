"""Grouped notifications (`/api/v2/notifications`, Mastodon 4.3) through Mastodon.py 2.3.3 and
raw HTTP against a node serving its own app, both engines: likes and boosts of one post and
follows group, everything else stands alone; paging, filters, one group, its accounts,
dismissing it, the unread counts; and other people's keys are nobody's business."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import mastodon

from tests.api.conftest import SignIn, auth
from tests.api.social import Client, account_id, add_user, call, post

T = TypeVar("T")


async def _run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(fn, *args, **kwargs)  # Mastodon.py blocks; the node runs on this loop


def _client(api: Client, token: str) -> mastodon.Mastodon:
    return mastodon.Mastodon(access_token=token, api_base_url=str(api.make_url("")).rstrip("/"), version_check_mode="none")


async def _busy_alice(api: Client, sign_in: SignIn) -> tuple[str, dict[str, Any], dict[str, str]]:
    """alice's post liked by bob then carol and boosted by bob; lena and carol follow her; bob
    mentions her. Returns her token, the post and everyone's ids."""
    for name in ("carol", "lena"):
        await add_user(api, name)
    alice = await sign_in("alice")
    bob, carol, lena = await sign_in("bob"), await sign_in("carol"), await sign_in("lena")
    ids = {name: await account_id(api, name) for name in ("alice", "bob", "carol", "lena")}
    status = await post(api, alice, "a post worth liking")
    for token in (bob, carol):
        await call(api, "POST", f"/api/v1/statuses/{status['id']}/favourite", token)
    await call(api, "POST", f"/api/v1/statuses/{status['id']}/reblog", bob)
    for token in (lena, carol):
        await call(api, "POST", f"/api/v1/accounts/{ids['alice']}/follow", token)
    await post(api, bob, "@alice have a look")
    return alice, status, ids


async def test_mastodon_py_reads_grouped_notifications_with_their_accounts_and_statuses(
    api: Client, sign_in: SignIn
) -> None:
    # Given alice's post liked by two people and boosted by one, two new followers and a mention
    token, status, ids = await _busy_alice(api, sign_in)
    alice = _client(api, token)
    # When Mastodon.py reads her grouped notifications
    results = await _run(alice.grouped_notifications, expand_accounts="full")
    # Then likes are one group of two (newest first), the boost, the follows and the mention each one group
    groups = {(g.type, g.notifications_count) for g in results.notification_groups}
    assert groups == {("favourite", 2), ("reblog", 1), ("follow", 2), ("mention", 1)}
    [likes] = [g for g in results.notification_groups if g.type == "favourite"]
    assert [str(a) for a in likes.sample_account_ids] == [ids["carol"], ids["bob"]]
    assert str(likes.status_id) == status["id"] and likes.group_key.startswith(f"favourite-{status['id']}-")
    v1 = await _run(alice.notifications, types=["favourite"])  # v1 carries the same key
    assert [n.group_key for n in v1] == [likes.group_key, likes.group_key]
    [follows] = [g for g in results.notification_groups if g.type == "follow"]
    assert [str(a) for a in follows.sample_account_ids] == [ids["carol"], ids["lena"]]
    [mention] = [g for g in results.notification_groups if g.type == "mention"]
    assert mention.group_key == f"ungrouped-{mention.most_recent_notification_id}"
    # ... newest group first, with the accounts and statuses beside them, each once
    heads = [int(g.most_recent_notification_id) for g in results.notification_groups]
    assert heads == sorted(heads, reverse=True)
    assert {str(a.id) for a in results.accounts} == {ids["bob"], ids["carol"], ids["lena"]}
    assert status["id"] in {str(s.id) for s in results.statuses}
    # And the unread counts: six notifications in four groups
    assert (await _run(alice.notifications_unread_count)).count == 6
    assert (await call(api, "GET", "/api/v2/notifications/unread_count", token))["count"] == 4
    # And Mastodon.py's default (partial avatars) and its account filter
    partial = await _run(alice.grouped_notifications)
    assert {str(a.id) for a in partial.accounts} == {ids["bob"], ids["carol"]}  # each group's newest
    assert {str(a.id) for a in partial.partial_accounts} == {ids["lena"]}
    from_bob = await _run(alice.grouped_notifications, account_id=ids["bob"], expand_accounts="full")
    assert sorted(g.type for g in from_bob.notification_groups) == ["favourite", "mention", "reblog"]


async def test_grouped_types_filters_pages_one_group_its_accounts_and_dismissing_it(api: Client, sign_in: SignIn) -> None:
    token, status, ids = await _busy_alice(api, sign_in)
    alice = _client(api, token)
    # Given a client that groups nothing but follows: likes come one by one
    body = await call(api, "GET", "/api/v2/notifications?grouped_types[]=follow", token)
    assert sorted(g["type"] for g in body["notification_groups"]) == ["favourite", "favourite", "follow", "mention", "reblog"]
    # Only likes, and all but likes
    only = await call(api, "GET", "/api/v2/notifications?types[]=favourite", token)
    assert [g["type"] for g in only["notification_groups"]] == ["favourite"]
    rest = await call(api, "GET", "/api/v2/notifications?exclude_types[]=favourite&exclude_types[]=follow", token)
    assert sorted(g["type"] for g in rest["notification_groups"]) == ["mention", "reblog"]
    # Paging one group at a time by the Link header reaches every group, newest first; as with
    # Mastodon, a group whose notifications interleave with another's can show on two pages
    # (clients merge by group_key), and no notification is on two pages
    seen, url = [], "/api/v2/notifications?limit=1"
    while url:
        resp = await api.get(url, headers=auth(token))
        page = await resp.json()
        if not page["notification_groups"]:
            break
        [g] = page["notification_groups"]
        assert g["page_min_id"] <= g["page_max_id"] and g["latest_page_notification_at"]
        seen.append((g["type"], g["page_min_id"], g["page_max_id"]))
        url = "/" + str(resp.links["next"]["url"]).split("/", 3)[-1] if "next" in resp.links else ""
    assert sorted({t for t, _, _ in seen}) == ["favourite", "follow", "mention", "reblog"]
    spans = sorted((int(lo), int(hi)) for _, lo, hi in seen)
    assert all(hi < next_lo for (_, hi), (next_lo, _) in zip(spans, spans[1:], strict=False))
    # One group, counted over all of it, and who is in it (Mastodon.py)
    likes_key = next(g["group_key"] for g in only["notification_groups"])
    one = await call(api, "GET", f"/api/v2/notifications/{likes_key}", token)
    assert [g["notifications_count"] for g in one["notification_groups"]] == [2]
    people = await _run(alice.grouped_notification_accounts, likes_key)
    assert [str(a.id) for a in people] == [ids["carol"], ids["bob"]]
    # Dismissing it removes the whole group, and only it
    await _run(alice.dismiss_grouped_notification, likes_key)
    after = await _run(alice.grouped_notifications)
    assert "favourite" not in {g.type for g in after.notification_groups} and len(after.notification_groups) == 3
    await call(api, "GET", f"/api/v2/notifications/{likes_key}", token, expect=404)
    # A notifications marker counts only what is newer
    newest = max(int(g.most_recent_notification_id) for g in after.notification_groups)
    await call(api, "POST", "/api/v1/markers", token, data={"notifications[last_read_id]": str(newest)})
    assert (await call(api, "GET", "/api/v2/notifications/unread_count", token))["count"] == 0


async def test_partial_avatars_put_all_but_each_groups_newest_account_aside(api: Client, sign_in: SignIn) -> None:
    token, _, ids = await _busy_alice(api, sign_in)
    body = await call(api, "GET", "/api/v2/notifications?types[]=favourite&expand_accounts=partial_avatars", token)
    assert [a["id"] for a in body["accounts"]] == [ids["carol"]]
    assert [a["id"] for a in body["partial_accounts"]] == [ids["bob"]]
    assert set(body["partial_accounts"][0]) == {"id", "acct", "locked", "bot", "url", "avatar", "avatar_static"}


async def test_hostile_group_keys_and_parameters_are_refused_without_touching_anything(
    api: Client, sign_in: SignIn
) -> None:
    # Given alice's groups, and bob who has notifications of his own
    token, _, _ = await _busy_alice(api, sign_in)
    bob = await sign_in("bob")
    keys = [g["group_key"] for g in (await call(api, "GET", "/api/v2/notifications", token))["notification_groups"]]
    # When bob asks for, lists or dismisses alice's groups: 404, and hers are still there
    for key in keys:
        await call(api, "GET", f"/api/v2/notifications/{key}", bob, expect=404)
        await call(api, "GET", f"/api/v2/notifications/{key}/accounts", bob, expect=404)
        await call(api, "POST", f"/api/v2/notifications/{key}/dismiss", bob, expect=404)
    assert len((await call(api, "GET", "/api/v2/notifications", token))["notification_groups"]) == len(keys)
    # Keys no group has, of any shape: 404 (never 500)
    for key in ("ungrouped-1", "favourite-1-1", "x" * 64, "x" * 65, "%27%20OR%201=1", "follow-99999999999999999999"):
        resp = await api.get(f"/api/v2/notifications/{key}", headers=auth(token))
        assert resp.status == 404, key
    # Bad parameters: 422 with a reason
    for query in ("expand_accounts=everything", "limit=-1", "max_id=abc"):
        await call(api, "GET", f"/api/v2/notifications?{query}", token, expect=422)
    await call(api, "GET", "/api/v2/notifications/unread_count?limit=x", token, expect=422)
    # Without a token: 401
    await call(api, "GET", "/api/v2/notifications", None, expect=401)
    # A read-only token cannot dismiss
    reader = await sign_in("alice", scope="read")
    await call(api, "POST", f"/api/v2/notifications/{keys[0]}/dismiss", reader, expect=403)
