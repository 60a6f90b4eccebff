"""Federation over https (the default scheme) with an organisation's own certificate authority.

Two real nodes serve TLS with certificates from a local CA (trustme); each trusts that CA
through `federation.ca_file` and admits loopback through `federation.allowed_private_networks`.
"""

from __future__ import annotations

import ipaddress
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from federation.addresses import AddressPolicy, FetchError
from federation.fetch import Fetcher
from federation.gate import OutboundGate
from node import posts
from node.posts import NewPost
from tests.federation.canary import admit_anyone
from tests.federation.nodes import ATRIUM, NodeProcess, eventually
from tests.federation.test_multinode import follow_remote, following, home_texts


class HttpsNode(NodeProcess):
    def __init__(self, name: str, root: Path) -> None:
        super().__init__(name, root)
        self.base_url = f"https://{self.domain}"

    def init(self) -> None:
        subprocess.run([*ATRIUM, "init", "--domain", self.domain], check=True, env=self.env, capture_output=True)

    def use_tls(self, ca: trustme.CA) -> None:
        cert = ca.issue_cert("127.0.0.1")
        cert.private_key_and_cert_chain_pem.write_to_path(str(self.data_dir / "tls.pem"))
        ca.cert_pem.write_to_path(str(self.data_dir / "ca.pem"))
        settings = (self.data_dir / "atrium.toml").read_text()
        settings = settings.replace("[server]\n", '[server]\ntls_cert = "tls.pem"\n', 1)
        settings = settings.replace("allowed_private_networks = []", 'allowed_private_networks = ["127.0.0.0/8"]\nca_file = "ca.pem"')
        (self.data_dir / "atrium.toml").write_text(settings)


@pytest.fixture(scope="module")
def https_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HttpsNode, HttpsNode]]:
    root = tmp_path_factory.mktemp("https")
    ca = trustme.CA()
    eng, sales = HttpsNode("eng", root), HttpsNode("sales", root)
    for node, other in ((eng, sales), (sales, eng)):
        node.init()
        node.use_tls(ca)
        node.write_policy(f'mode = "allowlist"\n[peers."{other.domain}"]\ntrust = "organization"\n')
    eng.create_user("alice")
    sales.create_user("bob")
    try:
        eng.start()
        sales.start()
        yield eng, sales
    finally:
        eng.stop()
        sales.stop()


async def test_follow_and_post_over_https(https_pair: tuple[HttpsNode, HttpsNode]) -> None:
    eng, sales = https_pair
    # Given bob on sales follows alice on eng, all over https
    await follow_remote(sales, "bob", f"alice@{eng.domain}")
    await eventually(lambda: following(sales, "bob", f"alice@{eng.domain}"), what="the follow accepted over https")
    # When alice posts to the organisation
    async with eng.act() as ctx:
        alice = await eng.user(ctx, "alice")
        await posts.create_post(ctx, alice, NewPost("Encrypted in transit", visibility="organization"))
    # Then it reaches bob's home
    texts = await eventually(lambda: home_texts(sales, "bob"), what="the post over https")
    assert any("Encrypted in transit" in t for t in texts)


async def test_a_peer_with_an_untrusted_certificate_is_refused(https_pair: tuple[HttpsNode, HttpsNode]) -> None:
    eng, _ = https_pair
    # A client that does not trust the organisation's CA cannot talk to eng
    async with OutboundGate(AddressPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),)), admit_anyone) as gate:
        with pytest.raises(FetchError):
            await Fetcher(gate, None).fetch_object(f"{eng.base_url}/users/alice")
