"""The words of a post as the search index keeps them, and of a query as it asks: pure
functions, no I/O.

A post's text (its HTML as plain text, its content warning, its attachments' descriptions)
is split into words (letters and digits), lower-cased, and each word stemmed by the Snowball
stemmer of the post's language: German (`de`) by the German stemmer ("Häuser" and "Haus"
are both `haus`), every other language — English, another, or none given — by the English
one (Porter2: "deployment", "deployed" and "deploy" are all `deploy`). One term per word,
so positions, and phrases, survive.

A query's language is not known, so each of its words asks for either of its stems
(`alternatives`): whatever stemmer a post was indexed with, the same word in the query
finds it. A post in a language without a stemmer of its own is found by its exact words
and whatever English suffix-stripping makes of them, the same on both sides.
"""

from __future__ import annotations

import re
from functools import lru_cache

# snowballstemmer hands out PyStemmer's compiled stemmers (a dependency): same stems, ~300x faster.
import snowballstemmer  # type: ignore[import-untyped]

from node.sanitize import html_to_text

WORD = re.compile(r"[^\W_]+")
MAX_WORD = 64  # longer "words" (a hash, a run of letters) are kept cut here
MAX_TERMS = 5000  # a post's first terms are what it is found by
STEMMED = ("en", "de")  # the languages with a stemmer of their own; others use English's


@lru_cache(maxsize=len(STEMMED))
def _stemmer(language: str) -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer({"de": "german"}.get(language, "english"))


def language_of(language: str | None) -> str:
    """The stemmer a post of `language` (a BCP 47 tag or None) is indexed with."""
    primary = (language or "").split("-")[0].split("_")[0].lower()
    return primary if primary in STEMMED else "en"


def words(text: str) -> list[str]:
    return [w[:MAX_WORD] for w in WORD.findall(text.lower())]


def stems(text: str, language: str | None) -> list[str]:
    return list(_stemmer(language_of(language)).stemWords(words(text)))


def post_terms(content_html: str, summary: str, alt_texts: list[str], language: str | None) -> str:
    """What the index keeps of one post: its stems, space-separated."""
    parts = [html_to_text(content_html) if content_html else "", summary, *alt_texts]
    return " ".join(stems("\n".join(p for p in parts if p), language)[:MAX_TERMS])


def alternatives(word: str) -> tuple[str, ...]:
    """The terms one word of a query may be indexed as: its stem in each stemmed language."""
    found: list[str] = []
    for language in STEMMED:
        stem = _stemmer(language).stemWord(word)
        if stem not in found:
            found.append(stem)
    return tuple(found)
