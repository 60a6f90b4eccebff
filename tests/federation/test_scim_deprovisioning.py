"""Deprovisioning reaches the federation: three real nodes on loopback (eng on SQLite, sales on
PostgreSQL, partner on SQLite). eng's company directory provisions dana over SCIM with a token
made by `atrium scim token create`; bob on sales and pat on partner follow her and see her post.
A SCIM deactivate on eng (Entra ID's PATCH) takes the post out of both homes within seconds —
the actor Update marked suspended, as `atrium user disable` sends it — and eng's audit trail
records it; reactivation brings it back. docs/identity.md
("Provisioning from the company directory (SCIM 2.0)")."""

from __future__ import annotations

import subprocess

import aiohttp

from node import audit, posts
from node.posts import NewPost
from tests.federation.nodes import ATRIUM, NodeProcess, eventually
from tests.federation.test_multinode import follow_remote, following, home_texts, org

__all__ = ["org"]  # the three nodes of test_multinode: eng, sales (PostgreSQL) and partner

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _scim_token(node: NodeProcess) -> str:
    """What an admin does: `atrium scim token create`, the token alone on the last line."""
    done = subprocess.run([*ATRIUM, "scim", "token", "create", "--name", "entra"], env=node.env,
                          capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


async def _scim(http: aiohttp.ClientSession, node: NodeProcess, token: str, method: str, path: str,
                body: dict[str, object]) -> dict[str, object]:
    async with http.request(method, f"{node.base_url}/scim/v2{path}", json=body,
                            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}) as resp:
        assert resp.status in (200, 201), await resp.text()
        return dict(await resp.json(content_type=None))


async def test_a_scim_deactivate_hides_the_persons_posts_on_the_followers_nodes(org: dict[str, NodeProcess]) -> None:
    eng, sales, partner = org["eng"], org["sales"], org["partner"]
    token = _scim_token(eng)
    async with aiohttp.ClientSession() as http:
        # Given the directory provisions dana on eng
        dana = await _scim(http, eng, token, "POST", "/Users", {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "dana@acme.test",
            "displayName": "Dana Scully", "active": True})
        # And bob on sales and pat on partner follow her, and her post reaches both homes
        await follow_remote(sales, "bob", f"dana@{eng.domain}")
        await follow_remote(partner, "pat", f"dana@{eng.domain}")
        await eventually(lambda: following(sales, "bob", f"dana@{eng.domain}"), what="bob to follow dana")
        await eventually(lambda: following(partner, "pat", f"dana@{eng.domain}"), what="pat to follow dana")
        async with eng.act() as ctx:
            await posts.create_post(ctx, await eng.user(ctx, "dana"), NewPost("Quarterly numbers are in"))

        async def seen_by() -> list[bool]:
            return [any("Quarterly numbers" in t for t in await home_texts(n, u)) for n, u in ((sales, "bob"), (partner, "pat"))]

        async def seen_by_both() -> bool:
            return all(await seen_by())

        await eventually(seen_by_both, what="dana's post in bob's and pat's homes")

        # When the directory deactivates her, as Entra ID does
        await _scim(http, eng, token, "PATCH", f"/Users/{dana['id']}", {
            "schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]})

        # Then within seconds her post is in neither home
        async def gone_from_both() -> bool:
            return not any(await seen_by())

        await eventually(gone_from_both, timeout=15, what="dana's post gone from bob's and pat's homes")
        # And eng's audit trail records the deactivation, by the token that made it
        async with eng.act() as ctx:
            rules = [(e.rule, e.object, e.reason) async for e in audit.entries(ctx.db)]
        assert ("scim:user-deactivate", "accounts/dana", "by SCIM token entra: sessions and tokens revoked, peers told") in rules

        # When the directory reactivates her, her post comes back
        await _scim(http, eng, token, "PATCH", f"/Users/{dana['id']}", {
            "schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "True"}]})
        await eventually(seen_by_both, timeout=15, what="dana's post back in bob's and pat's homes")
