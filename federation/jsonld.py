"""JSON-LD for inbound activities: bundled contexts only, never the network.

Everything here is pure: no network, no database, no global state changed at
import time.

* :func:`document_loader` serves pyld's bundled contexts plus the ones this
  project ships in ``federation/contexts/`` (see the README there) and raises
  :class:`ContextNotBundled` for every other URL. Every pyld call in this module
  is given that loader explicitly; :func:`install` additionally makes it pyld's
  global default, for code elsewhere that calls pyld without options.
* :func:`normalize` brings an activity into one compacted ActivityStreams shape
  (:data:`COMPACTION_CONTEXT`) along one of three paths:

  ``fast``
      Every ``@context`` entry is a standard context (AS2, security v1) or an
      inline term map whose terms, where the document uses them, mean exactly
      what :data:`COMPACTION_CONTEXT` says, and the document plays no JSON-LD
      tricks (``@graph``, ``@reverse``, ``@included``, keyword aliases, nested
      ``@context``, compact-IRI keys, redefined core terms, ...). The document
      is then already in compacted form up to a few mechanical rules (nulls
      dropped, one-element arrays unwrapped, node references folded), which are
      applied in plain Python. Anything the fast path is not sure about sends
      the document to the full path instead.
  ``full``
      pyld expands the document and compacts it against
      :data:`COMPACTION_CONTEXT`, with the frozen loader.
  ``plain``
      A context nobody ships (or a document pyld cannot process): the activity
      is handled by its plain JSON shape, never rejected for it, and
      ``trusted_context`` is False, so it must never be trusted on a Linked
      Data signature.

  Before any of that, documents deeper than :data:`MAX_DEPTH` or with more than
  :data:`MAX_NODES` JSON values are refused with :class:`JsonLdRejected`, and a
  document the fast path declines goes to pyld only if it holds at most
  :data:`MAX_FULL_NODES` values (pyld's cost grows steeply with size); larger
  ones take the plain path.
"""

from __future__ import annotations

import copy
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal, NamedTuple, TypeVar

from pyld import jsonld as _pyld
from pyld.context_resolver import ContextResolver
from pyld.documentloader.base import RemoteDocument
from pyld.documentloader.frozen import BUNDLED_CONTEXTS

__all__ = [
    "AS2_CONTEXT_URL",
    "COMPACTION_CONTEXT",
    "EXTENSION_CONTEXT",
    "MAX_DEPTH",
    "MAX_FULL_NODES",
    "MAX_NODES",
    "PUBLIC",
    "SECURITY_V1_CONTEXT_URL",
    "ContextNotBundled",
    "JsonLdRejected",
    "NormalizedActivity",
    "PathName",
    "bundled_context_urls",
    "document_loader",
    "install",
    "is_bundled",
    "normalize",
]

AS2_CONTEXT_URL: Final = "https://www.w3.org/ns/activitystreams"
SECURITY_V1_CONTEXT_URL: Final = "https://w3id.org/security/v1"
IDENTITY_V1_CONTEXT_URL: Final = "https://w3id.org/identity/v1"
DATA_INTEGRITY_V1_CONTEXT_URL: Final = "https://w3id.org/security/data-integrity/v1"
MULTIKEY_V1_CONTEXT_URL: Final = "https://w3id.org/security/multikey/v1"

PUBLIC: Final = "https://www.w3.org/ns/activitystreams#Public"
#: Spellings of the public collection folded to :data:`PUBLIC` in addressing.
PUBLIC_ALIASES: Final = frozenset({PUBLIC, "as:Public", "Public", "http://www.w3.org/ns/activitystreams#Public"})
#: Addressing properties: always lists in the normalized document.
ADDRESSING: Final = ("to", "cc", "bto", "bcc", "audience")

MAX_DEPTH: Final = 32
MAX_NODES: Final = 10_000
#: pyld spends about a millisecond per IRI value (it scans every term for a
#: compact IRI), so larger documents that the fast path declines are handled by
#: their plain JSON shape (untrusted) rather than by pyld.
MAX_FULL_NODES: Final = 2_000

PathName = Literal["fast", "full", "plain"]

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
}

#: The context every normalized document is compacted against (and is in the
#: shape of). ``.document`` carries no ``@context`` key: this is it.
COMPACTION_CONTEXT: Final[tuple[Any, ...]] = (
    AS2_CONTEXT_URL,
    SECURITY_V1_CONTEXT_URL,
    EXTENSION_CONTEXT,
)

#: Context URLs the fast path understands. Other bundled contexts (identity,
#: data integrity, multikey, DID, credentials) are honoured by the full path.
_FAST_URLS: Final = frozenset({AS2_CONTEXT_URL, SECURITY_V1_CONTEXT_URL})


# --------------------------------------------------------------------------- #
# Errors and result
# --------------------------------------------------------------------------- #


class JsonLdRejected(ValueError):
    """A document refused before any heavy work (too deep, too big, not JSON)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ContextNotBundled(_pyld.JsonLdError):
    """The document loader was asked for a URL it does not hold."""

    def __init__(self, url: str) -> None:
        super().__init__(
            "Refusing to load a JSON-LD document that is not bundled (contexts are never fetched).",
            "jsonld.LoadDocumentError",
            {"url": url},
            code="loading document failed",
        )
        self.url = url


@dataclass(frozen=True, slots=True)
class NormalizedActivity:
    """The result of :func:`normalize`.

    ``document``: the activity in the shape of :data:`COMPACTION_CONTEXT`
    (without an ``@context`` key); ``to``/``cc`` are lists (empty when absent),
    every addressing property is a list, and every spelling of the public
    collection is :data:`PUBLIC`. A new object: the input is never aliased.

    ``path``: ``"fast"``, ``"full"`` or ``"plain"`` (see the module docstring).

    ``trusted_context``: True only when every context the document declares is
    bundled and the document was processed as JSON-LD. When False the document
    must never be trusted on a Linked Data signature.

    ``reason``: why this path was taken (for logs; not a stable format).
    """

    document: dict[str, Any]
    path: PathName
    trusted_context: bool
    reason: str = ""


# --------------------------------------------------------------------------- #
# Document loader
# --------------------------------------------------------------------------- #


_K = TypeVar("_K")
_V = TypeVar("_V")


class _LRU(OrderedDict[_K, _V]):
    """A small bounded mapping (the ``get``/``[]=`` that pyld's resolver uses)."""

    def __init__(self, maxsize: int) -> None:
        super().__init__()
        self.maxsize = maxsize

    def get(self, key: _K, default: Any = None) -> Any:  # type: ignore[override]
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
def _parsed(url: str) -> Any:
    return json.loads(_documents()[url].read_text(encoding="utf-8"))


def _canonical_url(url: str) -> str:
    return _URL_ALIASES.get(url, url)


def bundled_context_urls() -> frozenset[str]:
    """Every context URL :func:`document_loader` serves (aliases included)."""
    return frozenset(_documents()) | frozenset(_URL_ALIASES)


def is_bundled(url: object) -> bool:
    """Whether ``url`` is a context URL this process holds (never fetched)."""
    return isinstance(url, str) and _canonical_url(url) in _documents()


def document_loader(url: str, options: Mapping[str, Any] | None = None) -> RemoteDocument:
    """pyld document loader over the bundled contexts; never touches the network.

    Returns a fresh copy of the document (pyld may edit what it is given) and
    tags it ``static`` so pyld caches the processed context. Raises
    :class:`ContextNotBundled` (a pyld ``JsonLdError``) for any other URL.
    """
    key = _canonical_url(url) if isinstance(url, str) else url
    if not isinstance(key, str) or key not in _documents():
        raise ContextNotBundled(str(url))
    doc: RemoteDocument = {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": copy.deepcopy(_parsed(key)),
    }
    doc["tag"] = "static"  # type: ignore[typeddict-unknown-key]  # read by pyld's ContextResolver
    return doc


def install() -> None:
    """Make :func:`document_loader` pyld's global default loader.

    pyld's own default fetches over HTTP; call this once at start-up so that
    code elsewhere calling pyld without an explicit loader cannot reach the
    network. This module never relies on it: it passes the loader explicitly.
    """
    _pyld.set_document_loader(document_loader)


# Processed contexts are cached here rather than in pyld's process-wide cache,
# so nothing another pyld user loads can leak into our resolution.
_RESOLVED_CONTEXTS: _LRU[str, Any] = _LRU(maxsize=128)
_PYLD_LOCK = threading.Lock()


def _pyld_options(doc: Mapping[str, Any]) -> dict[str, Any]:
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


# --------------------------------------------------------------------------- #
# Limits
# --------------------------------------------------------------------------- #


_SCALARS: Final = frozenset({str, int, bool, type(None)})


def _check_limits(doc: object) -> int:
    """Refuse non-JSON, too deep or too big input, iteratively (no recursion).

    Returns the number of JSON values in the document.
    """
    if not isinstance(doc, dict):
        raise JsonLdRejected("an activity must be a JSON object")
    scalars = _SCALARS
    nodes = 1
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        container, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise JsonLdRejected(f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(container, dict):
            for key in container:
                if type(key) is not str:
                    raise JsonLdRejected("object keys must be strings")
            values: Iterable[Any] = container.values()
        else:
            values = container
        for value in values:
            nodes += 1
            if type(value) in scalars:
                continue
            if isinstance(value, (dict, list)):
                stack.append((value, depth + 1))
            elif isinstance(value, float):
                if not math.isfinite(value):
                    raise JsonLdRejected("NaN and infinities are not JSON")
            elif not isinstance(value, (str, int)):
                raise JsonLdRejected(f"not a JSON value: {type(value).__name__}")
        if nodes > MAX_NODES:
            raise JsonLdRejected(f"more than {MAX_NODES} JSON values")
    return nodes


# --------------------------------------------------------------------------- #
# Term definitions (a small model of JSON-LD context processing, enough to
# decide whether a document is already in the compacted shape)
# --------------------------------------------------------------------------- #


class _NotFast(Exception):
    """The fast path cannot vouch for this document; use pyld."""


class _Term(NamedTuple):
    iri: str
    type: str | None
    container: frozenset[str]
    prefix: bool


_GEN_DELIMS: Final = frozenset(":/?#[]@")
_TERM_KEYS: Final = frozenset({"@id", "@type", "@container"})
_CONTAINERS: Final = frozenset({"@list", "@set", "@language"})
_KEYWORD_ALIASES: Final = {"id": "@id", "type": "@type"}


class _Defs:
    """Term definitions of an active context, built one local context at a time."""

    def __init__(self, base: _Defs | None = None) -> None:
        self.terms: dict[str, _Term] = dict(base.terms) if base else {}
        self.aliases: dict[str, str] = dict(base.aliases) if base else {}
        self.vocab: str | None = base.vocab if base else None
        # Fast-path verdicts per term used by documents (bounded, see _Shaper).
        self.verdicts: dict[str, _Term | str | None] = {}  # str: why not

    def apply(self, local: Mapping[str, Any], *, bundled: bool = False) -> None:
        defining: dict[str, _Term] = {}
        for term in local:
            self._define(term, local, defining, set(), bundled)
        for term, definition in defining.items():
            self.terms[term] = definition

    def _define(
        self,
        term: str,
        local: Mapping[str, Any],
        defining: dict[str, _Term],
        busy: set[str],
        bundled: bool,
    ) -> _Term | None:
        if term in defining:
            return defining[term]
        if term in busy:
            raise _NotFast("cyclic term definition")
        value = local[term]
        if term.startswith("@"):
            if bundled and term == "@vocab" and isinstance(value, str):
                self.vocab = value
                return None
            if bundled and term in ("@protected", "@version"):
                return None
            raise _NotFast(f"context keyword {term}")
        if not term or ":" in term or "/" in term:
            raise _NotFast(f"compact-IRI term {term!r}")
        if isinstance(value, str) and value.startswith("@"):
            if _KEYWORD_ALIASES.get(term) != value:
                raise _NotFast(f"keyword alias {term!r}")
            self.aliases[term] = value
            return None
        busy.add(term)
        try:
            if isinstance(value, str):
                iri = self._expand(value, local, defining, busy, bundled)
                definition = _Term(iri, None, frozenset(), iri[-1:] in _GEN_DELIMS)
            elif isinstance(value, dict):
                if not value.keys() <= _TERM_KEYS or not isinstance(value.get("@id"), str):
                    raise _NotFast(f"term {term!r} uses an unsupported definition")
                if value["@id"].startswith("@"):
                    raise _NotFast(f"keyword alias {term!r}")
                iri = self._expand(value["@id"], local, defining, busy, bundled)
                type_ = value.get("@type")
                if type_ is not None:
                    if not isinstance(type_, str):
                        raise _NotFast(f"term {term!r} has a bad @type")
                    if not type_.startswith("@"):
                        type_ = self._expand(type_, local, defining, busy, bundled)
                container = value.get("@container", ())
                container = frozenset([container] if isinstance(container, str) else container)
                if not container <= _CONTAINERS or not all(isinstance(c, str) for c in container):
                    raise _NotFast(f"term {term!r} has an unsupported container")
                definition = _Term(iri, type_, container, False)
            else:
                raise _NotFast(f"term {term!r} has an unsupported definition")
        finally:
            busy.discard(term)
        defining[term] = definition
        self.aliases.pop(term, None)
        return definition

    def _expand(
        self,
        value: str,
        local: Mapping[str, Any],
        defining: dict[str, _Term],
        busy: set[str],
        bundled: bool,
    ) -> str:
        prefix, colon, suffix = value.partition(":")
        if not colon:
            raise _NotFast(f"term-relative IRI {value!r} in a context")
        if prefix == "_" or suffix.startswith("//"):
            return value
        if prefix in local:
            definition = self._define(prefix, local, defining, busy, bundled)
        else:
            definition = self.terms.get(prefix)
        if definition is not None and definition.prefix:
            return definition.iri + suffix
        return value


@cache
def _bundled_defs(url: str) -> _Defs:
    defs = _Defs()
    local = _parsed(url)["@context"]
    defs.apply(local, bundled=True)
    return defs


class _Tables(NamedTuple):
    canon: _Defs
    core: dict[str, _Term]
    prefixes: tuple[str, ...]
    shadowed: frozenset[str]
    shared_iris: frozenset[str]
    language_maps: frozenset[str]


@cache
def _tables() -> _Tables:
    canon = _Defs()
    canon.apply(_parsed(AS2_CONTEXT_URL)["@context"], bundled=True)
    canon.apply(_parsed(SECURITY_V1_CONTEXT_URL)["@context"], bundled=True)
    core = dict(canon.terms)
    canon.apply(EXTENSION_CONTEXT)
    prefixes = tuple(sorted({t.iri for t in canon.terms.values() if t.prefix}))
    by_iri: dict[str, list[str]] = {}
    for name, t in canon.terms.items():
        by_iri.setdefault(t.iri, []).append(name)
    # pyld picks the shortest (then smallest) of identically defined terms.
    shadowed = set()
    for names in by_iri.values():
        for a in names:
            for b in names:
                if a != b and canon.terms[a] == canon.terms[b] and (len(b), b) < (len(a), a):
                    shadowed.add(a)
    shared = frozenset(iri for iri, names in by_iri.items() if len(names) > 1)
    language_maps = frozenset(n for n, t in canon.terms.items() if "@language" in t.container)
    return _Tables(canon, core, prefixes, frozenset(shadowed), shared, language_maps)


def _context_entries(doc: Mapping[str, Any]) -> list[Any]:
    if "@context" not in doc:
        return [AS2_CONTEXT_URL]
    ctx = doc["@context"]
    return list(ctx) if isinstance(ctx, list) else [ctx]


def _unknown_urls(entries: Iterable[Any]) -> list[str]:
    return [e for e in entries if isinstance(e, str) and not is_bundled(e)]


def _freeze(value: Any, budget: list[int]) -> Any:
    budget[0] -= 1
    if isinstance(value, dict):
        return ("{", tuple((k, _freeze(v, budget)) for k, v in value.items()))
    if isinstance(value, list):
        return ("[", tuple(_freeze(v, budget) for v in value))
    return (type(value).__name__, value)


# Memoised verdicts on @context values, keyed by their exact JSON form. Only
# small contexts are remembered, so hostile documents cannot fill memory.
_FAST_DEFS_CACHE: _LRU[Any, _Defs | str] = _LRU(maxsize=256)
_FAST_DEFS_CACHEABLE: Final = 512  # JSON values in the @context
_FAST_DEFS_LOCK = threading.Lock()


def _fast_defs(entries: list[Any]) -> _Defs:
    """:func:`_build_fast_defs`, memoised on the context's exact JSON form."""
    budget = [_FAST_DEFS_CACHEABLE]
    key = _freeze(entries, budget)
    cacheable = budget[0] >= 0
    with _FAST_DEFS_LOCK:
        cached = _FAST_DEFS_CACHE.get(key) if cacheable else None
    if cached is None:
        try:
            cached = _build_fast_defs(entries)
        except _NotFast as exc:
            cached = str(exc)
        if cacheable:
            with _FAST_DEFS_LOCK:
                _FAST_DEFS_CACHE[key] = cached
    if isinstance(cached, str):
        raise _NotFast(cached)
    return cached


def _build_fast_defs(entries: list[Any]) -> _Defs:
    """The document's active context, if the fast path may use it."""
    tables = _tables()
    defs = _Defs()
    seen_as2 = False
    for entry in entries:
        if isinstance(entry, str):
            url = _canonical_url(entry)
            if url not in _FAST_URLS:
                raise _NotFast(f"context {entry} needs the full processor")
            seen_as2 = seen_as2 or url == AS2_CONTEXT_URL
            local = _bundled_defs(url)
            defs.terms.update(local.terms)
            defs.aliases.update(local.aliases)
            defs.vocab = local.vocab if local.vocab is not None else defs.vocab
        elif isinstance(entry, dict):
            if "@context" in entry:
                raise _NotFast("wrapped context")
            defs.apply(entry)
        else:
            raise _NotFast("context entry that is neither URL nor object")
    if not seen_as2 or defs.vocab != tables.canon.vocab:
        raise _NotFast("the ActivityStreams context is missing or reset")
    for name, term in tables.core.items():
        if name in defs.terms and defs.terms[name] != term:
            raise _NotFast(f"core term {name!r} redefined")
    if defs.aliases != tables.canon.aliases:
        raise _NotFast("keyword aliases differ")
    return defs


# --------------------------------------------------------------------------- #
# Shaping: the fast path (strict) and the plain path (lenient) share one walker
# --------------------------------------------------------------------------- #


_UNSEEN: Final[Any] = object()


class _Shaper:
    """Copy a document into compacted shape.

    Strict: raise :class:`_NotFast` whenever pyld could produce anything else.
    Lenient (plain path): never raise; apply the same mechanical rules to keys
    read by their canonical meaning.
    """

    def __init__(self, defs: _Defs | None, *, strict: bool) -> None:
        self.tables = _tables()
        self.defs = defs
        self.strict = strict

    def fail(self, why: str) -> None:
        if self.strict:
            raise _NotFast(why)

    def term(self, name: str) -> _Term | None:
        canon = self.tables.canon.terms.get(name)
        if not self.strict:
            return canon
        assert self.defs is not None
        if canon is None:
            # Undefined on both sides: vocab-relative ("_:name"), compacts back to name.
            if name in self.defs.terms:
                raise _NotFast(f"term {name!r} is not in the compaction context")
            return None
        verdicts = self.defs.verdicts  # bounded: keys are canonical terms only
        verdict = verdicts.get(name, _UNSEEN)
        if verdict is _UNSEEN:
            if self.defs.terms.get(name) != canon:
                verdict = f"term {name!r} differs from the compaction context"
            elif name in self.tables.shadowed:
                verdict = f"term {name!r} compacts to another name"
            else:
                verdict = canon
            verdicts[name] = verdict
        if isinstance(verdict, str):
            raise _NotFast(verdict)
        return verdict

    def node(self, obj: Mapping[str, Any], *, top: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if top and key == "@context":
                continue
            if value is None:
                if self.strict and key in self.tables.canon.aliases:
                    raise _NotFast(f"null {key!r}")
                continue
            if self.strict:
                if not key or key[0] == "@" or ":" in key:
                    raise _NotFast(f"key {key!r}")
                if key in self.tables.canon.aliases:
                    if key == "id":
                        out[key] = self.iri(value, addressing=False)
                    else:
                        out[key] = self.types(value)
                    continue
            out[key] = self.value(key, self.term(key), value)
        for key in ADDRESSING:
            if key in out:
                out[key] = _addressing(out[key])
        if self.strict:
            if top and not out.keys() - {"id"}:
                raise _NotFast("a top-level node with no properties is dropped by JSON-LD")
            self.check_merges(out)
        return out

    def check_merges(self, out: Mapping[str, Any]) -> None:
        """An empty array vanishes when a sibling key shares its IRI (contentMap...)."""
        shared = self.tables.shared_iris
        canon = self.tables.canon.terms
        empty = [canon[k].iri for k, v in out.items() if v == [] and k in canon and canon[k].iri in shared]
        for iri in empty:
            if sum(1 for k in out if k in canon and canon[k].iri == iri) > 1:
                raise _NotFast("an empty array merged with a sibling of the same IRI")

    def value(self, key: str, term: _Term | None, value: Any) -> Any:
        container = term.container if term else frozenset()
        if "@language" in container:
            if not (
                isinstance(value, dict)
                and value
                and all(
                    isinstance(lang, str) and lang and lang[0] != "@" and lang == lang.lower() and isinstance(text, str)
                    for lang, text in value.items()
                )
            ):
                self.fail(f"language map {key!r}")
            return copy.deepcopy(value)
        if "@list" in container:
            items = value if isinstance(value, list) else [value]
            return [self.item(key, term, v) for v in self.clean(key, term, items)]
        if isinstance(value, list):
            items = [self.item(key, term, v) for v in self.clean(key, term, value)]
            if len(items) == 1 and "@set" not in container and key not in ADDRESSING:
                return items[0]
            return items
        return self.item(key, term, value)

    def clean(self, key: str, term: _Term | None, items: list[Any]) -> list[Any]:
        if not items and term is not None and term.type not in (None, "@id"):
            self.fail(f"empty array for typed term {key!r}")
        if any(v is None or isinstance(v, list) for v in items):
            self.fail(f"null or nested array in {key!r}")
            return [v for v in items if v is not None]
        return items

    def item(self, key: str, term: _Term | None, value: Any) -> Any:
        type_ = term.type if term else None
        if isinstance(value, dict):
            if type_ not in (None, "@id"):
                self.fail(f"object under typed literal {key!r}")
            node = self.node(value)
            if type_ == "@id" and node.keys() == {"id"} and isinstance(node["id"], str):
                return node["id"]  # a bare node reference compacts to its IRI
            return node
        if isinstance(value, str):
            if type_ == "@id":
                return self.iri(value, addressing=key in ADDRESSING)
            return value
        if isinstance(value, (bool, int, float)):
            if type_ is not None and type_.startswith("@"):
                self.fail(f"non-string value for {type_} term {key!r}")
            return value
        if isinstance(value, list):  # lenient mode only: nested arrays kept
            return copy.deepcopy(value)
        self.fail(f"unexpected value under {key!r}")
        return value

    def iri(self, value: Any, *, addressing: bool) -> Any:
        if not self.strict:
            return copy.deepcopy(value)
        if not isinstance(value, str):
            raise _NotFast("IRI that is not a string")
        if addressing and value in PUBLIC_ALIASES:
            return value  # folded to PUBLIC afterwards, on every path
        prefix, colon, _ = value.partition(":")
        if not colon or not prefix or prefix == "_":
            raise _NotFast(f"relative or blank-node IRI {value!r}")
        assert self.defs is not None
        if prefix in self.defs.terms or prefix in self.tables.canon.terms:
            raise _NotFast(f"compact IRI {value!r}")
        if value.startswith(self.tables.prefixes):
            raise _NotFast(f"IRI {value!r} compacts to a compact IRI")
        return value

    def types(self, value: Any) -> Any:
        items = value if isinstance(value, list) else [value]
        if not items:
            raise _NotFast("empty type")
        for t in items:
            if not isinstance(t, str) or not t or t[0] in "@_" or ":" in t:
                raise _NotFast(f"type {t!r}")
            term = self.term(t)
            if term is not None and term.iri in self.tables.shared_iris:
                raise _NotFast(f"type {t!r} shares its IRI with another term")
        return items[0] if len(items) == 1 else list(items)


def _finish(doc: Any) -> dict[str, Any]:
    """Rules common to every path: addressing lists and the public collection."""
    if not isinstance(doc, dict):
        doc = {}
    language_maps = _tables().language_maps
    stack: list[Any] = [doc]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for key in ADDRESSING:
                if key in value:
                    value[key] = _addressing(value[key])
            stack.extend(v for k, v in value.items() if k not in language_maps)
        elif isinstance(value, list):
            stack.extend(value)
    return _with_to_cc(doc)


def _with_to_cc(doc: dict[str, Any]) -> dict[str, Any]:
    doc.setdefault("to", [])
    doc.setdefault("cc", [])
    return doc


def _addressing(value: Any) -> list[Any]:
    items = value if isinstance(value, list) else [value]
    out: list[Any] = []
    seen: set[str] = set()
    for item in items:
        if isinstance(item, str):
            if item in PUBLIC_ALIASES:
                item = PUBLIC
            if item in seen:
                continue
            seen.add(item)
        elif item is None:
            continue
        out.append(item)
    return out


# --------------------------------------------------------------------------- #
# normalize
# --------------------------------------------------------------------------- #


def _full(doc: Mapping[str, Any]) -> dict[str, Any]:
    with _PYLD_LOCK:
        compacted = _pyld.compact(doc, copy.deepcopy(list(COMPACTION_CONTEXT)), _pyld_options(doc))
    if isinstance(compacted, dict):
        compacted.pop("@context", None)
    return compacted


def _plain(doc: Mapping[str, Any], reason: str) -> NormalizedActivity:
    shaped = _Shaper(None, strict=False).node(doc, top=True)
    return NormalizedActivity(_with_to_cc(shaped), "plain", False, reason)


def _load_failure(exc: BaseException) -> str | None:
    """The URL of a refused context somewhere in pyld's exception chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ContextNotBundled):
            return current.url
        details = getattr(current, "details", None)
        if isinstance(details, dict) and isinstance(details.get("url"), str):
            if not is_bundled(details["url"]):
                return details["url"]
        current = current.__cause__ or current.__context__
    return None


def normalize(doc: dict[str, Any], *, prefer_fast: bool = True) -> NormalizedActivity:
    """Bring an activity into the compacted ActivityStreams shape.

    Raises :class:`JsonLdRejected` (a ``ValueError``) for documents that are not
    JSON objects, are nested deeper than :data:`MAX_DEPTH` or hold more than
    :data:`MAX_NODES` values. Never raises for an unknown or broken context:
    such documents take the ``plain`` path with ``trusted_context=False``, as do
    documents the fast path declines that hold more than :data:`MAX_FULL_NODES`
    values. ``prefer_fast=False`` skips the fast path (benchmarks, cross-checks).
    """
    nodes = _check_limits(doc)
    entries = _context_entries(doc)
    unknown = _unknown_urls(entries)
    if unknown:
        return _plain(doc, f"context not bundled: {unknown[0]}")
    declared = "@context" in doc
    if prefer_fast:
        try:
            defs = _fast_defs(entries)
            shaped = _Shaper(defs, strict=True).node(doc, top=True)
        except _NotFast as exc:
            reason = str(exc)
        else:
            return NormalizedActivity(
                _with_to_cc(shaped),
                "fast",
                declared,
                "standard contexts" if declared else "no @context: AS2 assumed",
            )
    else:
        reason = "fast path not requested"
    if nodes > MAX_FULL_NODES:
        return _plain(doc, f"{reason}; too large for the full JSON-LD processor ({nodes} values)")
    try:
        compacted = _full(doc)
    except Exception as exc:  # pyld raises many types on hostile input
        url = _load_failure(exc)
        if url is not None:
            return _plain(doc, f"context not bundled: {url}")
        return _plain(doc, f"not processable as JSON-LD: {type(exc).__name__}")
    return NormalizedActivity(
        _finish(compacted),
        "full",
        declared,
        reason if declared else f"{reason}; no @context: AS2 assumed",
    )
