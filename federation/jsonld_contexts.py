"""JSON-LD contexts this process holds, and the loader that serves only them.

Part of :mod:`federation.jsonld` (which re-exports the public names; import them
from there). Nothing here touches the network or changes global state at import
time: :func:`document_loader` serves pyld's bundled contexts plus the ones this
project ships in ``federation/contexts/`` (see the README there) and raises
:class:`ContextNotBundled` for every other URL; :func:`pyld_options` is what
every pyld call in :mod:`federation.jsonld` is given, so that loader is always
explicit. :func:`install` additionally makes it pyld's global default.
"""

from __future__ import annotations

import copy
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Final, TypeVar

from pyld import jsonld as _pyld
from pyld.context_resolver import ContextResolver
from pyld.documentloader.base import RemoteDocument
from pyld.documentloader.frozen import BUNDLED_CONTEXTS

AS2_CONTEXT_URL: Final = "https://www.w3.org/ns/activitystreams"
SECURITY_V1_CONTEXT_URL: Final = "https://w3id.org/security/v1"
IDENTITY_V1_CONTEXT_URL: Final = "https://w3id.org/identity/v1"
DATA_INTEGRITY_V1_CONTEXT_URL: Final = "https://w3id.org/security/data-integrity/v1"
MULTIKEY_V1_CONTEXT_URL: Final = "https://w3id.org/security/multikey/v1"

_CONTEXTS_DIR: Final = Path(__file__).with_name("contexts")

#: Contexts this project ships (pyld 3.3 lacks them), by the URL servers use.
PROJECT_CONTEXTS: Final[Mapping[str, Path]] = {
    IDENTITY_V1_CONTEXT_URL: _CONTEXTS_DIR / "identity-v1.json",
    DATA_INTEGRITY_V1_CONTEXT_URL: _CONTEXTS_DIR / "security-data-integrity-v1.json",
    MULTIKEY_V1_CONTEXT_URL: _CONTEXTS_DIR / "security-multikey-v1.json",
}

#: Other spellings of bundled URLs seen in the wild (http scheme, ``.jsonld``).
#: Fetching any of them would redirect to the same document.
_URL_ALIASES: Final[Mapping[str, str]] = {
    "http://www.w3.org/ns/activitystreams": AS2_CONTEXT_URL,
    "https://www.w3.org/ns/activitystreams.jsonld": AS2_CONTEXT_URL,
    "http://www.w3.org/ns/activitystreams.jsonld": AS2_CONTEXT_URL,
    "http://w3id.org/security/v1": SECURITY_V1_CONTEXT_URL,
    "http://w3id.org/security/v2": "https://w3id.org/security/v2",
    "http://w3id.org/identity/v1": IDENTITY_V1_CONTEXT_URL,
    "http://w3id.org/security/data-integrity/v1": DATA_INTEGRITY_V1_CONTEXT_URL,
    "http://w3id.org/security/multikey/v1": MULTIKEY_V1_CONTEXT_URL,
}

#: Terms servers add inline next to AS2 and security v1 (as Mastodon, Misskey,
#: Fedibird and LitePub define them). Part of :data:`COMPACTION_CONTEXT`, so a
#: document that uses these terms keeps their short names on every path. Where
#: implementations disagree (Misskey's ``featured`` has no ``@type``), Mastodon's
#: definition is the canonical one; a document using the other meaning takes the
#: full path and comes out with the full IRI as the key.
EXTENSION_CONTEXT: Final[Mapping[str, Any]] = {
    # ActivityStreams-namespace terms the AS2 context does not define
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "sensitive": "as:sensitive",
    "Hashtag": "as:Hashtag",
    "movedTo": {"@id": "as:movedTo", "@type": "@id"},
    "quoteUrl": "as:quoteUrl",
    # Mastodon
    "toot": "http://joinmastodon.org/ns#",
    "Emoji": "toot:Emoji",
    "featured": {"@id": "toot:featured", "@type": "@id"},
    "featuredTags": {"@id": "toot:featuredTags", "@type": "@id"},
    "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
    "blurhash": "toot:blurhash",
    "discoverable": "toot:discoverable",
    "indexable": "toot:indexable",
    "memorial": "toot:memorial",
    "suspended": "toot:suspended",
    "votersCount": "toot:votersCount",
    "IdentityProof": "toot:IdentityProof",
    "attributionDomains": {"@id": "toot:attributionDomains", "@type": "@id"},
    # schema.org, spelled as Mastodon spells it
    "schema": "http://schema.org#",
    "PropertyValue": "schema:PropertyValue",
    "value": "schema:value",
    # OStatus
    "ostatus": "http://ostatus.org#",
    "atomUri": "ostatus:atomUri",
    "inReplyToAtomUri": "ostatus:inReplyToAtomUri",
    "conversation": "ostatus:conversation",
    # Misskey
    "misskey": "https://misskey-hub.net/ns#",
    "_misskey_content": "misskey:_misskey_content",
    "_misskey_quote": "misskey:_misskey_quote",
    "_misskey_reaction": "misskey:_misskey_reaction",
    "_misskey_votes": "misskey:_misskey_votes",
    "_misskey_summary": "misskey:_misskey_summary",
    "isCat": "misskey:isCat",
    # Fedibird
    "fedibird": "http://fedibird.com/ns#",
    "quoteUri": "fedibird:quoteUri",
    # LitePub
    "litepub": "http://litepub.social/ns#",
    "directMessage": "litepub:directMessage",
    # Atrium (federation/vocab.py): the exact audience of a post between Atrium nodes
    "atrium": "https://atrium.example/ns#",
    "audience_scope": "atrium:audienceScope",
    # An organisation-wide announcement between Atrium nodes (federation/announcement_ap.py).
    "announcement": "atrium:announcement",
    "allDay": "atrium:allDay",
}

#: The context every normalized document is compacted against (and is in the
#: shape of). ``.document`` carries no ``@context`` key: this is it.
COMPACTION_CONTEXT: Final[tuple[Any, ...]] = (
    AS2_CONTEXT_URL,
    SECURITY_V1_CONTEXT_URL,
    EXTENSION_CONTEXT,
)


# --------------------------------------------------------------------------- #
# Document loader
# --------------------------------------------------------------------------- #


class ContextNotBundled(_pyld.JsonLdError):  # type: ignore[misc]  # pyld is untyped
    """The document loader was asked for a URL it does not hold."""

    def __init__(self, url: str) -> None:
        super().__init__(
            "Refusing to load a JSON-LD document that is not bundled (contexts are never fetched).",
            "jsonld.LoadDocumentError",
            {"url": url},
            code="loading document failed",
        )
        self.url = url


_K = TypeVar("_K")
_V = TypeVar("_V")


class LRU(OrderedDict[_K, _V]):
    """A small bounded mapping (the ``get``/``[]=`` that pyld's resolver uses)."""

    def __init__(self, maxsize: int) -> None:
        super().__init__()
        self.maxsize = maxsize

    def get(self, key: _K, default: Any = None) -> Any:
        try:
            self.move_to_end(key)
        except KeyError:
            return default
        return self[key]

    def __setitem__(self, key: _K, value: _V) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.maxsize:
            self.popitem(last=False)


@cache
def _documents() -> Mapping[str, Path]:
    return {**BUNDLED_CONTEXTS, **PROJECT_CONTEXTS}


@cache
def parsed_context(url: str) -> Any:
    return json.loads(_documents()[url].read_text(encoding="utf-8"))


def canonical_url(url: str) -> str:
    return _URL_ALIASES.get(url, url)


def bundled_context_urls() -> frozenset[str]:
    """Every context URL :func:`document_loader` serves (aliases included)."""
    return frozenset(_documents()) | frozenset(_URL_ALIASES)


def is_bundled(url: object) -> bool:
    """Whether ``url`` is a context URL this process holds (never fetched)."""
    return isinstance(url, str) and canonical_url(url) in _documents()


def document_loader(url: str, options: Mapping[str, Any] | None = None) -> RemoteDocument:
    """pyld document loader over the bundled contexts; never touches the network.

    Returns a fresh copy of the document (pyld may edit what it is given) and
    tags it ``static`` so pyld caches the processed context. Raises
    :class:`ContextNotBundled` (a pyld ``JsonLdError``) for any other URL.
    """
    key = canonical_url(url) if isinstance(url, str) else url
    if not isinstance(key, str) or key not in _documents():
        raise ContextNotBundled(str(url))
    doc: RemoteDocument = {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": copy.deepcopy(parsed_context(key)),
    }
    doc["tag"] = "static"  # read by pyld's ContextResolver
    return doc


def install() -> None:
    """Make :func:`document_loader` pyld's global default loader.

    pyld's own default fetches over HTTP; call this once at start-up so that
    code elsewhere calling pyld without an explicit loader cannot reach the
    network. :mod:`federation.jsonld` never relies on it: it passes the loader
    explicitly (:func:`pyld_options`).
    """
    _pyld.set_document_loader(document_loader)


# --------------------------------------------------------------------------- #
# pyld, always with the frozen loader
# --------------------------------------------------------------------------- #


# Processed contexts are cached here rather than in pyld's process-wide cache,
# so nothing another pyld user loads can leak into our resolution.
_RESOLVED_CONTEXTS: LRU[str, Any] = LRU(maxsize=128)
PYLD_LOCK = threading.Lock()


def pyld_options(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Options for every pyld call on ``doc`` (hold :data:`PYLD_LOCK` around it)."""
    options: dict[str, Any] = {
        "documentLoader": document_loader,
        "contextResolver": ContextResolver(_RESOLVED_CONTEXTS, document_loader),
        # No document base: relative IRIs stay relative instead of becoming
        # http://example.org/base/... (pyld's fallback).
        "base": None,
    }
    if "@context" not in doc:
        # AS2 §2.1: a document without @context is read with the AS2 context.
        options["expandContext"] = AS2_CONTEXT_URL
    return options
