"""The fast path's model of JSON-LD context processing.

Part of :mod:`federation.jsonld`. Just enough of the JSON-LD term-definition
algorithm to decide whether a document's ``@context`` means, for every term the
compaction context defines, exactly what :data:`COMPACTION_CONTEXT` says;
anything it is not sure about raises :class:`NotFast` and the document goes to
pyld instead.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from functools import cache
from typing import Any, Final, NamedTuple

from federation.jsonld_contexts import (
    AS2_CONTEXT_URL,
    EXTENSION_CONTEXT,
    LRU,
    SECURITY_V1_CONTEXT_URL,
    canonical_url,
    parsed_context,
)

#: Context URLs the fast path understands. Other bundled contexts (identity,
#: data integrity, multikey, DID, credentials) are honoured by the full path.
_FAST_URLS: Final = frozenset({AS2_CONTEXT_URL, SECURITY_V1_CONTEXT_URL})


# --------------------------------------------------------------------------- #
# Term definitions (a small model of JSON-LD context processing, enough to
# decide whether a document is already in the compacted shape)
# --------------------------------------------------------------------------- #


class NotFast(Exception):
    """The fast path cannot vouch for this document; use pyld."""


class Term(NamedTuple):
    iri: str
    type: str | None
    container: frozenset[str]
    prefix: bool


_GEN_DELIMS: Final = frozenset(":/?#[]@")
_TERM_KEYS: Final = frozenset({"@id", "@type", "@container"})
_CONTAINERS: Final = frozenset({"@list", "@set", "@language"})
_KEYWORD_ALIASES: Final = {"id": "@id", "type": "@type"}


class _Pass(NamedTuple):
    """One application of a local context, threaded through its recursive definitions: the
    context, the terms defined so far, the terms being defined (to catch cycles), and
    whether it is one of the bundled contexts (which may set `@vocab`)."""

    local: Mapping[str, Any]
    defining: dict[str, Term]
    busy: set[str]
    bundled: bool


class Defs:
    """Term definitions of an active context, built one local context at a time."""

    def __init__(self, base: Defs | None = None) -> None:
        self.terms: dict[str, Term] = dict(base.terms) if base else {}
        self.aliases: dict[str, str] = dict(base.aliases) if base else {}
        self.vocab: str | None = base.vocab if base else None
        # Fast-path verdicts per term used by documents (bounded, see Shaper).
        self.verdicts: dict[str, Term | str | None] = {}  # str: why not

    def apply(self, local: Mapping[str, Any], *, bundled: bool = False) -> None:
        defining: dict[str, Term] = {}
        for term in local:
            self._define(term, _Pass(local, defining, set(), bundled))
        for term, definition in defining.items():
            self.terms[term] = definition

    def _define(self, term: str, p: _Pass) -> Term | None:
        local, defining, busy, bundled = p
        if term in defining:
            return defining[term]
        if term in busy:
            raise NotFast("cyclic term definition")
        value = local[term]
        if term.startswith("@"):
            if bundled and term == "@vocab" and isinstance(value, str):
                self.vocab = value
                return None
            if bundled and term in ("@protected", "@version"):
                return None
            raise NotFast(f"context keyword {term}")
        if not term or ":" in term or "/" in term:
            raise NotFast(f"compact-IRI term {term!r}")
        if isinstance(value, str) and value.startswith("@"):
            if _KEYWORD_ALIASES.get(term) != value:
                raise NotFast(f"keyword alias {term!r}")
            self.aliases[term] = value
            return None
        busy.add(term)
        try:
            if isinstance(value, str):
                iri = self._expand(value, p)
                definition = Term(iri, None, frozenset(), iri[-1:] in _GEN_DELIMS)
            elif isinstance(value, dict):
                if not value.keys() <= _TERM_KEYS or not isinstance(value.get("@id"), str):
                    raise NotFast(f"term {term!r} uses an unsupported definition")
                if value["@id"].startswith("@"):
                    raise NotFast(f"keyword alias {term!r}")
                iri = self._expand(value["@id"], p)
                type_ = value.get("@type")
                if type_ is not None:
                    if not isinstance(type_, str):
                        raise NotFast(f"term {term!r} has a bad @type")
                    if not type_.startswith("@"):
                        type_ = self._expand(type_, p)
                container = value.get("@container", ())
                container = frozenset([container] if isinstance(container, str) else container)
                if not container <= _CONTAINERS or not all(isinstance(c, str) for c in container):
                    raise NotFast(f"term {term!r} has an unsupported container")
                definition = Term(iri, type_, container, False)
            else:
                raise NotFast(f"term {term!r} has an unsupported definition")
        finally:
            busy.discard(term)
        defining[term] = definition
        self.aliases.pop(term, None)
        return definition

    def _expand(self, value: str, p: _Pass) -> str:
        prefix, colon, suffix = value.partition(":")
        if not colon:
            raise NotFast(f"term-relative IRI {value!r} in a context")
        if prefix == "_" or suffix.startswith("//"):
            return value
        if prefix in p.local:
            definition = self._define(prefix, p)
        else:
            definition = self.terms.get(prefix)
        if definition is not None and definition.prefix:
            return definition.iri + suffix
        return value


@cache
def _bundled_defs(url: str) -> Defs:
    defs = Defs()
    local = parsed_context(url)["@context"]
    defs.apply(local, bundled=True)
    return defs


class TermTables(NamedTuple):
    canon: Defs
    core: dict[str, Term]
    prefixes: tuple[str, ...]
    shadowed: frozenset[str]
    shared_iris: frozenset[str]
    language_maps: frozenset[str]


@cache
def term_tables() -> TermTables:
    canon = Defs()
    canon.apply(parsed_context(AS2_CONTEXT_URL)["@context"], bundled=True)
    canon.apply(parsed_context(SECURITY_V1_CONTEXT_URL)["@context"], bundled=True)
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
    return TermTables(canon, core, prefixes, frozenset(shadowed), shared, language_maps)


def _freeze(value: Any, budget: list[int]) -> Any:
    budget[0] -= 1
    if isinstance(value, dict):
        return ("{", tuple((k, _freeze(v, budget)) for k, v in value.items()))
    if isinstance(value, list):
        return ("[", tuple(_freeze(v, budget) for v in value))
    return (type(value).__name__, value)


# Memoised verdicts on @context values, keyed by their exact JSON form. Only
# small contexts are remembered, so hostile documents cannot fill memory.
_FAST_DEFS_CACHE: LRU[Any, Defs | str] = LRU(maxsize=256)
_FAST_DEFS_CACHEABLE: Final = 512  # JSON values in the @context
_FAST_DEFS_LOCK = threading.Lock()


def fast_defs(entries: list[Any]) -> Defs:
    """:func:`_build_fast_defs`, memoised on the context's exact JSON form."""
    budget = [_FAST_DEFS_CACHEABLE]
    key = _freeze(entries, budget)
    cacheable = budget[0] >= 0
    with _FAST_DEFS_LOCK:
        cached = _FAST_DEFS_CACHE.get(key) if cacheable else None
    if cached is None:
        try:
            cached = _build_fast_defs(entries)
        except NotFast as exc:
            cached = str(exc)
        if cacheable:
            with _FAST_DEFS_LOCK:
                _FAST_DEFS_CACHE[key] = cached
    if isinstance(cached, str):
        raise NotFast(cached)
    return cached


def _build_fast_defs(entries: list[Any]) -> Defs:
    """The document's active context, if the fast path may use it."""
    tables = term_tables()
    defs = Defs()
    seen_as2 = False
    for entry in entries:
        if isinstance(entry, str):
            url = canonical_url(entry)
            if url not in _FAST_URLS:
                raise NotFast(f"context {entry} needs the full processor")
            seen_as2 = seen_as2 or url == AS2_CONTEXT_URL
            local = _bundled_defs(url)
            defs.terms.update(local.terms)
            defs.aliases.update(local.aliases)
            defs.vocab = local.vocab if local.vocab is not None else defs.vocab
        elif isinstance(entry, dict):
            if "@context" in entry:
                raise NotFast("wrapped context")
            defs.apply(entry)
        else:
            raise NotFast("context entry that is neither URL nor object")
    if not seen_as2 or defs.vocab != tables.canon.vocab:
        raise NotFast("the ActivityStreams context is missing or reset")
    for name, term in tables.core.items():
        if name in defs.terms and defs.terms[name] != term:
            raise NotFast(f"core term {name!r} redefined")
    if defs.aliases != tables.canon.aliases:
        raise NotFast("keyword aliases differ")
    return defs
