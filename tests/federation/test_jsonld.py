"""JSON-LD: bundled contexts only, the fast path agrees with pyld, limits, no network."""

from __future__ import annotations

import copy
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyld import jsonld as pyld_jsonld
from pyld.context_resolver import ContextResolver

from federation import jsonld
from federation.jsonld import (
    AS2_CONTEXT_URL,
    PUBLIC,
    SECURITY_V1_CONTEXT_URL,
    ContextNotBundled,
    JsonLdRejected,
    NormalizedActivity,
    document_loader,
    normalize,
)

AS = AS2_CONTEXT_URL
SEC = SECURITY_V1_CONTEXT_URL
UNKNOWN = "https://unknown.example/ns/context.jsonld"


# --------------------------------------------------------------------------- #
# No network, ever: any socket, requests or aiohttp use fails the test loudly.
# --------------------------------------------------------------------------- #


class NetworkTouched(AssertionError):
    pass


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise NetworkTouched(f"network touched: {args!r} {kwargs!r}")


@pytest.fixture(autouse=True, scope="module")
def no_network() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", _refuse)
        mp.setattr(socket.socket, "connect_ex", _refuse)
        mp.setattr(socket, "create_connection", _refuse)
        mp.setattr(socket, "getaddrinfo", _refuse)
        try:
            import requests

            mp.setattr(requests.Session, "request", _refuse)
        except ImportError:  # pragma: no cover - pyld's requests loader is optional
            pass
        try:
            import aiohttp

            mp.setattr(aiohttp.ClientSession, "_request", _refuse)
        except ImportError:  # pragma: no cover
            pass
        yield


def test_the_network_guard_is_armed() -> None:
    # Given the guard / When anything opens a connection / Then the test would fail
    with pytest.raises(NetworkTouched):
        socket.create_connection(("127.0.0.1", 9))
    # And pyld's own default loader (which fetches over HTTP) is refused as well
    with pytest.raises(Exception) as caught:
        pyld_jsonld.get_document_loader()(UNKNOWN, {})
    assert isinstance(caught.value, NetworkTouched) or isinstance(
        caught.value.__cause__ or caught.value.__context__, NetworkTouched
    )


# --------------------------------------------------------------------------- #
# Real-world shapes
# --------------------------------------------------------------------------- #

MASTODON_CONTEXT: list[Any] = [
    AS,
    SEC,
    {
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "toot": "http://joinmastodon.org/ns#",
        "featured": {"@id": "toot:featured", "@type": "@id"},
        "featuredTags": {"@id": "toot:featuredTags", "@type": "@id"},
        "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
        "movedTo": {"@id": "as:movedTo", "@type": "@id"},
        "schema": "http://schema.org#",
        "PropertyValue": "schema:PropertyValue",
        "value": "schema:value",
        "discoverable": "toot:discoverable",
        "suspended": "toot:suspended",
        "memorial": "toot:memorial",
        "indexable": "toot:indexable",
        "attributionDomains": {"@id": "toot:attributionDomains", "@type": "@id"},
        "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
    },
]

MASTODON_NOTE_CONTEXT: list[Any] = [
    AS,
    {
        "ostatus": "http://ostatus.org#",
        "atomUri": "ostatus:atomUri",
        "inReplyToAtomUri": "ostatus:inReplyToAtomUri",
        "conversation": "ostatus:conversation",
        "sensitive": "as:sensitive",
        "toot": "http://joinmastodon.org/ns#",
        "votersCount": "toot:votersCount",
        "blurhash": "toot:blurhash",
        "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
        "Hashtag": "as:Hashtag",
        "Emoji": "toot:Emoji",
    },
]

MISSKEY_CONTEXT: list[Any] = [
    AS,
    SEC,
    {
        "Key": "sec:Key",
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "sensitive": "as:sensitive",
        "Hashtag": "as:Hashtag",
        "quoteUrl": "as:quoteUrl",
        "toot": "http://joinmastodon.org/ns#",
        "Emoji": "toot:Emoji",
        "featured": "toot:featured",  # Misskey's meaning differs from Mastodon's
        "discoverable": "toot:discoverable",
        "schema": "http://schema.org#",
        "PropertyValue": "schema:PropertyValue",
        "value": "schema:value",
        "misskey": "https://misskey-hub.net/ns#",
        "_misskey_content": "misskey:_misskey_content",
        "_misskey_quote": "misskey:_misskey_quote",
        "_misskey_reaction": "misskey:_misskey_reaction",
        "_misskey_votes": "misskey:_misskey_votes",
        "_misskey_summary": "misskey:_misskey_summary",
        "isCat": "misskey:isCat",
        "vcard": "http://www.w3.org/2006/vcard/ns#",
    },
]

ALICE = "https://mastodon.example/users/alice"
BOB = "https://gts.example/users/bob"
CAROL = "https://atrium.example/users/carol"
NOTE = "https://mastodon.example/users/alice/statuses/1"

MASTODON_CREATE: dict[str, Any] = {
    "@context": MASTODON_NOTE_CONTEXT,
    "id": NOTE + "/activity",
    "type": "Create",
    "actor": ALICE,
    "published": "2024-05-01T10:00:00Z",
    "to": ["https://www.w3.org/ns/activitystreams#Public"],
    "cc": [ALICE + "/followers", CAROL],
    "object": {
        "id": NOTE,
        "type": "Note",
        "summary": None,
        "inReplyTo": None,
        "published": "2024-05-01T10:00:00Z",
        "url": "https://mastodon.example/@alice/1",
        "attributedTo": ALICE,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [ALICE + "/followers", CAROL],
        "sensitive": False,
        "atomUri": NOTE,
        "inReplyToAtomUri": None,
        "conversation": "tag:mastodon.example,2024-05-01:objectId=1:objectType=Conversation",
        "content": '<p>Hi <a href="https://atrium.example/@carol">@carol</a> #atrium</p>',
        "contentMap": {"en": '<p>Hi <a href="https://atrium.example/@carol">@carol</a></p>'},
        "attachment": [
            {
                "type": "Document",
                "mediaType": "image/png",
                "url": "https://files.mastodon.example/1.png",
                "name": "A diagram",
                "blurhash": "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH",
                "focalPoint": [0.0, -0.25],
                "width": 640,
                "height": 480,
            }
        ],
        "tag": [
            {"type": "Mention", "href": CAROL, "name": "@carol@atrium.example"},
            {"type": "Hashtag", "href": "https://mastodon.example/tags/atrium", "name": "#atrium"},
            {
                "id": "https://mastodon.example/emojis/1",
                "type": "Emoji",
                "name": ":blob:",
                "updated": "2024-01-01T00:00:00Z",
                "icon": {"type": "Image", "mediaType": "image/png", "url": "https://files.mastodon.example/e.png"},
            },
        ],
        "replies": {
            "id": NOTE + "/replies",
            "type": "Collection",
            "first": {
                "type": "CollectionPage",
                "next": NOTE + "/replies?only_other_accounts=true&page=true",
                "partOf": NOTE + "/replies",
                "items": [],
            },
        },
    },
}

MASTODON_SIGNED_CREATE: dict[str, Any] = {
    **MASTODON_CREATE,
    "@context": [AS, SEC, MASTODON_NOTE_CONTEXT[1]],
    "signature": {
        "type": "RsaSignature2017",
        "creator": ALICE + "#main-key",
        "created": "2024-05-01T10:00:01Z",
        "signatureValue": "aGVsbG8=",
    },
}

FOLLOW: dict[str, Any] = {
    "@context": AS,
    "id": "https://mastodon.example/0f6b5f1e",
    "type": "Follow",
    "actor": ALICE,
    "object": CAROL,
}

ANNOUNCE: dict[str, Any] = {
    "@context": AS,
    "id": NOTE + "/activity/announce",
    "type": "Announce",
    "actor": ALICE,
    "published": "2024-05-01T11:00:00Z",
    "to": "https://www.w3.org/ns/activitystreams#Public",
    "cc": [CAROL, ALICE + "/followers"],
    "object": "https://atrium.example/users/carol/posts/9",
}

LIKE: dict[str, Any] = {
    "@context": AS,
    "id": ALICE + "#likes/42",
    "type": "Like",
    "actor": ALICE,
    "object": "https://atrium.example/users/carol/posts/9",
}

ACCEPT_FOLLOW: dict[str, Any] = {
    "@context": AS,
    "id": CAROL + "#accepts/follows/7",
    "type": "Accept",
    "actor": CAROL,
    "object": {
        "id": "https://mastodon.example/0f6b5f1e",
        "type": "Follow",
        "actor": ALICE,
        "object": CAROL,
    },
}

UNDO_FOLLOW: dict[str, Any] = {
    "@context": AS,
    "id": ALICE + "#follows/1/undo",
    "type": "Undo",
    "actor": ALICE,
    "object": {"id": "https://mastodon.example/0f6b5f1e", "type": "Follow", "actor": ALICE, "object": CAROL},
}

DELETE_TOMBSTONE: dict[str, Any] = {
    "@context": [AS, {"ostatus": "http://ostatus.org#", "atomUri": "ostatus:atomUri"}],
    "id": NOTE + "#delete",
    "type": "Delete",
    "actor": ALICE,
    "to": ["https://www.w3.org/ns/activitystreams#Public"],
    "object": {"id": NOTE, "type": "Tombstone", "atomUri": NOTE},
}

UPDATE_PERSON: dict[str, Any] = {
    "@context": MASTODON_CONTEXT,
    "id": ALICE + "#updates/1",
    "type": "Update",
    "actor": ALICE,
    "to": ["https://www.w3.org/ns/activitystreams#Public"],
    "object": {
        "id": ALICE,
        "type": "Person",
        "following": ALICE + "/following",
        "followers": ALICE + "/followers",
        "inbox": ALICE + "/inbox",
        "outbox": ALICE + "/outbox",
        "featured": ALICE + "/collections/featured",
        "featuredTags": ALICE + "/collections/tags",
        "preferredUsername": "alice",
        "name": "Alice",
        "summary": "<p>Works in finance.</p>",
        "url": "https://mastodon.example/@alice",
        "manuallyApprovesFollowers": False,
        "discoverable": True,
        "indexable": False,
        "memorial": False,
        "published": "2023-01-01T00:00:00Z",
        "publicKey": {
            "id": ALICE + "#main-key",
            "owner": ALICE,
            "publicKeyPem": "-----BEGIN PUBLIC KEY-----\nMIIB...\n-----END PUBLIC KEY-----\n",
        },
        "tag": [],
        "attachment": [{"type": "PropertyValue", "name": "Team", "value": "Finance"}],
        "endpoints": {"sharedInbox": "https://mastodon.example/inbox"},
        "icon": {"type": "Image", "mediaType": "image/png", "url": "https://files.mastodon.example/a.png"},
    },
}

GOTOSOCIAL_LIKE: dict[str, Any] = {
    "@context": AS,
    "actor": BOB,
    "id": BOB + "/liked/01HZ",
    "object": NOTE,
    "to": ALICE,
    "type": "Like",
}

GOTOSOCIAL_FOLLOW: dict[str, Any] = {
    "@context": AS,
    "actor": BOB,
    "id": BOB + "/follow/01HZ",
    "object": ALICE,
    "to": ALICE,
    "type": "Follow",
}

MISSKEY_CREATE: dict[str, Any] = {
    "@context": MISSKEY_CONTEXT,
    "id": "https://misskey.example/notes/9abc/activity",
    "actor": "https://misskey.example/users/9xyz",
    "type": "Create",
    "published": "2024-05-01T10:00:00.000Z",
    "object": {
        "id": "https://misskey.example/notes/9abc",
        "type": "Note",
        "attributedTo": "https://misskey.example/users/9xyz",
        "content": "<p>hello</p>",
        "_misskey_content": "hello",
        "source": {"content": "hello", "mediaType": "text/x.misskeymarkdown"},
        "published": "2024-05-01T10:00:00.000Z",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": ["https://misskey.example/users/9xyz/followers"],
        "inReplyTo": None,
        "attachment": [],
        "sensitive": False,
        "tag": [],
    },
    "to": ["https://www.w3.org/ns/activitystreams#Public"],
    "cc": ["https://misskey.example/users/9xyz/followers"],
}

MISSKEY_LIKE: dict[str, Any] = {
    "@context": MISSKEY_CONTEXT,
    "type": "Like",
    "id": "https://misskey.example/likes/9q",
    "actor": "https://misskey.example/users/9xyz",
    "object": NOTE,
    "content": ":blob:",
    "_misskey_reaction": ":blob:",
    "tag": [
        {
            "id": "https://misskey.example/emojis/blob",
            "type": "Emoji",
            "name": ":blob:",
            "updated": "2024-01-01T00:00:00.000Z",
            "icon": {"type": "Image", "mediaType": "image/png", "url": "https://misskey.example/e/blob.png"},
        }
    ],
}

REAL_WORLD = {
    "mastodon-create": MASTODON_CREATE,
    "mastodon-signed-create": MASTODON_SIGNED_CREATE,
    "follow": FOLLOW,
    "announce": ANNOUNCE,
    "like": LIKE,
    "accept-follow": ACCEPT_FOLLOW,
    "undo-follow": UNDO_FOLLOW,
    "delete-tombstone": DELETE_TOMBSTONE,
    "update-person": UPDATE_PERSON,
    "gotosocial-like": GOTOSOCIAL_LIKE,
    "gotosocial-follow": GOTOSOCIAL_FOLLOW,
    "misskey-create": MISSKEY_CREATE,
    "misskey-like": MISSKEY_LIKE,
}


@pytest.mark.parametrize("name", sorted(REAL_WORLD))
def test_fast_and_full_paths_agree_on_real_world_activities(name: str) -> None:
    # Given a real-world-shaped activity in the standard contexts
    doc = REAL_WORLD[name]
    before = copy.deepcopy(doc)
    # When it is normalized with and without the fast path
    fast = normalize(doc)
    full = normalize(doc, prefer_fast=False)
    # Then the fast path took it, pyld agrees, both trust the (bundled) contexts
    assert fast.path == "fast", fast.reason
    assert full.path == "full", full.reason
    assert fast.document == full.document
    assert fast.trusted_context and full.trusted_context
    # And the input was left alone and is not aliased by the result
    assert doc == before
    fast.document["mutated"] = True
    assert "mutated" not in doc


def test_mastodon_create_comes_out_in_the_standard_shape() -> None:
    # Given Mastodon's Create/Note / When normalized
    result = normalize(MASTODON_CREATE)
    doc = result.document
    # Then addressing is lists with the public collection spelled out, object is a dict
    assert doc["to"] == [PUBLIC]
    assert doc["cc"] == [ALICE + "/followers", CAROL]
    assert isinstance(doc["object"], dict) and doc["object"]["type"] == "Note"
    note = doc["object"]
    assert note["to"] == [PUBLIC]
    # And nulls are gone, one-element arrays unwrapped, @list terms stay lists
    assert "summary" not in note and "inReplyTo" not in note
    assert isinstance(note["attachment"], dict)
    assert note["attachment"]["focalPoint"] == [0.0, -0.25]
    assert note["contentMap"] == {"en": '<p>Hi <a href="https://atrium.example/@carol">@carol</a></p>'}
    assert "@context" not in doc


def test_embedded_node_reference_collapses_to_its_uri() -> None:
    # Given an activity whose object is a bare {"id": ...} reference
    doc = {**LIKE, "object": {"id": "https://atrium.example/users/carol/posts/9"}}
    # When normalized on both paths / Then object is the URI string on both
    fast, full = normalize(doc), normalize(doc, prefer_fast=False)
    assert fast.path == "fast"
    assert fast.document["object"] == full.document["object"] == "https://atrium.example/users/carol/posts/9"


def test_misskey_featured_with_another_meaning_takes_the_full_path() -> None:
    # Given a Misskey actor using "featured" with Misskey's (untyped) definition
    doc = {
        "@context": MISSKEY_CONTEXT,
        "type": "Update",
        "id": "https://misskey.example/updates/1",
        "actor": "https://misskey.example/users/9xyz",
        "object": {
            "id": "https://misskey.example/users/9xyz",
            "type": "Person",
            "featured": "https://misskey.example/users/9xyz/collections/featured",
        },
    }
    # When normalized / Then pyld decides, and the differing term is not passed off as Mastodon's
    result = normalize(doc)
    assert result.path == "full"
    assert result.trusted_context
    assert "featured" not in result.document["object"]
    assert result.document["object"]["toot:featured"] == "https://misskey.example/users/9xyz/collections/featured"


def test_gotosocial_namespace_is_not_bundled_so_the_plain_shape_is_used() -> None:
    # Given a GoToSocial Create that uses the (unbundled) https://gotosocial.org/ns context
    doc = {
        "@context": ["https://gotosocial.org/ns", AS, SEC],
        "actor": BOB,
        "cc": BOB + "/followers",
        "id": BOB + "/statuses/01HZ/activity",
        "object": {
            "attributedTo": BOB,
            "content": "<p>hi</p>",
            "id": BOB + "/statuses/01HZ",
            "interactionPolicy": {"canLike": {"automaticApproval": PUBLIC}},
            "to": "https://www.w3.org/ns/activitystreams#Public",
            "type": "Note",
        },
        "published": "2024-05-01T10:00:00Z",
        "to": "https://www.w3.org/ns/activitystreams#Public",
        "type": "Create",
    }
    # When normalized (the network guard is armed)
    result = normalize(doc)
    # Then it is handled by its JSON shape, never trusted for LD signatures
    assert result.path == "plain"
    assert result.trusted_context is False
    assert "gotosocial.org" in result.reason
    assert result.document["to"] == [PUBLIC]
    assert result.document["cc"] == [BOB + "/followers"]
    assert result.document["object"]["to"] == [PUBLIC]
    assert result.document["object"]["interactionPolicy"] == {"canLike": {"automaticApproval": PUBLIC}}


# --------------------------------------------------------------------------- #
# Unknown contexts: never fetched, never rejected, never trusted
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "context",
    [
        UNKNOWN,
        [AS, UNKNOWN],
        [AS, "https://pleroma.example/schemas/litepub-0.1.jsonld", {"@language": "und"}],
        [AS, "/schemas/relative.jsonld"],
    ],
)
def test_unknown_context_is_never_fetched_and_is_handled_plain(context: Any) -> None:
    # Given an activity whose context nobody ships
    doc = {**ANNOUNCE, "@context": context}
    # When normalized (any network use would raise NetworkTouched)
    result = normalize(doc)
    # Then it is not rejected: plain JSON shape, untrusted, still normalized addressing
    assert result.path == "plain"
    assert result.trusted_context is False
    assert result.document["to"] == [PUBLIC]
    assert result.document["object"] == ANNOUNCE["object"]
    assert "@context" not in result.document


def test_unknown_context_nested_in_a_scoped_context_is_caught_by_the_loader() -> None:
    # Given an inline context whose term carries a scoped remote context nobody ships
    doc = {
        **LIKE,
        "@context": [AS, {"extra": {"@id": "https://x.example/ns#extra", "@context": UNKNOWN}}],
        "extra": {"name": "x"},
    }
    # When normalized: the fast path declines, pyld asks the frozen loader, which refuses
    result = normalize(doc)
    # Then the document falls back to its plain shape, untrusted, nothing fetched
    assert result.path == "plain"
    assert result.trusted_context is False
    assert UNKNOWN in result.reason


def test_document_loader_refuses_what_it_does_not_hold() -> None:
    # Given the frozen loader / When asked for an unknown URL / Then a pyld JsonLdError
    with pytest.raises(ContextNotBundled) as caught:
        document_loader(UNKNOWN)
    assert isinstance(caught.value, pyld_jsonld.JsonLdError)
    assert caught.value.url == UNKNOWN
    assert not jsonld.is_bundled(UNKNOWN)


def test_install_sets_pyld_default_loader_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given pyld's default loader as imported (the module does not replace it on import)
    original = pyld_jsonld.get_document_loader()
    assert original is not document_loader
    monkeypatch.setattr(pyld_jsonld, "_default_document_loader", original)
    # When install() is called / Then pyld's global default is the frozen loader
    jsonld.install()
    assert pyld_jsonld.get_document_loader() is document_loader
    # And pyld called without options now refuses unknown contexts instead of fetching them
    with pytest.raises(pyld_jsonld.JsonLdError):
        pyld_jsonld.expand({"@context": UNKNOWN, "name": "x"})


# --------------------------------------------------------------------------- #
# Shipped contexts
# --------------------------------------------------------------------------- #

CONTEXTS_DIR = Path(jsonld.__file__).with_name("contexts")


@pytest.mark.parametrize(
    ("url", "term", "iri"),
    [
        ("https://w3id.org/identity/v1", "signatureValue", "https://w3id.org/security#signatureValue"),
        ("https://w3id.org/security/data-integrity/v1", "proof", "https://w3id.org/security#proof"),
        ("https://w3id.org/security/multikey/v1", "Multikey", "https://w3id.org/security#Multikey"),
    ],
)
def test_shipped_contexts_load_and_expand(url: str, term: str, iri: str) -> None:
    # Given one of the contexts this project ships
    # When the frozen loader serves it
    remote = document_loader(url)
    # Then it is the JSON-LD context document under its own URL
    assert remote["documentUrl"] == url
    assert term in remote["document"]["@context"]
    # And pyld can process it with the frozen loader (no network)
    expanded = pyld_jsonld.expand(
        {"@context": url, "@id": "https://x.example/a", "@type": "https://x.example/T"},
        {"documentLoader": document_loader},
    )
    assert expanded[0]["@id"] == "https://x.example/a"
    ctx = pyld_jsonld.JsonLdProcessor().process_context(
        {"mappings": {}, "processingMode": "json-ld-1.1"},
        url,
        {
            "documentLoader": document_loader,
            "contextResolver": ContextResolver({}, document_loader),
            "base": "",
        },
    )
    assert ctx["mappings"][term]["@id"] == iri


def test_identity_context_reads_a_linked_data_signature_options_document() -> None:
    # Given Mastodon's RsaSignature2017 options document (what it hashes when signing)
    options = {
        "@context": "https://w3id.org/identity/v1",
        "creator": ALICE + "#main-key",
        "created": "2024-05-01T10:00:01Z",
    }
    # When expanded with the frozen loader
    expanded = pyld_jsonld.expand(options, {"documentLoader": document_loader})
    # Then both terms mean what the security vocabulary says
    assert expanded[0]["http://purl.org/dc/terms/creator"] == [{"@id": ALICE + "#main-key"}]
    assert expanded[0]["http://purl.org/dc/terms/created"][0]["@type"] == ("http://www.w3.org/2001/XMLSchema#dateTime")


def test_multikey_actor_takes_the_full_path_and_is_trusted() -> None:
    # Given an actor update that uses the FEP-521a multikey and data-integrity contexts
    doc = {
        "@context": [AS, "https://w3id.org/security/data-integrity/v1", "https://w3id.org/security/multikey/v1"],
        "id": ALICE + "#updates/2",
        "type": "Update",
        "actor": ALICE,
        "object": {
            "id": ALICE,
            "type": "Person",
            "assertionMethod": [
                {
                    "id": ALICE + "#ed25519-key",
                    "type": "Multikey",
                    "controller": ALICE,
                    "publicKeyMultibase": "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
                }
            ],
        },
    }
    # When normalized / Then pyld handles it with the bundled contexts
    result = normalize(doc)
    assert result.path == "full"
    assert result.trusted_context
    assert result.document["object"]["id"] == ALICE


def test_every_shipped_file_is_served_and_documented() -> None:
    # Given the contexts directory / Then each JSON file is served and named in the README
    readme = (CONTEXTS_DIR / "README.md").read_text(encoding="utf-8")
    files = sorted(p.name for p in CONTEXTS_DIR.glob("*.json"))
    assert files == sorted(p.name for p in jsonld.PROJECT_CONTEXTS.values())
    for name in files:
        assert name in readme
        json.loads((CONTEXTS_DIR / name).read_text(encoding="utf-8"))
    for url in jsonld.PROJECT_CONTEXTS:
        assert url in readme


def test_loader_serves_aliases_and_fresh_copies() -> None:
    # Given an http:// spelling of the AS2 context / When loaded twice and mutated
    first = document_loader("http://www.w3.org/ns/activitystreams")
    first["document"]["@context"]["actor"] = "poisoned"
    second = document_loader(AS)
    # Then the alias resolves and no caller can poison the bundled copy
    assert second["document"]["@context"]["actor"] == {"@id": "as:actor", "@type": "@id"}


# --------------------------------------------------------------------------- #
# Reshaped JSON-LD goes through pyld
# --------------------------------------------------------------------------- #

RESHAPED = {
    "@graph": {
        "@context": AS,
        "@graph": [{"id": "https://x.example/1", "type": "Like", "actor": ALICE, "object": NOTE}],
    },
    "@reverse": {
        "@context": AS,
        "id": NOTE,
        "type": "Note",
        "@reverse": {"https://www.w3.org/ns/activitystreams#object": {"id": "https://x.example/l", "type": "Like"}},
    },
    "@included": {
        "@context": AS,
        "id": "https://x.example/1",
        "type": "Like",
        "actor": ALICE,
        "object": NOTE,
        "@included": [{"id": ALICE, "type": "Person"}],
    },
    "@id keyword": {"@context": AS, "@id": "https://x.example/1", "@type": "Like", "actor": ALICE, "object": NOTE},
    "aliased @id": {
        "@context": [AS, {"uri": "@id"}],
        "uri": "https://x.example/1",
        "type": "Like",
        "actor": ALICE,
        "object": NOTE,
    },
    "nested @context": {
        "@context": AS,
        "id": "https://x.example/1",
        "type": "Create",
        "actor": ALICE,
        "object": {"@context": {"content": "https://evil.example/ns#content"}, "type": "Note", "content": "x"},
    },
    "redefined actor": {
        "@context": [AS, {"actor": "https://evil.example/ns#actor"}],
        "id": "https://x.example/1",
        "type": "Like",
        "actor": ALICE,
        "object": NOTE,
    },
    "compact IRI key": {
        "@context": AS,
        "id": "https://x.example/1",
        "type": "Like",
        "as:actor": {"id": ALICE},  # a bare string here would be a literal, not an IRI
        "object": NOTE,
    },
    "full IRI key": {
        "@context": AS,
        "id": "https://x.example/1",
        "type": "Like",
        "https://www.w3.org/ns/activitystreams#actor": {"id": ALICE},
        "object": NOTE,
    },
    "@vocab": {"@context": [AS, {"@vocab": "https://evil.example/"}], "type": "Like", "actor": ALICE},
    "@language": {"@context": [AS, {"@language": "en"}], "type": "Note", "id": NOTE, "content": "x"},
    "typed value object": {
        "@context": AS,
        "type": "Note",
        "id": NOTE,
        "content": {"@value": "x", "@language": "en"},
    },
}


@pytest.mark.parametrize("name", sorted(RESHAPED))
def test_reshaped_json_ld_goes_through_the_full_path(name: str) -> None:
    # Given a document that relies on JSON-LD reshaping features
    doc = RESHAPED[name]
    # When normalized / Then pyld, not the fast path, produced the document
    result = normalize(doc)
    assert result.path == "full", result.reason
    assert result.trusted_context


def test_reshaped_documents_come_out_in_the_standard_terms() -> None:
    # Given keyword and IRI spellings of a Like / When normalized by pyld
    for name in ("@id keyword", "aliased @id", "compact IRI key", "full IRI key"):
        doc = normalize(RESHAPED[name]).document
        # Then they read like any other Like
        assert doc["type"] == "Like", name
        assert doc["id"] == "https://x.example/1", name
        assert doc["actor"] == ALICE, name
    # And a redefined core term does not masquerade as the real one
    redefined = normalize(RESHAPED["redefined actor"]).document
    assert "actor" not in redefined
    assert redefined["https://evil.example/ns#actor"] == ALICE
    # And a nested context that redefines content is honoured, not ignored
    nested = normalize(RESHAPED["nested @context"]).document
    assert "content" not in nested["object"]


# --------------------------------------------------------------------------- #
# Addressing and the public collection
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "public",
    [
        "https://www.w3.org/ns/activitystreams#Public",
        "as:Public",
        "Public",
        "http://www.w3.org/ns/activitystreams#Public",
    ],
)
@pytest.mark.parametrize("prefer_fast", [True, False])
def test_public_variants_fold(public: str, prefer_fast: bool) -> None:
    # Given an Announce addressed to a spelling of the public collection, as a string and in a list
    doc = {**ANNOUNCE, "to": public, "cc": [CAROL, public]}
    # When normalized on either path
    result = normalize(doc, prefer_fast=prefer_fast)
    # Then every spelling is the full URI and addressing is lists
    assert result.document["to"] == [PUBLIC]
    assert result.document["cc"] == [CAROL, PUBLIC]


def test_missing_to_and_cc_become_empty_lists() -> None:
    # Given a Follow without addressing / When normalized / Then to and cc are empty lists
    doc = normalize(FOLLOW).document
    assert doc["to"] == [] and doc["cc"] == []


def test_document_without_context_is_read_as_activitystreams_but_not_trusted() -> None:
    # Given a bare JSON activity (AS2 §2.1: the AS2 context is assumed)
    doc = {k: v for k, v in ANNOUNCE.items() if k != "@context"}
    # When normalized on either path
    fast, full = normalize(doc), normalize(doc, prefer_fast=False)
    # Then both read it as AS2, identically, but an LD signature over it means nothing
    assert fast.path == "fast" and full.path == "full"
    assert fast.document == full.document
    assert fast.document["to"] == [PUBLIC]
    assert not fast.trusted_context and not full.trusted_context


# --------------------------------------------------------------------------- #
# Limits
# --------------------------------------------------------------------------- #


def _nested(depth: int) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": "Note"}
    for _ in range(depth - 1):
        doc = {"type": "Note", "inReplyTo": doc}
    return {"@context": AS, **doc}


def test_limits_refuse_deep_documents() -> None:
    # Given a document nested deeper than the limit / When normalized / Then refused with a reason
    assert normalize(_nested(jsonld.MAX_DEPTH)).document
    with pytest.raises(JsonLdRejected) as caught:
        normalize(_nested(jsonld.MAX_DEPTH + 1))
    assert "deeper" in caught.value.reason
    assert isinstance(caught.value, ValueError)


def test_limits_refuse_documents_with_too_many_values() -> None:
    # Given a document with more JSON values than allowed / When normalized / Then refused
    doc = {"@context": AS, "type": "Note", "cc": [f"https://x.example/{i}" for i in range(jsonld.MAX_NODES)]}
    with pytest.raises(JsonLdRejected) as caught:
        normalize(doc)
    assert "values" in caught.value.reason


def test_large_standard_documents_stay_on_the_fast_path() -> None:
    # Given a standard document with many values (but under the hard limit)
    many = [f"https://x.example/{i}" for i in range(jsonld.MAX_NODES - 100)]
    doc = {**ANNOUNCE, "cc": many}
    # When normalized / Then the fast path handles it, addressing intact
    result = normalize(doc)
    assert result.path == "fast"
    assert result.document["cc"] == many


def test_large_documents_the_fast_path_declines_are_not_given_to_pyld(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a document with a JSON-LD trick and more values than pyld is allowed to chew on
    many = [f"https://x.example/{i}" for i in range(jsonld.MAX_FULL_NODES)]
    doc = {**RESHAPED["@id keyword"], "cc": many}
    monkeypatch.setattr(jsonld, "_full", lambda doc: pytest.fail("pyld must not run"))
    # When normalized / Then it is handled by its plain shape and not trusted
    result = normalize(doc)
    assert result.path == "plain"
    assert not result.trusted_context
    assert "too large" in result.reason
    assert result.document["cc"] == many


@pytest.mark.parametrize(
    "doc",
    [
        ["not", "an", "object"],
        "a string",
        None,
        {"@context": AS, "type": "Note", "width": float("nan")},
        {"@context": AS, "type": "Note", 1: "non-string key"},
        {"@context": AS, "type": "Note", "name": b"bytes"},
        {"@context": AS, "type": "Note", "tag": ("tuple",)},
    ],
)
def test_limits_refuse_non_json(doc: Any) -> None:
    # Given something that is not a JSON object / When normalized / Then refused
    with pytest.raises(JsonLdRejected):
        normalize(doc)


# --------------------------------------------------------------------------- #
# Properties
# --------------------------------------------------------------------------- #

CONTEXT_POOL = [
    AS,
    SEC,
    UNKNOWN,
    "https://w3id.org/identity/v1",
    "https://w3id.org/security/multikey/v1",
    {"sensitive": "as:sensitive", "toot": "http://joinmastodon.org/ns#", "Emoji": "toot:Emoji"},
    {"featured": "toot:featured"},
    {"id": "@id", "uri": "@id"},
    {"@vocab": "https://v.example/"},
    {"@language": "en"},
    {"name": {"@id": "as:name", "@container": "@language"}},
    {"x": {"@reverse": "as:object"}},
    {"@import": UNKNOWN},
    {"y": {"@id": "https://y.example/", "@context": UNKNOWN}},
    None,
    42,
]

KEYS = st.one_of(
    st.sampled_from(
        [
            "@context",
            "@id",
            "@type",
            "@graph",
            "@reverse",
            "@included",
            "@value",
            "@list",
            "@set",
            "@language",
            "@nest",
            "@index",
            "id",
            "type",
            "actor",
            "object",
            "to",
            "cc",
            "content",
            "contentMap",
            "name",
            "published",
            "tag",
            "orderedItems",
            "focalPoint",
            "as:actor",
            "_:b",
            "https://www.w3.org/ns/activitystreams#object",
            "",
        ]
    ),
    st.text(max_size=6),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
    st.sampled_from([PUBLIC, "as:Public", "Public", "_:b0", "https://x.example/a", "toot:x", "@id"]),
)
JSONISH = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(KEYS, st.one_of(children, st.sampled_from(CONTEXT_POOL)), max_size=5),
    ),
    max_leaves=25,
)
DOCS = st.one_of(
    JSONISH,
    st.builds(
        lambda ctx, body: {"@context": ctx, **(body if isinstance(body, dict) else {"type": "Note"})},
        st.one_of(st.sampled_from(CONTEXT_POOL), st.lists(st.sampled_from(CONTEXT_POOL), max_size=4)),
        JSONISH,
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCS)
def test_normalize_never_raises_anything_but_a_rejection(doc: Any) -> None:
    # Given arbitrary JSON-ish input of bounded size
    try:
        # When normalized
        result = normalize(doc)
    except JsonLdRejected:
        return
    # Then it is a well-formed result; untrusted unless processed as JSON-LD
    assert isinstance(result, NormalizedActivity)
    assert result.path in ("fast", "full", "plain")
    assert isinstance(result.document, dict)
    assert isinstance(result.document["to"], list) and isinstance(result.document["cc"], list)
    if result.path == "plain":
        assert not result.trusted_context


PLAIN_IRIS = st.sampled_from(
    [
        "https://a.example/x",
        "https://b.example/users/bob",
        "https://a.example/y#main-key",
        "mailto:a@b.example",
        "urn:uuid:1",
    ]
)
ADDRESSES = st.one_of(PLAIN_IRIS, st.sampled_from([PUBLIC, "as:Public", "Public"]))
TYPES = st.sampled_from(
    ["Note", "Create", "Hashtag", "Emoji", "Mention", "Document", "Foo", "PropertyValue", "Collection"]
)
LITERALS = st.one_of(st.text(max_size=6), st.integers(0, 9), st.booleans(), st.sampled_from([0.5, 1.0]))


def _as_node(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    iri = st.one_of(PLAIN_IRIS, children, st.lists(st.one_of(PLAIN_IRIS, children), max_size=3), st.none())
    address = st.one_of(ADDRESSES, st.lists(st.one_of(ADDRESSES, children), max_size=3), st.none())
    literal = st.one_of(LITERALS, st.lists(LITERALS, max_size=3), st.none(), children)
    dated = st.one_of(
        st.just("2024-01-01T00:00:00Z"), st.integers(0, 9), st.lists(st.just("2024-01-01T00:00:00Z"), max_size=2)
    )
    langs = st.dictionaries(st.sampled_from(["en", "de", "und", "to", "fr-ca", "EN"]), st.text(max_size=4), max_size=3)
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for key in (
        "actor",
        "object",
        "inReplyTo",
        "attributedTo",
        "url",
        "href",
        "tag",
        "attachment",
        "replies",
        "first",
        "featured",
        "publicKey",
        "owner",
        "items",
    ):
        fields[key] = iri
    for key in ("to", "cc", "bto", "audience"):
        fields[key] = address
    for key in (
        "content",
        "name",
        "summary",
        "mediaType",
        "publicKeyPem",
        "value",
        "blurhash",
        "unknownTerm",
        "_misskey_content",
        "sensitive",
        "conversation",
    ):
        fields[key] = literal
    for key in ("published", "updated", "width", "totalItems", "expires", "created"):
        fields[key] = dated
    for key in ("contentMap", "nameMap"):
        fields[key] = langs
    fields["focalPoint"] = st.one_of(st.lists(st.one_of(LITERALS, children), max_size=3), LITERALS)
    fields["orderedItems"] = st.one_of(st.lists(st.one_of(PLAIN_IRIS, children), max_size=3), PLAIN_IRIS)
    fields["id"] = PLAIN_IRIS
    fields["type"] = st.one_of(TYPES, st.lists(TYPES, min_size=1, max_size=2))
    return st.lists(st.sampled_from(sorted(fields)), max_size=6, unique=True).flatmap(
        lambda keys: st.fixed_dictionaries({k: fields[k] for k in keys})
    )


AS_NODES = st.recursive(_as_node(st.nothing()), _as_node, max_leaves=8)
AS_CONTEXTS = st.sampled_from(
    [AS, [AS, SEC], MASTODON_NOTE_CONTEXT, MASTODON_CONTEXT, MISSKEY_CONTEXT, [SEC, AS, MASTODON_NOTE_CONTEXT[1]]]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(AS_NODES, TYPES, AS_CONTEXTS)
def test_fast_path_output_is_what_pyld_produces(node: dict[str, Any], type_: str, context: Any) -> None:
    # Given an ActivityStreams-shaped document in standard contexts
    doc = {"@context": context, **node, "type": type_}
    # When the fast path takes it
    fast = normalize(doc)
    if fast.path != "fast":
        return
    # Then pyld's full compaction gives exactly the same document
    full = normalize(doc, prefer_fast=False)
    assert full.path == "full", full.reason
    assert fast.document == full.document
