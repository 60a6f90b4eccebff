"""ActivityStreams names and the JSON-LD context Atrium sends."""

from __future__ import annotations

from dataclasses import dataclass

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
# Every spelling of the public collection that real servers send.
PUBLIC_ALIASES = frozenset({PUBLIC, "as:Public", "Public"})
AP_CONTENT_TYPE = "application/activity+json"
LD_CONTENT_TYPE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
ACCEPT = f"{AP_CONTENT_TYPE}, {LD_CONTENT_TYPE}"

# Atrium's own terms, in an inline context so other servers need fetch nothing to read them.
ATRIUM_NS = "https://atrium.example/ns#"
CONTEXT: list[object] = [
    AS_CONTEXT,
    SECURITY_CONTEXT,
    {
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "sensitive": "as:sensitive",
        "Hashtag": "as:Hashtag",
        "toot": "http://joinmastodon.org/ns#",
        "featured": {"@id": "toot:featured", "@type": "@id"},
        "discoverable": "toot:discoverable",
        "suspended": "toot:suspended",
        "blurhash": "toot:blurhash",
        "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
        "votersCount": "toot:votersCount",  # a poll's (federation/poll_ap.py)
        # Profile fields, as Mastodon spells them.
        "schema": "http://schema.org#",
        "PropertyValue": "schema:PropertyValue",
        "value": "schema:value",
        "atrium": ATRIUM_NS,
        # The exact audience of a post (or of a profile field), for Atrium peers: `organization`
        # posts are shown only to the receiving node's own users and never boosted beyond the
        # organisation; `organization` fields only to the receiving node's own users.
        "audience_scope": "atrium:audienceScope",
        # An organisation-wide announcement between Atrium nodes (federation/announcement_ap.py).
        "announcement": "atrium:announcement",
        "allDay": "atrium:allDay",
    },
]


def is_public(address: str) -> bool:
    return address in PUBLIC_ALIASES


def as_list(value: object) -> list[object]:
    """`to`, `cc`, `tag`…: real servers send a string, a list, or nothing."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, tuple):
        return list(value)
    return [value]


def id_of(value: object) -> str | None:
    """The id of a reference that may be a URI string or an embedded object."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        ident = value.get("id")
        return ident if isinstance(ident, str) else None
    return None


@dataclass(frozen=True)
class Picture:
    """An actor's `icon` (avatar) or `image` (header), an ActivityStreams `Image`: where it is
    served, and its type (None when a peer's document does not say)."""

    url: str
    media_type: str | None = None

