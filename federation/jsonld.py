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

The pieces live in sibling modules, re-exported here: ``jsonld_contexts`` (the
bundled contexts and the loader), ``jsonld_terms`` (the fast path's model of
context processing) and ``jsonld_shape`` (the walker shared by the fast and
plain paths). Import public names from this module (the ``import X as X`` lines
keep the other constants reachable here too).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, cast

from pyld import jsonld as _pyld

from federation.jsonld_contexts import (
    AS2_CONTEXT_URL,
    COMPACTION_CONTEXT,
    EXTENSION_CONTEXT,
    PYLD_LOCK,
    SECURITY_V1_CONTEXT_URL,
    ContextNotBundled,
    bundled_context_urls,
    document_loader,
    install,
    is_bundled,
    pyld_options,
)
from federation.jsonld_contexts import DATA_INTEGRITY_V1_CONTEXT_URL as DATA_INTEGRITY_V1_CONTEXT_URL
from federation.jsonld_contexts import IDENTITY_V1_CONTEXT_URL as IDENTITY_V1_CONTEXT_URL
from federation.jsonld_contexts import MULTIKEY_V1_CONTEXT_URL as MULTIKEY_V1_CONTEXT_URL
from federation.jsonld_contexts import PROJECT_CONTEXTS as PROJECT_CONTEXTS
from federation.jsonld_shape import ADDRESSING as ADDRESSING
from federation.jsonld_shape import PUBLIC, Shaper, finish, with_to_cc
from federation.jsonld_shape import PUBLIC_ALIASES as PUBLIC_ALIASES
from federation.jsonld_terms import NotFast, fast_defs

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


MAX_DEPTH: Final = 32
MAX_NODES: Final = 10_000
#: pyld spends about a millisecond per IRI value (it scans every term for a
#: compact IRI), so larger documents that the fast path declines are handled by
#: their plain JSON shape (untrusted) rather than by pyld.
MAX_FULL_NODES: Final = 2_000

PathName = Literal["fast", "full", "plain"]


# --------------------------------------------------------------------------- #
# Errors and result
# --------------------------------------------------------------------------- #


class JsonLdRejected(ValueError):
    """A document refused before any heavy work (too deep, too big, not JSON)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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


def _context_entries(doc: Mapping[str, Any]) -> list[Any]:
    if "@context" not in doc:
        return [AS2_CONTEXT_URL]
    ctx = doc["@context"]
    return list(ctx) if isinstance(ctx, list) else [ctx]


def _unknown_urls(entries: Iterable[Any]) -> list[str]:
    return [e for e in entries if isinstance(e, str) and not is_bundled(e)]


# --------------------------------------------------------------------------- #
# normalize
# --------------------------------------------------------------------------- #


def _full(doc: Mapping[str, Any]) -> dict[str, Any]:
    with PYLD_LOCK:
        compacted = _pyld.compact(doc, copy.deepcopy(list(COMPACTION_CONTEXT)), pyld_options(doc))
    if isinstance(compacted, dict):
        compacted.pop("@context", None)
    return cast(dict[str, Any], compacted)  # pyld is untyped; compaction gives an object


def _plain(doc: Mapping[str, Any], reason: str) -> NormalizedActivity:
    shaped = Shaper(None, strict=False).node(doc, top=True)
    return NormalizedActivity(with_to_cc(shaped), "plain", False, reason)


def _load_failure(exc: BaseException) -> str | None:
    """The URL of a refused context somewhere in pyld's exception chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ContextNotBundled):
            return current.url
        details = getattr(current, "details", None)
        url = details.get("url") if isinstance(details, dict) else None
        if isinstance(url, str) and not is_bundled(url):
            return url
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
            defs = fast_defs(entries)
            shaped = Shaper(defs, strict=True).node(doc, top=True)
        except NotFast as exc:
            reason = str(exc)
        else:
            return NormalizedActivity(
                with_to_cc(shaped),
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
        finish(compacted),
        "full",
        declared,
        reason if declared else f"{reason}; no @context: AS2 assumed",
    )
