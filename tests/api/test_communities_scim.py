"""SCIM (the company directory) and communities: a community is no person, so the directory
neither lists it among the Users nor provisions a person under its name."""

from __future__ import annotations

import pytest

from node import communities
from tests.scim.conftest import USER_SCHEMA, Scim, scim  # noqa: F401 - `scim` is the fixture

NEW = {"schemas": [USER_SCHEMA], "displayName": "New Comer", "active": True}


@pytest.mark.parametrize("user_name", ["guild", "GUILD", "guild@corp.example"])
async def test_scim_neither_lists_a_community_nor_takes_its_name(scim: Scim, user_name: str) -> None:  # noqa: F811
    # Given a community of the node, and a person the directory provisioned
    await communities.create_community(scim.node.ctx, "guild", audience="organization")
    made = await scim.call("POST", "/Users", {**NEW, "userName": "dana@corp.example"})
    assert made.status == 201, made.body
    before = await scim.counts()
    # When the directory provisions a person whose handle would be the community's
    answer = await scim.call("POST", "/Users", {**NEW, "userName": user_name})
    # Then it is refused as a taken name, saying so, and nothing is made
    assert answer.status == 409 and answer.body["scimType"] == "uniqueness"
    assert "taken by a community" in answer.body["detail"]
    assert await scim.counts() == before
    # And the Users the directory lists are people only
    listed = await scim.call("GET", "/Users")
    assert [u["userName"] for u in listed.body["Resources"]] == ["dana@corp.example"]
    assert (await scim.call("GET", "/Users", params={"filter": 'userName eq "guild"'})).body["totalResults"] == 0
