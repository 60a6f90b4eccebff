"""Profile fields at the boundary: what of a local person's profile crossed the wire to each
trust level — in the actor `Update` fanned out to their followers' nodes, in the actor document
a peer fetches signed, and to the open web (an unsigned fetch) — judged by what the fake peers
received and were served over real HTTP, against a table written by hand.

A public field (and a public directory attribute) goes wherever the actor goes; an
organisation-only field (and the directory's employee number) only to peers the policy admits
for the organisation's audience — `Policy.outbound(Audience.ORGANIZATION, peer)`, the posts'
question (docs/policy.md, "Audiences across the boundary") — asked again when the delivery is
sent, so a peer downgraded after the fan-out gets no organisation-only field.
"""

from __future__ import annotations

import json

from sqlalchemy import update

from node import profile_fields
from node.profile_fields import FieldInput
from storage.models import Account, FieldScope, Follow
from tests.policy.harness import TRUSTS, Net, network
from tests.policy.test_delivery_recheck import deliver, fan_out, set_policy, with_trust

PUBLIC_FIELD = "pv_public_canary"
ORG_FIELD = "pv_org_canary"
PUBLIC_DIRECTORY = "pv_title_canary"
ORG_DIRECTORY = "pv_employee_canary"
WHAT = (PUBLIC_FIELD, ORG_FIELD, PUBLIC_DIRECTORY, ORG_DIRECTORY)

Y, N = True, False
# way -> trust -> crossed (public field, org field, public directory attribute, org directory attribute)
# fmt: off
EXPECTED: dict[str, dict[str, tuple[bool, bool, bool, bool]]] = {
    #                  public org  title employee
    "update": {
        "organization": (Y,    Y,   Y,    Y),
        "partner":      (Y,    N,   Y,    N),
        "public":       (Y,    N,   Y,    N),
        "limited":      (Y,    N,   Y,    N),
        "blocked":      (N,    N,   N,    N),  # never contacted
        "unknown":      (N,    N,   N,    N),
    },
    "fetch": {  # the actor document, fetched signed by the follower on the peer
        "organization": (Y,    Y,   Y,    Y),
        "partner":      (Y,    N,   Y,    N),
        "public":       (Y,    N,   Y,    N),
        "limited":      (Y,    N,   Y,    N),
        "blocked":      (N,    N,   N,    N),  # refused (403) at the door
        "unknown":      (N,    N,   N,    N),
    },
}
ANONYMOUS = (Y, N, Y, N)  # an unsigned fetch of the actor document: the open web
# fmt: on


async def _ada_with_fields(net: Net) -> Account:
    """ada, followed by `fol` on every peer, with a public and an organisation-only field of
    her own and two directory attributes (a public title, an organisation-only employee number)."""
    ada = await net.local("ada")
    async with net.ctx.db.session() as s:
        await s.execute(update(Account).where(Account.id == ada.id).values(title=PUBLIC_DIRECTORY, employee_number=ORG_DIRECTORY))
    for trust in TRUSTS:
        fol = await net.remote(trust, "fol")
        async with net.ctx.db.session() as s:
            s.add(Follow(follower_id=fol.id, target_id=ada.id, state="accepted", uri=f"{fol.actor_uri}/follows/1"))
    await profile_fields.set_fields(net.ctx, ada.id, [
        FieldInput("Pronouns", PUBLIC_FIELD, FieldScope.PUBLIC), FieldInput("Extension", ORG_FIELD, FieldScope.ORGANIZATION)])
    return ada


def _crossed(text: str) -> tuple[bool, ...]:
    return tuple(canary in text for canary in WHAT)


async def test_organisation_only_fields_cross_only_to_organisation_peers(database_url: str) -> None:
    async with network(database_url) as net:
        # Given ada's fields (setting them queued an Update of her actor)
        ada = await _ada_with_fields(net)
        # When the workers run, and each peer's follower fetches her actor document signed, and
        # the open web fetches it unsigned
        await net.drain()
        crossed: dict[str, dict[str, tuple[bool, ...]]] = {"update": {}, "fetch": {}}
        uri = net.ctx.actor_uri("ada")
        for trust, peer in net.peers.items():
            updates = [a for a in peer.received if a.get("type") == "Update"]
            crossed["update"][trust] = _crossed(json.dumps(updates))
            status, doc = await net.get(uri, as_peer=trust, as_actor="fol")
            crossed["fetch"][trust] = _crossed(json.dumps(doc)) if status == 200 else (N, N, N, N)
        status, anonymous = await net.get(uri)
        assert status == 200 and anonymous is not None
        # Then each crossed exactly where the table says
        assert crossed == {way: {t: tuple(row) for t, row in rows.items()} for way, rows in EXPECTED.items()}
        assert _crossed(json.dumps(anonymous)) == ANONYMOUS
        # And the document carries them as Mastodon does (schema.org PropertyValues), an
        # organisation-only one marked for the Atrium node that receives it
        _, org_doc = await net.get(uri, as_peer="organization", as_actor="fol")
        assert org_doc is not None and {"PropertyValue": "schema:PropertyValue", "value": "schema:value",
                                        "schema": "http://schema.org#"}.items() <= next(
            c for c in org_doc["@context"] if isinstance(c, dict)).items()  # type: ignore[union-attr]
        assert org_doc["attachment"] == [
            {"type": "PropertyValue", "name": "Title", "value": PUBLIC_DIRECTORY},
            {"type": "PropertyValue", "name": "Employee number", "value": ORG_DIRECTORY, "audience_scope": "organization"},
            {"type": "PropertyValue", "name": "Pronouns", "value": PUBLIC_FIELD},
            {"type": "PropertyValue", "name": "Extension", "value": ORG_FIELD, "audience_scope": "organization"},
        ]
        assert ada.id  # (the account the fields belong to)


async def test_a_peer_downgraded_after_the_fan_out_gets_no_organisation_only_field(database_url: str) -> None:
    async with network(database_url) as net:
        # Given ada's Update queued for the organisation peer with her organisation-only fields
        await _ada_with_fields(net)
        await fan_out(net)
        # When the peer is downgraded to partner before the delivery runs
        set_policy(net, with_trust(net.policy, net.peers["organization"], "partner"))
        while await deliver(net):
            pass
        # Then it received nothing organisation-only (the delivery was judged again, and refused)
        received = json.dumps(net.peers["organization"].received)
        assert ORG_FIELD not in received and ORG_DIRECTORY not in received
        # while the partner still got the public document
        assert PUBLIC_FIELD in json.dumps(net.peers["partner"].received)


async def test_a_peers_actor_update_replaces_the_fields_kept_here(database_url: str) -> None:
    """Given sam on the organisation peer, known here with no fields, when his node sends an
    `Update` of his actor (JSON-LD as an Atrium node writes it) with a public and an
    organisation-only field, then this node keeps both, the second marked organisation-only,
    the markup sanitised; a later `Update` without fields leaves none."""
    from sqlalchemy import select

    from federation.vocab import CONTEXT
    from storage.models import AccountField

    async with network(database_url) as net:
        peer = net.peers["organization"]
        sam = await net.remote("organization", "sam")
        await net.local("ada")  # someone here (the inbox takes activities for the node)
        doc = {**peer.actor_document("sam"), "@context": CONTEXT, "attachment": [
            {"type": "PropertyValue", "name": "Team", "value": "<b>Sales</b><script>x()</script>"},
            {"type": "PropertyValue", "name": "Desk", "value": "C-3", "audience_scope": "organization"}]}
        update_ = {"@context": CONTEXT, "id": f"{peer.actor('sam')}#updates/1", "type": "Update",
                   "actor": peer.actor("sam"), "object": {k: v for k, v in doc.items() if k != "@context"}}
        status, _ = await peer.post(net.inbox, update_, as_actor="sam")
        assert status == 202
        await net.drain()
        async with net.ctx.db.reader() as s:
            rows = (await s.scalars(select(AccountField).where(AccountField.account_id == sam.id)
                                    .order_by(AccountField.position))).all()
        assert [(r.name, r.value, r.scope) for r in rows] == [
            ("Team", "<b>Sales</b>", FieldScope.PUBLIC), ("Desk", "C-3", FieldScope.ORGANIZATION)]
        update_2 = {**update_, "id": f"{peer.actor('sam')}#updates/2",
                    "object": {k: v for k, v in peer.actor_document("sam").items() if k != "@context"}}
        assert (await peer.post(net.inbox, update_2, as_actor="sam"))[0] == 202
        await net.drain()
        async with net.ctx.db.reader() as s:
            assert (await s.scalars(select(AccountField).where(AccountField.account_id == sam.id))).all() == []
