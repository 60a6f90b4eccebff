"""Hostile input to the tag, featured-tag, trend and suggestion routes: 4xx with a reason,
nothing written."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from tests.api.conftest import SignIn, auth
from tests.api.social import Client, call


async def test_odd_tag_names_are_refused_with_a_reason(api: Client, sign_in: SignIn) -> None:
    alice = await sign_in("alice")
    # Given names no hashtag could have (percent-encoded in the path)
    for bad in ("a b", "x" * 300, "tag!", "<script>", "%00", "#", "a.b", "\u202e", "😀"):
        path = f"/api/v1/tags/{quote(bad, safe='')}"
        # Then reading or following them is 422 with Mastodon's error body, and nothing is followed
        await call(api, "GET", path, alice, expect=422)
        await call(api, "POST", f"{path}/follow", alice, expect=422)
    assert await call(api, "GET", "/api/v1/followed_tags", alice) == []
    # And an unknown but valid name answers an unused tag, not an error
    fresh = await call(api, "GET", "/api/v1/tags/Nobody_Used_This", alice)
    assert fresh["name"] == "nobody_used_this" and fresh["following"] is False
    assert [d["uses"] for d in fresh["history"]] == ["0"] * 7
    # And following needs a token with write:follows
    await call(api, "POST", "/api/v1/tags/ok/follow", expect=401)
    await call(api, "POST", "/api/v1/tags/ok/follow", await sign_in("alice", "read"), expect=403)


async def test_a_thousand_featured_tags_stop_at_the_limit(api: Client, sign_in: SignIn) -> None:
    alice = await sign_in("alice")

    async def feature(n: int) -> int:
        resp = await api.post("/api/v1/featured_tags", data={"name": f"t{n}"}, headers=auth(alice))
        await resp.read()
        return resp.status

    # When alice asks to feature 1,000 tags, 100 at a time (10,000 pass too, in 90 s on a loaded machine)
    statuses: list[int] = []
    for start in range(0, 1_000, 100):
        statuses += await asyncio.gather(*(feature(n) for n in range(start, start + 100)))
    # Then ten were featured and every other request was a 422
    assert statuses.count(200) == 10 and statuses.count(422) == 990
    assert len(await call(api, "GET", "/api/v1/featured_tags", alice)) == 10
    # And a missing or odd name is a 422, someone else's featured tag a 404
    await call(api, "POST", "/api/v1/featured_tags", alice, expect=422, data={})
    await call(api, "POST", "/api/v1/featured_tags", alice, expect=422, data={"name": "no spaces"})
    mine = (await call(api, "GET", "/api/v1/featured_tags", alice))[0]["id"]
    await call(api, "DELETE", f"/api/v1/featured_tags/{mine}", await sign_in("bob"), expect=404)


async def test_trends_and_suggestions_refuse_bad_parameters(api: Client, sign_in: SignIn) -> None:
    alice = await sign_in("alice")
    for route in ("tags", "statuses", "links"):
        await call(api, "GET", f"/api/v1/trends/{route}", alice, expect=422, params={"limit": "abc"})
        await call(api, "GET", f"/api/v1/trends/{route}", alice, expect=422, params={"offset": "-1"})
        assert await call(api, "GET", f"/api/v1/trends/{route}", params={"limit": "99999"}) == []
    await call(api, "GET", "/api/v2/suggestions", expect=401)
    await call(api, "DELETE", "/api/v1/suggestions/99999999", alice, expect=404)
    await call(api, "DELETE", "/api/v1/suggestions/99999999999999999999", alice, expect=404)
