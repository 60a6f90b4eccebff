"""Communities on the wire (FEP-1b12 groups, as Lemmy, Mbin and PieFed speak them). Pure: no I/O.

A community is a `Group` actor: members follow it, write to it by addressing it (its id in
`to`/`cc`, and in `audience`), and it re-shares what it accepts to its followers with an
`Announce` — of the note (as Mastodon reads a boost) or of the activity (`Create`, `Update`,
`Delete`, `Like`), embedded or by id, as Lemmy sends it.
"""

from __future__ import annotations

from dataclasses import dataclass

from federation.parsing import InvalidActivity, origin
from federation.vocab import CONTEXT, as_list, id_of

LEMMY_NS = "https://join-lemmy.org/ns#"
# The Group's own terms, spelled as Lemmy does, so Lemmy-speaking servers read them.
GROUP_CONTEXT: list[object] = [
    *CONTEXT,
    {
        "lemmy": LEMMY_NS,
        "postingRestrictedToMods": "lemmy:postingRestrictedToMods",
        "moderators": {"@id": "lemmy:moderators", "@type": "@id"},
    },
]
# What a group's Announce may carry: a post itself, or one of these activities about one.
ANNOUNCED_ACTIVITIES = ("Create", "Update", "Delete", "Like")
NOTE_TYPES = ("Note", "Article", "Page", "Question")


def moderators_uri(group_uri: str) -> str:
    return f"{group_uri}/collections/moderators"


def group_to_ap(person_like: dict[str, object], group_uri: str) -> dict[str, object]:
    """A Group actor document from the document a person would have: Lemmy's additions (its
    moderators as `attributedTo` and `moderators`, anyone who is a member may write)."""
    doc = {k: v for k, v in person_like.items() if k != "@context"}
    doc["type"] = "Group"
    doc["attributedTo"] = moderators_uri(group_uri)
    doc["moderators"] = moderators_uri(group_uri)
    doc["postingRestrictedToMods"] = False
    return {"@context": GROUP_CONTEXT, **doc}


def moderators_to_ap(group_uri: str, moderator_uris: list[str]) -> dict[str, object]:
    return {
        "@context": CONTEXT, "id": moderators_uri(group_uri), "type": "OrderedCollection",
        "totalItems": len(moderator_uris), "orderedItems": moderator_uris,
    }


def address_to_group(note: dict[str, object], group_uri: str) -> dict[str, object]:
    """A note written to a community: the group named in `cc` (so any server delivers it there)
    and as its `audience` (FEP-1b12)."""
    cc = [x for x in as_list(note.get("cc")) if isinstance(x, str)]
    if group_uri not in cc and group_uri not in as_list(note.get("to")):
        cc.append(group_uri)
    return {**note, "cc": cc, "audience": group_uri}


def addressees(doc: dict[str, object]) -> tuple[str, ...]:
    """Every URI an object or activity is addressed to, `audience` first."""
    out: dict[str, None] = {}
    for key in ("audience", "to", "cc"):
        for x in as_list(doc.get(key)):
            uri = id_of(x)
            if uri:
                out[uri] = None
    return tuple(out)


def sent_to(doc: dict[str, object], group_uri: str) -> bool:
    """Whether a note names the group as its audience or in `to`/`cc`."""
    return group_uri in addressees(doc)


@dataclass(frozen=True)
class Announced:
    """What a group's Announce re-shares: `kind` is the activity's type (`Note` for a post
    announced bare), `activity` the embedded activity if one came, `object_id` the post (or,
    for a bare reference, whatever the id names: the node fetches it to know), `note` the
    embedded post if one came (not yet to be believed: its origin speaks for it)."""

    kind: str
    object_id: str
    activity: dict[str, object] | None
    note: dict[str, object] | None
    by_reference: bool = False  # the Announce named its object by id only


def ap_to_announced(obj: object) -> Announced:
    """The Announce's `object`, as one of FEP-1b12's shapes; InvalidActivity otherwise."""
    if isinstance(obj, str):
        origin(obj)
        return Announced("Note", obj, None, None, by_reference=True)
    if not isinstance(obj, dict):
        raise InvalidActivity("the Announce names no object")
    kind = obj.get("type")
    if isinstance(kind, list):
        kind = next((t for t in kind if isinstance(t, str)), None)
    object_id = id_of(obj.get("id"))
    if kind in NOTE_TYPES and object_id:
        origin(object_id)
        return Announced("Note", object_id, None, obj)
    if kind not in ANNOUNCED_ACTIVITIES:
        raise InvalidActivity(f"a group may announce a post or {', '.join(ANNOUNCED_ACTIVITIES)}, not {str(kind)[:40]!r}")
    inner = obj.get("object")
    inner_id = id_of(inner)
    if inner_id is None:
        raise InvalidActivity(f"the announced {kind} names no object")
    origin(inner_id)
    note = inner if isinstance(inner, dict) and inner.get("type") in NOTE_TYPES else None
    return Announced(str(kind), inner_id, obj, note)


def attributed_to(note: dict[str, object]) -> str | None:
    value = note.get("attributedTo")
    return next((id_of(x) for x in as_list(value) if id_of(x)), None)
