"""Profile fields through the client API (Mastodon's `fields`, `source.fields` and
`fields_attributes`), the company directory's attributes among them, and the people directory
(`GET /api/v1/directory`). Organisation-only fields reach this node's signed-in people only;
what crosses to peers: tests/policy/test_profile_fields_matrix.py."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from node import accounts
from storage.models import Account, AccountField, utcnow
from tests.api.conftest import SignIn
from tests.api.social import Client, account_id, add_user, call, node_of, post

UPDATE = "/api/v1/accounts/update_credentials"


async def _directory(api: Client, username: str, **columns: object) -> None:
    async with node_of(api).db.session() as s:
        await s.execute(update(Account).where(Account.username == username, Account.domain.is_(None)).values(**columns))


async def _stored_fields(api: Client, username: str) -> list[tuple[str, str, str]]:
    from sqlalchemy import select

    uid = int(await account_id(api, username))
    async with node_of(api).db.reader() as s:
        rows = await s.scalars(select(AccountField).where(AccountField.account_id == uid).order_by(AccountField.position))
        return [(r.name, r.value, r.scope) for r in rows]


async def test_fields_round_trip_by_form_and_json_with_scopes(api: Client, sign_in: SignIn) -> None:
    """Given alice, when she sets two fields by Mastodon's form shape (one organisation-only)
    and reads them back, then `fields` has the values as HTML with links and `source.fields`
    as typed; bob (signed in here) sees both, the open web only the public one."""
    alice, bob = await sign_in("alice"), await sign_in("bob")
    body = await call(api, "PATCH", UPDATE, alice, data={
        "fields_attributes[0][name]": "Pronouns", "fields_attributes[0][value]": "she/her",
        "fields_attributes[1][name]": "Extension", "fields_attributes[1][value]": "4711 https://phone.acme.test/4711",
        "fields_attributes[1][atrium_scope]": "organization",
    })
    assert [(f["name"], f["atrium_scope"]) for f in body["fields"]] == [("Pronouns", "public"), ("Extension", "organization")]
    assert body["fields"][1]["value"].startswith('4711 <a href="https://phone.acme.test/4711"')
    assert body["fields"][0]["verified_at"] is None and body["fields"][0]["atrium_source"] == "user"
    assert [(f["name"], f["value"]) for f in body["source"]["fields"]] == [
        ("Pronouns", "she/her"), ("Extension", "4711 https://phone.acme.test/4711")]
    alice_id = body["id"]
    seen_by_bob = await call(api, "GET", f"/api/v1/accounts/{alice_id}", bob)
    seen_by_web = await call(api, "GET", f"/api/v1/accounts/{alice_id}")
    assert [f["name"] for f in seen_by_bob["fields"]] == ["Pronouns", "Extension"]
    assert [f["name"] for f in seen_by_web["fields"]] == ["Pronouns"]
    looked_up = await call(api, "GET", "/api/v1/accounts/lookup?acct=alice")
    assert "4711" not in str(looked_up)
    # When she sends them again as JSON, as a Mastodon app does (it knows no scopes), the
    # organisation-only field stays organisation-only
    body = await call(api, "PATCH", UPDATE, alice, json={"fields_attributes": [
        {"name": "Pronouns", "value": "she/they"}, {"name": "Extension", "value": "4712"}]})
    assert [(f["name"], f["value"], f["atrium_scope"]) for f in body["source"]["fields"]] == [
        ("Pronouns", "she/they", "public"), ("Extension", "4712", "organization")]
    # And an object keyed by index works too; a blank field is dropped
    body = await call(api, "PATCH", UPDATE, alice, json={"fields_attributes": {
        "0": {"name": "Team", "value": "Platform", "atrium_scope": "public"}, "1": {"name": "", "value": ""}}})
    assert [f["name"] for f in body["source"]["fields"]] == ["Team"]
    # And a PATCH without fields_attributes leaves them as they are
    body = await call(api, "PATCH", UPDATE, alice, data={"display_name": "Alice"})
    assert [f["name"] for f in body["fields"]] == ["Team"]


async def test_directory_attributes_show_as_read_only_fields(api: Client, sign_in: SignIn) -> None:
    """Given the company directory filled alice's title, department, location and manager,
    then her account shows them as fields from the directory (the manager organisation-only),
    before her own; they are not in `source.fields` and her edits leave them alone."""
    await _directory(api, "alice", title="Staff Engineer", department="Platform", location="Berlin",
                     manager="Grace Hopper", employee_number="E-1042")
    alice, bob = await sign_in("alice"), await sign_in("bob")
    body = await call(api, "PATCH", UPDATE, alice, data={
        "fields_attributes[0][name]": "Pronouns", "fields_attributes[0][value]": "she/her"})
    assert [(f["name"], f["atrium_source"], f["atrium_scope"]) for f in body["fields"]] == [
        ("Title", "directory", "public"), ("Department", "directory", "public"), ("Location", "directory", "public"),
        ("Employee number", "directory", "organization"), ("Manager", "directory", "organization"),
        ("Pronouns", "user", "public")]
    assert [f["name"] for f in body["source"]["fields"]] == ["Pronouns"]
    anonymous = await call(api, "GET", f"/api/v1/accounts/{body['id']}")
    assert [f["name"] for f in anonymous["fields"]] == ["Title", "Department", "Location", "Pronouns"]
    assert "E-1042" not in str(anonymous) and "Grace" not in str(anonymous)
    seen_by_bob = await call(api, "GET", f"/api/v1/accounts/{body['id']}", bob)
    assert {f["value"] for f in seen_by_bob["fields"]} >= {"E-1042", "Grace Hopper"}


async def test_hostile_fields_are_refused_with_a_reason_and_nothing_is_written(api: Client, sign_in: SignIn) -> None:
    """Given alice with one field, when she sends too many fields, a huge value or name, an
    unknown scope or fields of the wrong type, then each is refused with 422 and a reason, and
    nothing changed: not her fields, not the display name sent beside them."""
    alice = await sign_in("alice")
    await call(api, "PATCH", UPDATE, alice, json={"fields_attributes": [{"name": "Team", "value": "Platform"}]})
    hostile = [
        {"fields_attributes": [{"name": f"n{i}", "value": "v"} for i in range(5)]},
        {"fields_attributes": [{"name": "", "value": ""}] * 17},
        {"fields_attributes": [{"name": "Huge", "value": "x" * 256}]},
        {"fields_attributes": [{"name": "Huge", "value": "x" * 1_000_000}]},
        {"fields_attributes": [{"name": "n" * 256, "value": "v"}]},
        {"fields_attributes": [{"name": "Phone", "value": "1", "atrium_scope": "partners"}]},
        {"fields_attributes": [{"name": "Phone", "value": 1}]},
        {"fields_attributes": [{"name": "", "value": "a value without a name"}]},
        {"fields_attributes": "Team"},
        {"fields_attributes": [["Team", "x"]]},
        {"fields_attributes": [{"name": "Phone", "value": "1\u0000"}]},
    ]
    for bad in hostile:
        body = await call(api, "PATCH", UPDATE, alice, expect=422, json={"display_name": "Changed", **bad})
        assert "field" in body["error"], body
    form = await call(api, "PATCH", UPDATE, alice, expect=422, data={
        "display_name": "Changed", "fields_attributes[0][name]": "Phone", "fields_attributes[0][value]": "1",
        "fields_attributes[0][atrium_scope]": "everyone-ish"})
    assert "scope" in form["error"]
    nul = await call(api, "PATCH", UPDATE, alice, expect=422, json={"display_name": "Ali\u0000ce"})
    assert "NUL" in nul["error"]
    me = await call(api, "GET", "/api/v1/accounts/verify_credentials", alice)
    assert me["display_name"] != "Changed" and [(f["name"], f["value"]) for f in me["source"]["fields"]] == [("Team", "Platform")]
    assert await _stored_fields(api, "alice") == [("Team", "Platform", "public")]


async def test_markup_in_a_field_is_escaped_not_run(api: Client, sign_in: SignIn) -> None:
    """When alice types markup into a field's name and value, then clients get it escaped (the
    value's HTML has no element she wrote), and it is kept as typed."""
    alice = await sign_in("alice")
    body = await call(api, "PATCH", UPDATE, alice, json={"fields_attributes": [
        {"name": "<b>Site</b>", "value": '<script>alert(1)</script><a href="javascript:x">me</a>'}]})
    value = body["fields"][0]["value"]
    assert "<script" not in value and "<a href=\"javascript" not in value and "&lt;script&gt;" in value
    assert body["source"]["fields"][0]["value"] == '<script>alert(1)</script><a href="javascript:x">me</a>'
    assert body["fields"][0]["name"] == "<b>Site</b>"  # a name is plain text: JSON carries it as such


async def test_the_directory_lists_this_nodes_people_in_mastodons_shape(api: Client, sign_in: SignIn) -> None:
    """Given people with titles and departments, one disabled, one suspended and one deleted,
    when a signed-in person reads /api/v1/directory, then it lists the others as Account
    entities (with their fields), searched by title or department, ordered and paged as asked."""
    ctx = node_of(api)
    for name in ("carol", "dan", "erin", "gone", "frozen", "hidden"):
        await add_user(api, name)
    await _directory(api, "carol", title="Designer", department="Product")
    await _directory(api, "dan", title="Site Reliability Engineer", department="Platform")
    await _directory(api, "erin", title="Engineering Manager", department="Platform")
    await accounts.disable(ctx, "frozen")
    await _directory(api, "hidden", suspended=True)
    await _directory(api, "gone", deleted_at=utcnow())
    await _directory(api, "alice", created_at=utcnow() - timedelta(days=30))
    bob = await sign_in("bob")
    await post(api, await sign_in("dan"), "first from dan")
    await post(api, await sign_in("carol"), "then carol")

    listed = await call(api, "GET", "/api/v1/directory", bob)
    names = [a["username"] for a in listed]
    assert set(names) == {"alice", "bob", "carol", "dan", "erin"}
    assert names[:2] == ["carol", "dan"]  # active: the latest post first
    first = listed[0]
    assert {"id", "username", "acct", "display_name", "avatar", "fields", "followers_count", "note", "url"} <= set(first)
    assert [f["value"] for f in first["fields"]] == ["Designer", "Product"]
    newest = await call(api, "GET", "/api/v1/directory?order=new&limit=2", bob)
    assert len(newest) == 2 and "alice" not in [a["username"] for a in newest]
    assert [a["username"] for a in await call(api, "GET", "/api/v1/directory?order=new&offset=4&limit=80", bob)] == ["alice"]
    assert {a["username"] for a in await call(api, "GET", "/api/v1/directory?q=platform", bob)} == {"dan", "erin"}
    assert [a["username"] for a in await call(api, "GET", "/api/v1/directory?q=reliability%20PLATFORM&local=true", bob)] == ["dan"]
    assert await call(api, "GET", "/api/v1/directory?q=%25", bob) == []  # a wildcard is a character
    # And the directory is for signed-in people; bad parameters are refused with a reason
    await call(api, "GET", "/api/v1/directory", expect=401)
    for bad in ("order=popular", "offset=-1", "limit=ten", "local=maybe", "q=" + "x" * 101):
        await call(api, "GET", f"/api/v1/directory?{bad}", bob, expect=422)


async def test_a_remote_actors_fields_are_shown_sanitised_and_its_organisation_only_ones_to_this_nodes_people(
    api: Client, sign_in: SignIn
) -> None:
    """Given a peer's actor whose document carries PropertyValues — a link, markup that would
    run, one its Atrium node marked organisation-only, a huge value, and more than the cap —
    when a signed-in person here looks it up, then its fields are shown as sanitised HTML in
    order, capped; the organisation-only one to this node's people only, never to the open web."""
    from tests.api.social import admitting
    from tests.factory import fake_peer

    attachment: list[object] = [
        {"type": "PropertyValue", "name": "Site", "value": '<a href="https://dana.example/" rel="me">dana.example</a>'},
        {"type": "PropertyValue", "name": "<i>Bad</i>", "value": '<script>alert(1)</script><img src=x onerror=alert(1)>ok'},
        {"type": "PropertyValue", "name": "Desk", "value": "B-204", "audience_scope": "organization"},
        {"type": "PropertyValue", "name": "Huge", "value": "y" * 50_000},
        {"type": "Link", "href": "https://not-a-field.example/"},
        *({"type": "PropertyValue", "name": f"extra {i}", "value": str(i)} for i in range(20)),
    ]
    alice = await sign_in("alice")
    async with fake_peer("dana") as peer, admitting(api, peer):
        peer.actor_extra["dana"] = {"attachment": attachment}
        found = await call(api, "GET", "/api/v2/search", alice, params={"q": peer.actor("dana"), "resolve": "true"})
        dana_id = found["accounts"][0]["id"]
        seen_here = await call(api, "GET", f"/api/v1/accounts/{dana_id}", alice)
        seen_by_web = await call(api, "GET", f"/api/v1/accounts/{dana_id}")
    fields = seen_here["fields"]
    assert len(fields) == 16 and [f["name"] for f in fields[:4]] == ["Site", "Bad", "Desk", "Huge"]
    assert fields[0]["value"].startswith('<a href="https://dana.example/"') and "dana.example</a>" in fields[0]["value"]
    assert "<script" not in fields[1]["value"] and "onerror" not in fields[1]["value"] and "ok" in fields[1]["value"]
    assert (fields[2]["value"], fields[2]["atrium_scope"]) == ("B-204", "organization")
    assert len(fields[3]["value"]) <= 2048
    assert "B-204" not in str(seen_by_web) and [f["name"] for f in seen_by_web["fields"][:3]] == ["Site", "Bad", "Huge"]
