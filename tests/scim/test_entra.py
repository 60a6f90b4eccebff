"""Microsoft Entra ID's provisioning, request by request as its SCIM documentation shows them
("Develop and plan provisioning for a SCIM endpoint": the user and group operations): the
userName look-up before a create, create, PATCH with `"op": "Replace"`/`"Add"` capitalised,
`active` as the string "False", enterprise-extension paths, the manager as a bare id, group
members added and removed with `$ref: null`, DELETE. docs/identity.md
("Provisioning from the company directory (SCIM 2.0)")."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Job
from tests.scim.conftest import ENTERPRISE, GROUP_SCHEMA, PATCH_OP, USER_SCHEMA, Scim

USER_NAME = "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"
CREATE = {
    "schemas": [USER_SCHEMA, ENTERPRISE],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": USER_NAME,
    "active": True,
    "emails": [{"primary": True, "type": "work", "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"}],
    "meta": {"resourceType": "User"},
    "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
    "roles": [],
    ENTERPRISE: {"department": "Engineering", "employeeNumber": "1042", "organization": "Acme"},
}


def _patch(*operations: dict[str, object]) -> dict[str, object]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


async def _create(scim: Scim, payload: dict[str, object]) -> dict[str, object]:
    made = await scim.call("POST", "/Users", payload)
    assert made.status == 201, made.body
    return dict(made.body)


async def test_entra_creates_looks_up_and_updates_a_user(scim: Scim) -> None:
    # Given Entra ID looks the user up first, and finds nobody
    found = await scim.call("GET", "/Users", params={"filter": f'userName eq "{USER_NAME}"'})
    assert found.status == 200 and found.content_type == "application/scim+json"
    assert found.body["totalResults"] == 0 and found.body.get("Resources", []) == []
    # When it creates the user
    made = await scim.call("POST", "/Users", CREATE)
    # Then a local account without a password exists, its directory attributes filled
    assert made.status == 201, made.body
    assert made.headers["Location"] == made.body["meta"]["location"]
    user_id = made.body["id"]
    handle = "Test_User_ab6490ee-1e48-479e-a"
    account = await scim.account(handle)
    assert account.password_hash is None and not account.disabled and account.role == "user"
    assert (account.display_name, account.email) == ("givenName familyName", CREATE["emails"][0]["value"])  # type: ignore[index]
    assert (account.department, account.employee_number, account.organization) == ("Engineering", "1042", "Acme")
    # And the look-up by userName (any case) and by externalId finds it
    for query in (f'userName eq "{USER_NAME.upper()}"', 'externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"'):
        listing = await scim.call("GET", "/Users", params={"filter": query})
        assert [r["id"] for r in listing.body["Resources"]] == [user_id], query

    # When Entra replaces the work e-mail and family name, and adds a title, a department,
    # a location and the manager (a bare id of another provisioned user)
    boss = await _create(scim, {"schemas": [USER_SCHEMA], "userName": "boss@contoso.com", "active": True})
    changed = await scim.call("PATCH", f"/Users/{user_id}", _patch(
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "updatedEmail@microsoft.com"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
        {"op": "Add", "path": "title", "value": "Staff engineer"},
        {"op": "Add", "path": f"{ENTERPRISE}:department", "value": "Platform"},
        {"op": "Add", "path": 'addresses[type eq "work"].locality', "value": "Lyon"},
        {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": boss["id"]},
    ))
    # Then the answer and the account say so
    assert changed.status == 200, changed.body
    assert changed.body["emails"][0]["value"] == "updatedEmail@microsoft.com"
    assert changed.body["name"]["familyName"] == "updatedFamilyName"
    assert changed.body[ENTERPRISE]["manager"]["value"] == boss["id"]
    account = await scim.account(handle)
    assert (account.email, account.title, account.department, account.location, account.manager) == (
        "updatedEmail@microsoft.com", "Staff engineer", "Platform", "Lyon", "boss")
    # When it removes the manager
    removed = await scim.call("PATCH", f"/Users/{user_id}", _patch({"op": "Remove", "path": f"{ENTERPRISE}:manager"}))
    assert removed.status == 200 and "manager" not in removed.body.get(ENTERPRISE, {})
    assert (await scim.account(handle)).manager == ""
    # And every change is in the audit trail
    assert (await scim.audit_rules()).count("scim:user-update") == 2


async def test_entra_deactivates_with_the_string_false_and_reactivates(scim: Scim) -> None:
    # Given a provisioned user
    user = await _create(scim, CREATE)
    handle = "Test_User_ab6490ee-1e48-479e-a"
    before = await scim.account(handle)
    # When Entra deactivates it as it does: Replace, path active, the string "False"
    off = await scim.call("PATCH", f"/Users/{user['id']}", _patch({"op": "Replace", "path": "active", "value": "False"}))
    # Then the account is disabled, its sessions and tokens void, and its followers' nodes told
    assert off.status == 200 and off.body["active"] is False
    account = await scim.account(handle)
    assert account.disabled and account.credentials_version == before.credentials_version + 1
    async with scim.node.ctx.db.reader() as s:
        fanouts = [p.decode() for p in (await s.scalars(select(Job.payload).where(Job.queue == "fanout"))).all()]
    assert any(str(account.id) in p and "ActorUpdate" in p for p in fanouts), fanouts
    # When it reactivates it
    on = await scim.call("PATCH", f"/Users/{user['id']}", _patch({"op": "Replace", "path": "active", "value": "True"}))
    # Then the account is enabled again (the revoked sessions stay revoked)
    assert on.status == 200 and on.body["active"] is True
    account = await scim.account(handle)
    assert not account.disabled and account.credentials_version == before.credentials_version + 1
    rules = await scim.audit_rules()
    assert rules.index("scim:user-deactivate") < rules.index("scim:user-reactivate")


async def test_entra_groups_give_roles_and_members_come_and_go(scim: Scim) -> None:
    # Given a provisioned user and Entra's group named as the node's admin group
    user = await _create(scim, CREATE)
    handle = "Test_User_ab6490ee-1e48-479e-a"
    group = await scim.call("POST", "/Groups", {"externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                                                "displayName": "Admins", "meta": {"resourceType": "Group"},
                                                "schemas": [GROUP_SCHEMA]})
    assert group.status == 201, group.body
    gid = group.body["id"]
    # When Entra adds the user as it does (a member with "$ref": null)
    added = await scim.call("PATCH", f"/Groups/{gid}", _patch(
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": user["id"]}]}))
    # Then the user is a member, and an admin here
    assert added.status == 200, added.body
    assert [m["value"] for m in added.body["members"]] == [user["id"]]
    assert (await scim.account(handle)).role == "admin"
    member_of = await scim.call("GET", f"/Users/{user['id']}")
    assert [g["display"] for g in member_of.body["groups"]] == ["Admins"]
    # And the look-up by displayName without members finds the group
    found = await scim.call("GET", "/Groups", params={"filter": 'displayName eq "Admins"', "excludedAttributes": "members"})
    assert [r["id"] for r in found.body["Resources"]] == [gid] and "members" not in found.body["Resources"][0]
    # When Entra removes the member as it does (remove with the value)
    gone = await scim.call("PATCH", f"/Groups/{gid}", _patch(
        {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": user["id"]}]}))
    # Then the user is back to a plain user
    assert gone.status == 200 and not gone.body.get("members")
    assert (await scim.account(handle)).role == "user"
    # When it renames the group, then deletes it
    renamed = await scim.call("PATCH", f"/Groups/{gid}", _patch({"op": "Replace", "path": "displayName", "value": "Staff"}))
    assert renamed.status == 200 and renamed.body["displayName"] == "Staff"
    assert (await scim.call("DELETE", f"/Groups/{gid}")).status == 204
    assert (await scim.call("GET", f"/Groups/{gid}")).status == 404
    assert {"scim:group-create", "scim:group-update", "scim:group-delete", "scim:role"} <= set(await scim.audit_rules())


async def test_entra_deletes_a_user_and_its_user_name_is_not_given_again(scim: Scim) -> None:
    # Given a provisioned user
    user = await _create(scim, CREATE)
    handle = "Test_User_ab6490ee-1e48-479e-a"
    # When Entra deletes it
    deleted = await scim.call("DELETE", f"/Users/{user['id']}")
    # Then the account is deleted through the node's one deletion, and SCIM no longer knows the user
    assert deleted.status == 204
    assert (await scim.account(handle)).deleted_at is not None
    assert (await scim.call("GET", f"/Users/{user['id']}")).status == 404
    # And a later create with the same userName is refused with the reason, and makes nothing
    counts = await scim.counts()
    again = await scim.call("POST", "/Users", CREATE)
    assert again.status == 409 and again.body["scimType"] == "uniqueness"
    assert "deleted account" in again.body["detail"], again.body
    assert await scim.counts() == counts
    assert "scim:user-delete" in await scim.audit_rules()


async def test_a_directory_change_tells_the_peers_that_know_the_person(scim: Scim) -> None:
    """The directory attributes are on the actor document (title, department as profile
    fields): a change by the directory reaches followers' nodes as an actor Update."""
    # Given a provisioned user, and no actor Update queued for it yet
    user = await _create(scim, CREATE)
    account = await scim.account("Test_User_ab6490ee-1e48-479e-a")

    async def updates() -> int:
        async with scim.node.ctx.db.reader() as s:
            payloads = [p.decode() for p in (await s.scalars(select(Job.payload).where(Job.queue == "fanout"))).all()]
        return sum(1 for p in payloads if str(account.id) in p and "ActorUpdate" in p)

    queued = await updates()
    # When Entra moves the person to another department
    moved = await scim.call("PATCH", f"/Users/{user['id']}", _patch(
        {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Sales"}))
    # Then the account says so, and one actor Update more is queued for its followers' nodes
    assert moved.status == 200, moved.body
    assert (await scim.account(account.username)).department == "Sales"
    assert await updates() == queued + 1
    # When Entra sends the same value again, nothing changed: no Update more
    again = await scim.call("PATCH", f"/Users/{user['id']}", _patch(
        {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Sales"}))
    assert again.status == 200 and await updates() == queued + 1
