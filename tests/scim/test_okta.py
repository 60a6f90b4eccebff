"""Okta's SCIM 2.0 provisioning, request by request as its SCIM guide shows them: the
userName look-up with startIndex and count, create (with a password and `groups` Okta sends,
neither kept), the profile update by PUT, deactivation by `replace` with a value object
`{"active": false}`, groups created, renamed with `id` in the value, members added and
removed by `members[value eq "id"]`. docs/identity.md ("Provisioning from the company directory (SCIM 2.0)")."""

from __future__ import annotations

from tests.scim.conftest import GROUP_SCHEMA, PATCH_OP, USER_SCHEMA, Scim

CREATE = {
    "schemas": [USER_SCHEMA],
    "userName": "test.user@okta.local",
    "name": {"givenName": "Test", "familyName": "User"},
    "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
    "displayName": "Test User",
    "locale": "en-US",
    "externalId": "00ujl29u0le5T6Aj10h7",
    "groups": [],
    "password": "1mz050nq",
    "active": True,
}


async def test_okta_provisions_updates_and_deactivates_a_user(scim: Scim) -> None:
    # Given Okta looks the user up, paged as it asks
    found = await scim.call("GET", "/Users", params={"filter": 'userName eq "test.user@okta.local"',
                                                     "startIndex": "1", "count": "100"})
    assert found.status == 200 and found.body["totalResults"] == 0 and found.body["startIndex"] == 1
    # When it creates the user (with a password, which is not kept: people sign in through Okta)
    made = await scim.call("POST", "/Users", CREATE)
    assert made.status == 201, made.body
    uid = made.body["id"]
    assert "password" not in made.body
    account = await scim.account("test.user")
    assert account.password_hash is None and account.display_name == "Test User"
    # When it sends the profile again by PUT, with a new display name and title
    put = await scim.call("PUT", f"/Users/{uid}", {**CREATE, "id": uid, "displayName": "Test Q. User", "title": "Analyst"})
    assert put.status == 200, put.body
    account = await scim.account("test.user")
    assert (account.display_name, account.title) == ("Test Q. User", "Analyst")
    # When it deactivates the user its way: replace with a value object
    off = await scim.call("PATCH", f"/Users/{uid}", {"schemas": [PATCH_OP],
                                                     "Operations": [{"op": "replace", "value": {"active": False}}]})
    # Then the account is disabled, and the look-up still finds the user, inactive
    assert off.status == 200 and off.body["active"] is False
    assert (await scim.account("test.user")).disabled
    listing = await scim.call("GET", "/Users", params={"filter": 'userName eq "test.user@okta.local"'})
    assert [(r["id"], r["active"]) for r in listing.body["Resources"]] == [(uid, False)]
    # When Okta reactivates by PUT with active true
    on = await scim.call("PUT", f"/Users/{uid}", {**CREATE, "id": uid, "active": True})
    assert on.status == 200 and not (await scim.account("test.user")).disabled
    assert {"scim:user-create", "scim:user-deactivate", "scim:user-reactivate"} <= set(await scim.audit_rules())


async def test_okta_pushes_groups_and_their_members(scim: Scim) -> None:
    # Given two provisioned users
    ann = (await scim.call("POST", "/Users", CREATE)).body
    bo = (await scim.call("POST", "/Users", {**CREATE, "userName": "bo@okta.local", "externalId": "00u2"})).body
    # When Okta pushes a group with both, named as the node's moderator group
    made = await scim.call("POST", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Moderators", "members": [
        {"value": ann["id"], "display": "test.user@okta.local"}, {"value": bo["id"], "display": "bo@okta.local"}]})
    assert made.status == 201, made.body
    gid = made.body["id"]
    # Then both are moderators here
    assert [(await scim.account(h)).role for h in ("test.user", "bo")] == ["moderator", "moderator"]
    # When Okta removes one member by a filtered path
    out = await scim.call("PATCH", f"/Groups/{gid}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "remove", "path": f'members[value eq "{bo["id"]}"]'}]})
    assert out.status == 200, out.body
    assert [m["value"] for m in out.body["members"]] == [ann["id"]]
    assert (await scim.account("bo")).role == "user"
    # And adds them back, then renames the group the way Okta does (the id in the value)
    back = await scim.call("PATCH", f"/Groups/{gid}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": bo["id"], "display": "bo@okta.local"}]}]})
    assert back.status == 200 and len(back.body["members"]) == 2
    renamed = await scim.call("PATCH", f"/Groups/{gid}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "value": {"id": gid, "displayName": "Everyone"}}]})
    # Then the group is renamed, and no longer the moderator group: its members are plain users
    assert renamed.status == 200, renamed.body
    assert renamed.body["displayName"] == "Everyone"
    assert [(await scim.account(h)).role for h in ("test.user", "bo")] == ["user", "user"]
    # And the group list, paged, has it
    listing = await scim.call("GET", "/Groups", params={"startIndex": "1", "count": "1"})
    assert listing.body["totalResults"] == 1 and listing.body["itemsPerPage"] == 1


async def test_okta_deletes_the_group_then_the_user(scim: Scim) -> None:
    ann = (await scim.call("POST", "/Users", CREATE)).body
    gid = (await scim.call("POST", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Admins",
                                               "members": [{"value": ann["id"]}]})).body["id"]
    assert (await scim.account("test.user")).role == "admin"
    assert (await scim.call("DELETE", f"/Groups/{gid}")).status == 204
    assert (await scim.account("test.user")).role == "user"
    assert (await scim.call("DELETE", f"/Users/{ann['id']}")).status == 204
    assert (await scim.account("test.user")).deleted_at is not None
    assert (await scim.call("GET", "/Users")).body["totalResults"] == 0
