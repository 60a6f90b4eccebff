"""A search for posts, as a person types it, read into its parts: pure, no I/O.

Mastodon 4.2's operators: words (each stemmed, node/search_text.py), `"a phrase"` (its
words in that order), `-word` and `-"a phrase"` (posts without them), `from:user`,
`from:user@domain`, `from:me`; `before:`, `after:` and `during:` a day (`YYYY-MM-DD`, UTC:
before the day starts, after it ends, within it); `in:all` (anything the viewer may see, the
default), `in:library` (what the viewer wrote, liked, bookmarked, boosted or was mentioned
in), `in:public` (public posts); `has:media` (or `image`, `video`, `audio`), `has:poll`
(Atrium has no polls yet: finds nothing); `is:reply`, `is:sensitive`; `language:xx`. An
operator may be negated (`-from:`, `-has:`, `-is:`, `-language:`). An unknown `name:value`
is two words.

Nothing a person types is syntax for the engine: words are letters and digits only, and
storage/search_index.py quotes them. A value an operator cannot take is `Invalid` (422)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from node.audience import Audience
from node.search_text import alternatives, words
from storage.errors import Invalid
from storage.search_index import Either, Query

MAX_QUERY = 1000  # characters read of a query
MAX_WORDS = 32  # words and phrases kept (the rest are ignored)
SCOPES = ("all", "library", Audience.PUBLIC.value)  # in:public is the public audience
HAS = ("media", "image", "video", "audio", "poll")
IS = ("reply", "sensitive")
OPERATORS = ("from", "before", "after", "during", "in", "has", "is", "language")
_TOKEN = re.compile(r'(-?)(?:([a-z]+):)?(?:"([^"]*)"?|(\S+))', re.IGNORECASE)
_HANDLE = re.compile(r"^@?([a-z0-9_.-]{1,64})(?:@([a-z0-9.-]{1,253}(?::\d{1,5})?))?$", re.IGNORECASE)
_LANGUAGE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{1,8})*$", re.IGNORECASE)


@dataclass(frozen=True)
class Author:
    """`from:`: a username and its domain (None: this node), or the viewer (`me`)."""

    username: str = ""
    domain: str | None = None
    me: bool = False


@dataclass
class Filters:
    """The operators of one polarity (`SearchQuery.only` and `SearchQuery.without`)."""

    authors: list[Author] = field(default_factory=list)
    has: set[str] = field(default_factory=set)
    is_: set[str] = field(default_factory=set)
    languages: set[str] = field(default_factory=set)


@dataclass
class SearchQuery:
    text: Query = Query(())  # what the post's words must contain
    excluded: Query = Query(())  # one Either: a post with any of its phrases is left out
    only: Filters = field(default_factory=Filters)
    without: Filters = field(default_factory=Filters)
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created before
    scope: str = "all"

    @property
    def empty(self) -> bool:
        """Nothing to search by: no words and no operator."""
        return not self.text and self == SearchQuery(excluded=self.excluded)


def _day(name: str, value: str) -> datetime:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{name}: needs a day as YYYY-MM-DD") from None
    if len(value) != 10:
        raise Invalid(f"{name}: needs a day as YYYY-MM-DD")
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _author(value: str, own_domain: str) -> Author:
    if value.lower() == "me":
        return Author(me=True)
    m = _HANDLE.match(value)
    if m is None:
        raise Invalid("from: needs a username, user@domain or me")
    user, domain = m.group(1), (m.group(2) or "").lower() or None
    return Author(user.lower(), None if domain == own_domain.lower() else domain)


def _phrase(text: str) -> Either:
    """One phrase (or word) as the Either of its forms in each stemmed language."""
    ws = words(text)
    if not ws:
        return ()
    forms = [alternatives(w) for w in ws]
    n = max(len(f) for f in forms)
    return tuple(dict.fromkeys(tuple(f[min(i, len(f) - 1)] for f in forms) for i in range(n)))


def _operator(q: SearchQuery, name: str, value: str, negated: bool, own_domain: str) -> None:
    target = q.without if negated else q.only
    if name == "from":
        target.authors.append(_author(value, own_domain))
    elif name in ("before", "after", "during"):
        if negated:
            raise Invalid(f"{name}: cannot be negated")
        day = _day(name, value)
        if name in ("after", "during"):
            start = day + timedelta(days=1) if name == "after" else day
            q.since = max(q.since, start) if q.since else start
        if name in ("before", "during"):
            end = day + timedelta(days=1) if name == "during" else day
            q.until = min(q.until, end) if q.until else end
    elif name == "in":
        if value.lower() not in SCOPES or negated:
            raise Invalid(f"in: is one of {', '.join(SCOPES)}")
        q.scope = value.lower()
    elif name == "has":
        if value.lower() not in HAS:
            raise Invalid(f"has: is one of {', '.join(HAS)}")
        target.has.add(value.lower())
    elif name == "is":
        if value.lower() not in IS:
            raise Invalid(f"is: is one of {', '.join(IS)}")
        target.is_.add(value.lower())
    elif name == "language":
        if not _LANGUAGE.match(value):
            raise Invalid("language: needs a language code such as en or de")
        target.languages.add(value.split("-")[0].lower())


def has_operator(raw: str) -> bool:
    """Whether the typed search uses an operator (then it is no handle to look up)."""
    return any((m.group(2) or "").lower() in OPERATORS for m in _TOKEN.finditer(raw[:MAX_QUERY]))


def parse(raw: str, own_domain: str) -> SearchQuery:
    """The parts of a typed search; `own_domain` is this node's (`from:me@here` is local)."""
    q = SearchQuery()
    wanted: list[Either] = []
    unwanted: list[Either] = []
    for m in _TOKEN.finditer(raw[:MAX_QUERY]):
        negated, name, quoted, bare = bool(m.group(1)), (m.group(2) or "").lower(), m.group(3), m.group(4)
        value = quoted if quoted is not None else (bare or "")
        if name in OPERATORS and value:
            _operator(q, name, value, negated, own_domain)
            continue
        text = f"{name} {value}" if name else value
        target = unwanted if negated else wanted
        if quoted is not None:
            phrase = _phrase(text)
            target.extend([phrase] if phrase else [])
        else:
            target.extend(e for e in (_phrase(w) for w in words(text)) if e)
    q.text = Query(tuple(wanted[:MAX_WORDS]))
    q.excluded = Query((tuple(p for e in unwanted[:MAX_WORDS] for p in e),) if unwanted else ())
    return q
