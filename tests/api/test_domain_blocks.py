"""A person's own domain blocks (`/api/v1/domain_blocks`) through Mastodon.py 2.3.3 and raw HTTP,
both engines: the list pages by the Link header, blocks are idempotent and private to the
person, and hostile input is refused with a reason and writes nothing. What a block hides and
ends across real nodes: tests/api/test_notification_groups_nodes.py."""

from __future__ import annotations

import asyncio

import mastodon
import pytest

from tests.api.conftest import SignIn, auth
from tests.api.social import Client, call


def _client(api: Client, token: str) -> mastodon.Mastodon:
    return mastodon.Mastodon(access_token=token, api_base_url=str(api.make_url("")).rstrip("/"), version_check_mode="none")


async def test_domain_blocks_page_by_link_and_are_each_persons_own(api: Client, sign_in: SignIn) -> None:
    alice, bob = await sign_in("alice"), await sign_in("bob")
    client = _client(api, alice)
    # Given alice blocks three domains (one twice, one in another spelling)
    for domain in ("a.example", "B.Example", "c.example", "a.example"):
        await asyncio.to_thread(client.domain_block, domain)
    # Then Mastodon.py lists them newest first, in canonical form, each once
    assert await asyncio.to_thread(client.domain_blocks) == ["c.example", "b.example", "a.example"]
    # ... two at a time by the Link header
    first = await api.get("/api/v1/domain_blocks?limit=2", headers=auth(alice))
    assert await first.json() == ["c.example", "b.example"]
    nxt = "/" + str(first.links["next"]["url"]).split("/", 3)[-1]
    assert await call(api, "GET", nxt, alice) == ["a.example"]
    # ... and bob's list is his own
    assert await call(api, "GET", "/api/v1/domain_blocks", bob) == []
    # When she unblocks one (twice: nothing to lift is no error, as with Mastodon)
    await asyncio.to_thread(client.domain_unblock, "b.example")
    await call(api, "DELETE", "/api/v1/domain_blocks?domain=b.example", alice)
    assert await asyncio.to_thread(client.domain_blocks) == ["c.example", "a.example"]


@pytest.mark.parametrize("domain", ["", "not a domain/", "x" * 10_000, "a@b.example", "../etc", "0x7f.0.0.1"])
async def test_hostile_domains_are_refused_and_nothing_is_written(api: Client, sign_in: SignIn, domain: str) -> None:
    alice = await sign_in("alice")
    await call(api, "POST", "/api/v1/domain_blocks", alice, expect=422, data={"domain": domain})
    await call(api, "DELETE", "/api/v1/domain_blocks", alice, expect=422, data={"domain": domain})
    assert await call(api, "GET", "/api/v1/domain_blocks", alice) == []


async def test_domain_blocks_need_a_user_and_the_blocks_scopes(api: Client, sign_in: SignIn) -> None:
    await call(api, "GET", "/api/v1/domain_blocks", None, expect=401)
    reader = await sign_in("alice", scope="read")
    await call(api, "POST", "/api/v1/domain_blocks", reader, expect=403, data={"domain": "a.example"})
    writer = await sign_in("alice", scope="write:blocks")
    await call(api, "POST", "/api/v1/domain_blocks", writer, data={"domain": "a.example"})
    await call(api, "GET", "/api/v1/domain_blocks", writer, expect=403)
    # Blocking one's own node's domain is refused
    own = str(api.make_url("")).split("//", 1)[1].rstrip("/")
    await call(api, "POST", "/api/v1/domain_blocks", writer, expect=422, data={"domain": own})
