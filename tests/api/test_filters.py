"""Filters v2 (and the v1 view) through the client API, and their effect on what the viewer
reads: `filtered` in timelines, threads and notifications, `hide` removing posts with paging
kept exact. Mastodon.py 2.3.3 exercises the filter calls as a real client sends them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import mastodon
import pytest

from node import filters
from storage.models import utcnow
from tests.api.conftest import SignIn
from tests.api.social import Client, account_id, add_user, call, post

T = TypeVar("T")


async def _run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(fn, *args, **kwargs)


def _client(api: Client, token: str) -> mastodon.Mastodon:
    return mastodon.Mastodon(access_token=token, api_base_url=str(api.make_url("")).rstrip("/"), version_check_mode="none")


async def _filter(api: Client, token: str, **body: Any) -> dict[str, Any]:
    result: dict[str, Any] = await call(api, "POST", "/api/v2/filters", token, json=body)
    return result


async def _follow(api: Client, token: str, username: str) -> None:
    await call(api, "POST", f"/api/v1/accounts/{await account_id(api, username)}/follow", token)


async def test_mastodon_py_filter_v2_calls(api: Client, sign_in: SignIn) -> None:
    alice = _client(api, await sign_in("alice"))
    # When alice creates a filter with two keywords through Mastodon.py
    made = await _run(alice.create_filter_v2, "Spoilers", ["home", "public"], "warn", expires_in=3600,
                      keywords_attributes=[{"keyword": "finale", "whole_word": True}, {"keyword": "plot", "whole_word": False}])
    # Then it reads back with its keywords, contexts, action and expiry
    assert (made.title, made.context, made.filter_action) == ("Spoilers", ["home", "public"], "warn")
    assert [(k.keyword, k.whole_word) for k in made.keywords] == [("finale", True), ("plot", False)]
    assert made.expires_at is not None
    assert [f.id for f in await _run(alice.filters_v2)] == [made.id]
    assert (await _run(alice.filter_v2, made.id)).title == "Spoilers"
    # And a keyword added alone, then the filter changed: renamed, a keyword dropped, hide
    added = await _run(alice.add_filter_keyword_v2, made.id, "ending", whole_word=True)
    finale = made.keywords[0]
    changed = await _run(alice.update_filter_v2, made.id, title="No spoilers", filter_action="hide",
                         keywords_attributes=[{"id": finale.id, "_destroy": True}])
    assert (changed.title, changed.filter_action) == ("No spoilers", "hide")
    assert sorted(k.keyword for k in changed.keywords) == ["ending", "plot"]
    assert [k.keyword for k in await _run(alice.filter_keywords_v2, made.id)] == ["plot", "ending"]
    await _run(alice.delete_filter_keyword_v2, added.id)
    assert [k.keyword for k in await _run(alice.filter_keywords_v2, made.id)] == ["plot"]
    # And a post named by the filter
    bob = await sign_in("bob")
    status = await post(api, bob, "a whole post to hide")
    named = await _run(alice.add_filter_status_v2, made.id, status["id"])
    assert str(named.status_id) == status["id"]
    assert [str(s.id) for s in await _run(alice.filter_statuses_v2, made.id)] == [str(named.id)]
    assert str((await _run(alice.filter_status_v2, named.id)).status_id) == status["id"]
    await _run(alice.delete_filter_status_v2, named.id)
    assert await _run(alice.filter_statuses_v2, made.id) == []
    # And the v1 view shows each keyword as a filter; a v1 filter is a v2 filter of one keyword
    [v1] = await _run(alice.filters)
    assert (v1.phrase, v1.irreversible, v1.whole_word) == ("plot", True, False)
    old = await _run(alice.filter_create, "rumour", ["home"], irreversible=False, whole_word=True)
    assert {f.title for f in await _run(alice.filters_v2)} == {"No spoilers", "rumour"}
    assert (await _run(alice.filter_update, old.id, phrase="rumours")).phrase == "rumours"
    await _run(alice.filter_delete, old.id)
    assert [f.phrase for f in await _run(alice.filters)] == ["plot"]
    # When she deletes the filter, it is gone
    await _run(alice.delete_filter_v2, made.id)
    assert await _run(alice.filters_v2) == []


async def test_warn_marks_and_hide_removes_in_home_and_public(api: Client, sign_in: SignIn) -> None:
    alice, bob = await sign_in("alice"), await sign_in("bob")
    await _follow(api, alice, "bob")
    warn = await _filter(api, alice, title="Football", context=["home"], filter_action="warn",
                         keywords_attributes=[{"keyword": "goal", "whole_word": True}])
    await _filter(api, alice, title="Crypto", context=["home", "public"], filter_action="hide",
                  keywords_attributes=[{"keyword": "coin", "whole_word": False}])
    plain = await post(api, bob, "lunch at noon")
    goal = await post(api, bob, "What a GOAL!")
    goals = await post(api, bob, "goalkeeper training")  # whole word: not a match
    coin = await post(api, bob, "buy bitcoins now")  # substring: a match
    # Then her home timeline carries the warn filter's result, and the hidden post is absent
    home = {s["id"]: s for s in await call(api, "GET", "/api/v1/timelines/home", alice)}
    assert coin["id"] not in home and {plain["id"], goal["id"], goals["id"]} <= set(home)
    [result] = home[goal["id"]]["filtered"]
    assert result["filter"]["id"] == warn["id"] and result["filter"]["filter_action"] == "warn"
    assert result["keyword_matches"] == ["goal"] and result["status_matches"] is None
    assert home[goals["id"]]["filtered"] == [] and home[plain["id"]]["filtered"] == []
    # And in the public timeline (not a context of the warn filter) only the hide filter applies
    public = {s["id"]: s for s in await call(api, "GET", "/api/v1/timelines/public", alice)}
    assert coin["id"] not in public and public[goal["id"]]["filtered"] == []
    # And bob, whose filters these are not, sees everything unfiltered
    bobs = {s["id"]: s for s in await call(api, "GET", "/api/v1/timelines/public", bob)}
    assert coin["id"] in bobs and all(s["filtered"] == [] for s in bobs.values())
    # And the hashtag, account and thread contexts follow their own filters
    await _filter(api, alice, title="Profile", context=["account", "thread"], filter_action="warn",
                  keywords_attributes=[{"keyword": "lunch"}])
    statuses = {s["id"]: s for s in await call(api, "GET", f"/api/v1/accounts/{await account_id(api, 'bob')}/statuses", alice)}
    assert [r["filter"]["title"] for r in statuses[plain["id"]]["filtered"]] == ["Profile"]
    reply = await post(api, alice, "see you at lunch", in_reply_to_id=goal["id"])
    thread = await call(api, "GET", f"/api/v1/statuses/{goal['id']}/context", alice)
    assert [r["filter"]["title"] for r in thread["descendants"][0]["filtered"]] == ["Profile"]
    assert thread["descendants"][0]["id"] == reply["id"]


async def test_hide_keeps_paging_exact_and_refills_pages(api: Client, sign_in: SignIn) -> None:
    alice, bob = await sign_in("alice"), await sign_in("bob")
    await _follow(api, alice, "bob")
    await _filter(api, alice, title="Noise", context=["home"], filter_action="hide",
                  keywords_attributes=[{"keyword": "noise"}])
    kept = [await post(api, bob, f"signal {n}") for n in range(3)]
    for n in range(6):
        await post(api, bob, f"noise {n}")
    newest = [await post(api, bob, f"signal {n}") for n in range(3, 5)]
    # When she reads her home timeline three at a time
    seen: list[str] = []
    params: dict[str, str] = {"limit": "3"}
    for _ in range(5):
        resp = await api.get("/api/v1/timelines/home", params=params, headers={"Authorization": f"Bearer {alice}"})
        page = await resp.json()
        if not page:
            break
        seen += [s["id"] for s in page]
        nxt = resp.headers["Link"].split(",")[0].split(";")[0].strip()[1:-1]
        params = {"limit": "3", "max_id": nxt.split("max_id=")[1].split("&")[0]}
    # Then every signal arrives once, in order, though six hidden posts sat between them
    assert seen == [s["id"] for s in reversed(kept + newest)]


async def test_expiry_with_a_moved_clock(api: Client, sign_in: SignIn, monkeypatch: pytest.MonkeyPatch) -> None:
    alice, bob = await sign_in("alice"), await sign_in("bob")
    made = await _filter(api, alice, title="Today", context=["public"], filter_action="hide", expires_in=60,
                         keywords_attributes=[{"keyword": "launch"}])
    launch = await post(api, bob, "launch day")
    ids = [s["id"] for s in await call(api, "GET", "/api/v1/timelines/public", alice)]
    assert launch["id"] not in ids
    # When the clock moves past its expiry
    monkeypatch.setattr(filters, "now", lambda: utcnow() + timedelta(seconds=61))
    # Then the filter no longer applies (it is still listed, with its expiry)
    ids = [s["id"] for s in await call(api, "GET", "/api/v1/timelines/public", alice)]
    assert launch["id"] in ids
    assert (await call(api, "GET", f"/api/v2/filters/{made['id']}", alice))["expires_at"] == made["expires_at"]
    # And an update with an empty expires_in makes it permanent again
    kept = await call(api, "PUT", f"/api/v2/filters/{made['id']}", alice, json={"expires_in": None})
    assert kept["expires_at"] is None
    assert launch["id"] not in [s["id"] for s in await call(api, "GET", "/api/v1/timelines/public", alice)]


async def test_notifications_are_filtered(api: Client, sign_in: SignIn) -> None:
    alice, bob = await sign_in("alice"), await sign_in("bob")
    await _filter(api, alice, title="Sales", context=["notifications"], filter_action="warn",
                  keywords_attributes=[{"keyword": "discount"}])
    await _filter(api, alice, title="Spam", context=["notifications"], filter_action="hide",
                  keywords_attributes=[{"keyword": "winner"}])
    warned = await post(api, bob, "@alice a discount for you")
    hidden = await post(api, bob, "@alice you are a winner")
    plain = await post(api, bob, "@alice hello")
    notes = {n["status"]["id"]: n for n in await call(api, "GET", "/api/v1/notifications", alice)}
    assert hidden["id"] not in notes and {warned["id"], plain["id"]} <= set(notes)
    assert [r["filter"]["title"] for r in notes[warned["id"]]["status"]["filtered"]] == ["Sales"]
    assert notes[plain["id"]]["status"]["filtered"] == []
    # And the home timeline, not a context of these filters, shows all three unmarked
    home = {s["id"]: s for s in await call(api, "GET", "/api/v1/timelines/home", alice)}
    assert hidden["id"] in home and home[warned["id"]]["filtered"] == []


async def test_others_filters_are_404_and_scopes_hold(api: Client, sign_in: SignIn) -> None:
    alice, bob = await sign_in("alice"), await sign_in("bob")
    made = await _filter(api, alice, title="Mine", context=["home"], keywords_attributes=[{"keyword": "x"}])
    kid = made["keywords"][0]["id"]
    status = await post(api, alice, "my own post")
    fs = await call(api, "POST", f"/api/v2/filters/{made['id']}/statuses", alice, data={"status_id": status["id"]})
    for method, path in [
        ("GET", f"/api/v2/filters/{made['id']}"), ("PUT", f"/api/v2/filters/{made['id']}"),
        ("DELETE", f"/api/v2/filters/{made['id']}"), ("GET", f"/api/v2/filters/{made['id']}/keywords"),
        ("POST", f"/api/v2/filters/{made['id']}/keywords"), ("GET", f"/api/v2/filters/keywords/{kid}"),
        ("PUT", f"/api/v2/filters/keywords/{kid}"), ("DELETE", f"/api/v2/filters/keywords/{kid}"),
        ("GET", f"/api/v2/filters/statuses/{fs['id']}"), ("DELETE", f"/api/v2/filters/statuses/{fs['id']}"),
        ("GET", f"/api/v1/filters/{kid}"), ("PUT", f"/api/v1/filters/{kid}"), ("DELETE", f"/api/v1/filters/{kid}"),
        ("GET", "/api/v2/filters/99999999"), ("GET", "/api/v2/filters/abc"),
    ]:
        await call(api, method, path, bob, expect=404, data={"keyword": "y", "title": "t"})
    assert await call(api, "GET", "/api/v2/filters", bob) == []
    assert (await call(api, "GET", f"/api/v2/filters/{made['id']}", alice))["keywords"][0]["keyword"] == "x"
    # Scopes: read:filters reads, write:filters writes, nothing else does either
    await call(api, "GET", "/api/v2/filters", await sign_in("alice", "read:statuses"), expect=403)
    await call(api, "POST", "/api/v2/filters", await sign_in("alice", "read:filters"), expect=403,
               json={"title": "t", "context": ["home"]})
    assert len(await call(api, "GET", "/api/v2/filters", await sign_in("alice", "read:filters"))) == 1
    await call(api, "POST", "/api/v2/filters", await sign_in("alice", "write:filters"), json={"title": "t", "context": ["home"]})
    await call(api, "GET", "/api/v2/filters", None, expect=401)
    # A post bob cannot see cannot be named in his filter
    secret = await post(api, alice, "only me", visibility="direct")
    his = await _filter(api, bob, title="His", context=["home"])
    await call(api, "POST", f"/api/v2/filters/{his['id']}/statuses", bob, expect=404, data={"status_id": secret["id"]})


async def test_hostile_filter_input(api: Client, sign_in: SignIn) -> None:
    alice = await sign_in("alice")
    bad: list[dict[str, Any]] = [
        {"context": ["home"]},  # no title
        {"title": "t"},  # no context
        {"title": "t", "context": ["home", "everywhere"]},
        {"title": "t", "context": ["home"], "filter_action": "explode"},
        {"title": "t", "context": ["home"], "expires_in": -5},
        {"title": "t", "context": ["home"], "expires_in": "soon"},
        {"title": "t", "context": ["home"], "expires_in": 10**15},
        {"title": "x" * 300, "context": ["home"]},
        {"title": "t", "context": ["home"], "keywords_attributes": [{"keyword": "k" * 600}]},
        {"title": "t", "context": ["home"], "keywords_attributes": [{"keyword": ""}]},
        {"title": "t", "context": ["home"], "keywords_attributes": [{"keyword": "a\x00b"}]},
        {"title": "t", "context": ["home"], "keywords_attributes": ["not an object"]},
        {"title": "t", "context": ["home"], "keywords_attributes": [{"keyword": "k", "whole_word": "perhaps"}]},
        {"title": "t", "context": ["home"], "keywords_attributes": [{"keyword": f"k{i}"} for i in range(1000)]},
    ]
    for body in bad:
        await call(api, "POST", "/api/v2/filters", alice, expect=422, json=body)
    # Nothing was half-written
    assert await call(api, "GET", "/api/v2/filters", alice) == []
    # A filter cannot grow past its keyword cap one keyword at a time either
    made = await _filter(api, alice, title="Many", context=["home"],
                         keywords_attributes=[{"keyword": f"k{i}"} for i in range(filters.MAX_KEYWORDS)])
    assert len(made["keywords"]) == filters.MAX_KEYWORDS
    await call(api, "POST", f"/api/v2/filters/{made['id']}/keywords", alice, expect=422, data={"keyword": "one more"})
    # And a keyword of another filter cannot be changed through this one
    other = await _filter(api, alice, title="Other", context=["home"], keywords_attributes=[{"keyword": "o"}])
    await call(api, "PUT", f"/api/v2/filters/{made['id']}", alice, expect=404,
               json={"keywords_attributes": [{"id": other["keywords"][0]["id"], "keyword": "stolen"}]})
    assert (await call(api, "GET", f"/api/v2/filters/{other['id']}", alice))["keywords"][0]["keyword"] == "o"
    # A Rails form body works as Mastodon's web app sends it
    form = await call(api, "POST", "/api/v2/filters", alice, data=[
        ("title", "Form"), ("context[]", "home"), ("context[]", "thread"),
        ("keywords_attributes[][keyword]", "one"), ("keywords_attributes[][whole_word]", "false"),
        ("keywords_attributes[][keyword]", "two"),
    ])
    assert form["context"] == ["home", "thread"]
    assert [(k["keyword"], k["whole_word"]) for k in form["keywords"]] == [("one", False), ("two", True)]
    # And a filter at its keyword cap still matches, in the contexts it is changed to
    await add_user(api, "carol")
    carol = await sign_in("carol")
    await call(api, "PUT", f"/api/v2/filters/{made['id']}", alice, json={"context": ["public"]})
    matching = await post(api, carol, "K199 and more")
    statuses = {s["id"]: s for s in await call(api, "GET", "/api/v1/timelines/public", alice)}
    [result] = statuses[matching["id"]]["filtered"]
    assert result["filter"]["title"] == "Many" and result["keyword_matches"] == ["k199"]


async def test_streamed_posts_are_filtered(api: Client, sign_in: SignIn) -> None:
    alice, bob = await sign_in("alice"), await sign_in("bob")
    await _follow(api, alice, "bob")
    await _filter(api, alice, title="Hidden", context=["home"], filter_action="hide",
                  keywords_attributes=[{"keyword": "secret"}])
    await _filter(api, alice, title="Careful", context=["home", "notifications"], filter_action="warn",
                  keywords_attributes=[{"keyword": "spoiler"}])
    # Given alice on her user stream
    async with api.ws_connect(f"/api/v1/streaming?stream=user&access_token={alice}") as ws:
        # When bob posts a hidden post, a warned one that mentions her, and a plain one
        hidden = await post(api, bob, "the secret plan")
        warned = await post(api, bob, "@alice spoiler ahead")
        plain = await post(api, bob, "plain words")
        seen: list[dict[str, Any]] = []
        while not any(m["event"] == "update" and json.loads(m["payload"])["id"] == plain["id"] for m in seen):
            seen.append(await ws.receive_json(timeout=60))
    updates = {json.loads(m["payload"])["id"]: json.loads(m["payload"]) for m in seen if m["event"] == "update"}
    notes = [json.loads(m["payload"]) for m in seen if m["event"] == "notification"]
    # Then the hidden post never arrived, the warned one carries its filter, in the post and the notification
    assert hidden["id"] not in updates
    assert [r["filter"]["title"] for r in updates[warned["id"]]["filtered"]] == ["Careful"]
    assert updates[plain["id"]]["filtered"] == []
    assert [[r["filter"]["title"] for r in n["status"]["filtered"]] for n in notes] == [["Careful"]]
