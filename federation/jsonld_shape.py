"""Copying a document into the compacted ActivityStreams shape.

Part of :mod:`federation.jsonld`. One walker, :class:`Shaper`, serves the fast
path (strict: it raises :class:`~federation.jsonld_terms.NotFast` whenever pyld
could produce anything else) and the plain path (lenient: never raises);
:func:`finish` applies the addressing rules common to every path.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final, cast

from federation.jsonld_terms import Defs, NotFast, Term, term_tables

PUBLIC: Final = "https://www.w3.org/ns/activitystreams#Public"
#: Spellings of the public collection folded to :data:`PUBLIC` in addressing.
PUBLIC_ALIASES: Final = frozenset({PUBLIC, "as:Public", "Public", "http://www.w3.org/ns/activitystreams#Public"})
#: Addressing properties: always lists in the normalized document.
ADDRESSING: Final = ("to", "cc", "bto", "bcc", "audience")


# --------------------------------------------------------------------------- #
# Shaping: the fast path (strict) and the plain path (lenient) share one walker
# --------------------------------------------------------------------------- #


_UNSEEN: Final[Any] = object()


class Shaper:
    """Copy a document into compacted shape.

    Strict: raise :class:`NotFast` whenever pyld could produce anything else.
    Lenient (plain path): never raise; apply the same mechanical rules to keys
    read by their canonical meaning.
    """

    def __init__(self, defs: Defs | None, *, strict: bool) -> None:
        self.tables = term_tables()
        self.defs = defs
        self.strict = strict

    def fail(self, why: str) -> None:
        if self.strict:
            raise NotFast(why)

    def term(self, name: str) -> Term | None:
        canon = self.tables.canon.terms.get(name)
        if not self.strict:
            return canon
        assert self.defs is not None
        if canon is None:
            # Undefined on both sides: vocab-relative ("_:name"), compacts back to name.
            if name in self.defs.terms:
                raise NotFast(f"term {name!r} is not in the compaction context")
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
            raise NotFast(verdict)
        return cast(Term | None, verdict)

    def node(self, obj: Mapping[str, Any], *, top: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if top and key == "@context":
                continue
            if value is None:
                if self.strict and key in self.tables.canon.aliases:
                    raise NotFast(f"null {key!r}")
                continue
            if self.strict:
                if not key or key[0] == "@" or ":" in key:
                    raise NotFast(f"key {key!r}")
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
                raise NotFast("a top-level node with no properties is dropped by JSON-LD")
            self.check_merges(out)
        return out

    def check_merges(self, out: Mapping[str, Any]) -> None:
        """An empty array vanishes when a sibling key shares its IRI (contentMap...)."""
        shared = self.tables.shared_iris
        canon = self.tables.canon.terms
        empty = [canon[k].iri for k, v in out.items() if v == [] and k in canon and canon[k].iri in shared]
        for iri in empty:
            if sum(1 for k in out if k in canon and canon[k].iri == iri) > 1:
                raise NotFast("an empty array merged with a sibling of the same IRI")

    def value(self, key: str, term: Term | None, value: Any) -> Any:
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

    def clean(self, key: str, term: Term | None, items: list[Any]) -> list[Any]:
        if not items and term is not None and term.type not in (None, "@id"):
            self.fail(f"empty array for typed term {key!r}")
        if any(v is None or isinstance(v, list) for v in items):
            self.fail(f"null or nested array in {key!r}")
            return [v for v in items if v is not None]
        return items

    def item(self, key: str, term: Term | None, value: Any) -> Any:
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
            raise NotFast("IRI that is not a string")
        if addressing and value in PUBLIC_ALIASES:
            return value  # folded to PUBLIC afterwards, on every path
        prefix, colon, _ = value.partition(":")
        if not colon or not prefix or prefix == "_":
            raise NotFast(f"relative or blank-node IRI {value!r}")
        assert self.defs is not None
        if prefix in self.defs.terms or prefix in self.tables.canon.terms:
            raise NotFast(f"compact IRI {value!r}")
        if value.startswith(self.tables.prefixes):
            raise NotFast(f"IRI {value!r} compacts to a compact IRI")
        return value

    def types(self, value: Any) -> Any:
        items = value if isinstance(value, list) else [value]
        if not items:
            raise NotFast("empty type")
        for t in items:
            if not isinstance(t, str) or not t or t[0] in "@_" or ":" in t:
                raise NotFast(f"type {t!r}")
            term = self.term(t)
            if term is not None and term.iri in self.tables.shared_iris:
                raise NotFast(f"type {t!r} shares its IRI with another term")
        return items[0] if len(items) == 1 else list(items)


def finish(doc: Any) -> dict[str, Any]:
    """Rules common to every path: addressing lists and the public collection."""
    if not isinstance(doc, dict):
        doc = {}
    language_maps = term_tables().language_maps
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
    return with_to_cc(doc)


def with_to_cc(doc: dict[str, Any]) -> dict[str, Any]:
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
