"""The client address the limits count: the connection's peer, or — only when that peer is a
reverse proxy listed in `server.trusted_proxies` — the right-most address in the proxy's
header that is not itself a trusted proxy. No client chooses its own address by header.

Over real HTTP on loopback: the "proxy" is a client at 127.0.0.4 writing the header as nginx
would; other clients come from 127.0.0.2, 127.0.0.7 and so on.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from atrium.assembly import context_for
from node import settings
from node.ratelimit import Limits, address_key
from node.settings import SETTINGS_FILE
from storage.db import Database
from storage.errors import Invalid
from tests.factory import LocalNode
from tests.security.clients import new_app, password_grant, session_from
from tests.security.conftest import PASSWORD
from web.client import pick, plain

PROXY, CLIENT, OTHER_CLIENT, STRANGER = "127.0.0.4", "127.0.0.7", "127.0.0.8", "127.0.0.2"
TRUSTED = (ipaddress.ip_network("127.0.0.4/32"), ipaddress.ip_network("127.0.0.5/32"))


@pytest.fixture
def limits() -> Limits:
    # 3 requests at once per client address, then (practically) none
    return Limits(inbox_per_address_per_s=0.001, inbox_per_address_burst=3)


@pytest.fixture
def behind_proxy(node: LocalNode) -> LocalNode:
    node.ctx.trusted_proxies = TRUSTED
    return node


async def unsigned(node: LocalNode, source: str, **headers: str) -> int:
    """An unsigned POST to the inbox from `source`: 401 while its address has allowance, then 429."""
    async with session_from(source) as http, http.post(node.inbox, data=b"{}", headers=headers) as r:
        return r.status


def test_the_right_most_address_that_is_not_a_trusted_proxy_is_the_client() -> None:
    # The peer is not a trusted proxy: it is the client, whatever the header says
    assert pick("127.0.0.2", ["127.0.0.9"], TRUSTED) == "127.0.0.2"
    # A trusted proxy recorded who connected to it; what the client wrote before is ignored
    assert pick("127.0.0.4", ["127.0.0.66", "127.0.0.7"], TRUSTED) == "127.0.0.7"
    # Two trusted proxies in a row are both skipped
    assert pick("127.0.0.4", ["127.0.0.66", "127.0.0.7", "127.0.0.5"], TRUSTED) == "127.0.0.7"
    # Nothing recorded, or only proxies: the farthest proxy is as far as anything is known
    assert pick("127.0.0.4", [], TRUSTED) == "127.0.0.4"
    assert pick("127.0.0.4", ["127.0.0.5"], TRUSTED) == "127.0.0.5"
    # Spellings: ports, brackets, quotes, IPv4-mapped IPv6; a proxy's `unknown` is its own key
    assert [plain(a) for a in ("127.0.0.7:4711", '"[::ffff:127.0.0.7]:80"', "[::1]", " 127.0.0.7 ", "unknown")] == \
        ["127.0.0.7", "127.0.0.7", "::1", "127.0.0.7", "unknown"]
    # and the limits count an IPv6 client by its /64, which one client holds whole
    assert address_key("::1") == address_key("::2") == "::/64"
    assert address_key("::ffff:127.0.0.7") == "127.0.0.7"


async def test_an_untrusted_client_cannot_choose_its_address_by_header(behind_proxy: LocalNode) -> None:
    # When a client that is not a trusted proxy names a new address in each request
    statuses = [await unsigned(behind_proxy, STRANGER, **{"X-Forwarded-For": f"127.0.0.{50 + n}",
                                                         "Forwarded": f"for=127.0.0.{50 + n}"})
                for n in range(6)]
    # Then every request still counts as its own: after three, 429
    assert statuses == [401] * 3 + [429] * 3


async def test_a_trusted_proxy_names_the_client_and_each_client_has_its_own_allowance(behind_proxy: LocalNode) -> None:
    # When the proxy forwards a flood from one client (which wrote an address of its own first)
    flood = [await unsigned(behind_proxy, PROXY, **{"X-Forwarded-For": f"127.0.0.{60 + n}, {CLIENT}"})
             for n in range(5)]
    # Then that client is limited, under its own address, not the one it wrote
    assert flood == [401] * 3 + [429] * 2
    # while another client behind the same proxy is not
    assert await unsigned(behind_proxy, PROXY, **{"X-Forwarded-For": OTHER_CLIENT}) == 401
    # When the proxy reaches the node through a second trusted proxy, the client is still found
    assert await unsigned(behind_proxy, PROXY, **{"X-Forwarded-For": f"{CLIENT}, 127.0.0.5"}) == 429


async def test_sign_in_behind_a_proxy_counts_each_client_apart(behind_proxy: LocalNode) -> None:
    # Given a wrong-password flood for alice that a trusted proxy forwards from one client
    app = await new_app(behind_proxy.ctx.base_url)

    async def grant(client: str, password: str) -> int:
        async with session_from(PROXY) as http, http.post(f"{behind_proxy.ctx.base_url}/oauth/token", data={
            "grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
            "username": "alice", "password": password, "scope": "read",
        }, headers={"X-Forwarded-For": client}) as r:
            return r.status

    assert [await grant(CLIENT, f"guess {n}") for n in range(7)] == [400] * 5 + [429] * 2
    # When alice signs in through the same proxy, from her own address
    # Then she is in: the proxy's address is not what was counted
    assert await grant(OTHER_CLIENT, PASSWORD) == 200
    # and a client that reaches the node directly, naming alice's address, does not become her
    assert (await password_grant(behind_proxy.ctx.base_url, app, "alice", "guess", source=STRANGER)).status == 400


async def test_the_forwarded_header_is_read_when_the_proxies_write_it(behind_proxy: LocalNode) -> None:
    # Given proxies that write RFC 7239 Forwarded (and so pass a client's X-Forwarded-For on untouched)
    behind_proxy.ctx.proxy_header = "Forwarded"
    # When one client floods through the proxy, claiming other addresses in X-Forwarded-For
    flood = [await unsigned(behind_proxy, PROXY, Forwarded=f'for="{CLIENT}:4711";proto=http',
                            **{"X-Forwarded-For": f"127.0.0.{70 + n}"}) for n in range(4)]
    # Then it is counted under the address in Forwarded, and another client is not
    assert flood == [401] * 3 + [429]
    assert await unsigned(behind_proxy, PROXY, Forwarded=f"for={OTHER_CLIENT}") == 401


def test_the_proxy_settings_are_checked_when_read(tmp_path: Path) -> None:
    toml = tmp_path / SETTINGS_FILE
    # Given addresses and ranges, they are the trusted proxies, and the header defaults to X-Forwarded-For
    toml.write_text('domain = "social.example"\n[server]\ntrusted_proxies = ["127.0.0.1", "127.0.0.0/29", "::1"]\n')
    loaded = settings.load(tmp_path)
    assert loaded.trusted_proxies == ("127.0.0.1", "127.0.0.0/29", "::1") and loaded.proxy_header == "X-Forwarded-For"
    # Given something that is not an address, or a header the node does not read, the file is refused
    toml.write_text('domain = "social.example"\n[server]\ntrusted_proxies = ["proxy.local"]\n')
    with pytest.raises(Invalid, match="trusted_proxies"):
        settings.load(tmp_path)
    toml.write_text('domain = "social.example"\n[server]\nproxy_header = "X-Real-IP"\n')
    with pytest.raises(Invalid, match="proxy_header"):
        settings.load(tmp_path)
    toml.write_text('domain = "social.example"\n[server]\nproxy_header = "forwarded"\n')
    assert settings.load(tmp_path).proxy_header == "Forwarded"


async def test_a_served_node_reads_its_trusted_proxies_from_the_settings(tmp_path: Path) -> None:
    # A context made from the settings carries the proxies as networks, and the header
    (tmp_path / SETTINGS_FILE).write_text(
        'domain = "social.example"\n[server]\ntrusted_proxies = ["127.0.0.4"]\nproxy_header = "Forwarded"\n')
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        ctx = context_for(settings.load(tmp_path), db)
        assert ctx.trusted_proxies == (ipaddress.ip_network("127.0.0.4/32"),) and ctx.proxy_header == "Forwarded"
    finally:
        await db.dispose()
