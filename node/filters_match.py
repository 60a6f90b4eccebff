"""Matching posts against a person's filters: pure functions, no I/O, no database.

A keyword matches as Mastodon's `FilterKeyword#to_regex` does: case-insensitive; a
`whole_word` keyword needs a word boundary (`\\b`) before it when it starts with a word
character and after it when it ends with one (so `#tag` and `c++` still match as written);
otherwise it matches anywhere, inside words too. A filter's keywords are one alternation,
compiled once per set of keywords (cached), and read against a post's searchable text as
Mastodon builds it: the content warning, the text, poll options and the attachments' alt
texts, joined by blank lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import lru_cache


class FilterContext(StrEnum):
    """Where a filter applies, in Mastodon's words."""

    HOME = "home"  # the home timeline (and lists)
    NOTIFICATIONS = "notifications"
    PUBLIC = "public"  # the local, federated and hashtag timelines
    THREAD = "thread"  # a post's thread (its context)
    ACCOUNT = "account"  # a profile's posts


class FilterAction(StrEnum):
    WARN = "warn"  # shown behind a warning naming the filter
    HIDE = "hide"  # not shown at all
    BLUR = "blur"  # shown, its media behind a warning


@dataclass(frozen=True)
class Keyword:
    id: int
    keyword: str
    whole_word: bool


@dataclass(frozen=True)
class CompiledFilter:
    """One active filter as the matcher reads it."""

    id: int
    title: str
    contexts: frozenset[FilterContext]
    action: FilterAction
    expires_at: datetime | None
    keywords: tuple[Keyword, ...] = ()
    status_ids: frozenset[int] = frozenset()
    pattern: re.Pattern[str] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Match:
    """A filter that matched one post, and what of it matched (Mastodon's FilterResult)."""

    filter: CompiledFilter
    keyword_matches: tuple[str, ...]
    status_matches: tuple[int, ...]


def keyword_regex(keyword: str, whole_word: bool) -> str:
    escaped = re.escape(keyword)
    if not whole_word:
        return escaped
    start = r"\b" if re.match(r"\w", keyword) else ""
    end = r"\b" if re.search(r"\w\Z", keyword) else ""
    return f"{start}{escaped}{end}"


@lru_cache(maxsize=512)
def compile_keywords(keywords: tuple[tuple[str, bool], ...]) -> re.Pattern[str] | None:
    """One pattern for a filter's keywords; each alternative a named group so a match says
    which keyword it was. None for no keywords."""
    if not keywords:
        return None
    parts = [f"(?P<k{i}>{keyword_regex(word, whole)})" for i, (word, whole) in enumerate(keywords)]
    return re.compile("|".join(parts), re.IGNORECASE)


def compiled(
    id: int, title: str, contexts: Iterable[str], action: str, expires_at: datetime | None,
    keywords: Sequence[Keyword], status_ids: Iterable[int],
) -> CompiledFilter:
    return CompiledFilter(
        id=id, title=title, contexts=frozenset(FilterContext(c) for c in contexts), action=FilterAction(action),
        expires_at=expires_at, keywords=tuple(keywords), status_ids=frozenset(status_ids),
        pattern=compile_keywords(tuple((k.keyword, k.whole_word) for k in keywords)),
    )


def searchable_text(spoiler: str, text: str, poll_options: Sequence[str] = (), alt_texts: Sequence[str] = ()) -> str:
    parts = [spoiler, text, "\n\n".join(poll_options), "\n\n".join(alt_texts)]
    return "\n\n".join(p for p in parts if p)


def _keyword_matches(f: CompiledFilter, text: str) -> tuple[str, ...]:
    if f.pattern is None or not text:
        return ()
    hits: dict[str, None] = {}
    for m in f.pattern.finditer(text):
        if m.lastgroup is not None:
            hits[f.keywords[int(m.lastgroup[1:])].keyword] = None
    return tuple(hits)


def match(
    filters: Sequence[CompiledFilter], context: FilterContext, text: str, post_ids: Sequence[int], now: datetime,
) -> list[Match]:
    """The filters applying in `context`, unexpired at `now`, that match a post: by its
    searchable `text`, or by its id (`post_ids`: the post and, for a boost, the original)."""
    out = []
    for f in filters:
        if context not in f.contexts or (f.expires_at is not None and f.expires_at <= now):
            continue
        words = _keyword_matches(f, text)
        statuses = tuple(i for i in post_ids if i in f.status_ids)
        if words or statuses:
            out.append(Match(f, words, statuses))
    return out


def hides(matches: Sequence[Match]) -> bool:
    return any(m.filter.action == FilterAction.HIDE for m in matches)
