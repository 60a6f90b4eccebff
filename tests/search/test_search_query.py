"""Reading a typed search into its parts (node/search_query.py): pure, no database.
docs/search.md ("Operators") is the contract."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from node.search_query import Author, parse
from storage.errors import Invalid
from storage.search_index import Query

HERE = "eng.acme.test"


def test_words_are_stemmed_and_each_asks_for_its_english_or_german_stem() -> None:
    # Given words in English and German, When parsed, Then each is the Either of its stems
    q = parse("Deployment Häuser", HERE)
    assert q.text == Query(((("deploy",), ("deployment",)), (("häuser",), ("haus",))))
    assert not q.excluded and q.scope == "all"


def test_a_phrase_keeps_its_words_in_order_per_language() -> None:
    q = parse('"release train"', HERE)
    assert q.text == Query(((("releas", "train"),),))


def test_excluded_words_and_phrases_are_one_either() -> None:
    q = parse('deploy -friday -"on call"', HERE)
    assert q.text == Query(((("deploy",),),))
    assert q.excluded == Query(((("friday",), ("on", "call")),))


def test_operators_are_read() -> None:
    # Given every operator, When parsed, Then each lands where it belongs
    q = parse(
        "from:me from:@Bob from:sam@Sales.acme.test from:carol@eng.acme.test before:2026-03-02 after:2026-01-01 "
        "in:library has:media -has:poll is:reply -is:sensitive language:de-AT -from:dan",
        HERE,
    )
    assert q.only.authors == [Author(me=True), Author("bob"), Author("sam", "sales.acme.test"), Author("carol")]
    assert q.without.authors == [Author("dan")]
    assert q.since == datetime(2026, 1, 2, tzinfo=UTC) and q.until == datetime(2026, 3, 2, tzinfo=UTC)
    assert q.scope == "library"
    assert q.only.has == {"media"} and q.without.has == {"poll"}
    assert q.only.is_ == {"reply"} and q.without.is_ == {"sensitive"}
    assert q.only.languages == {"de"}
    assert not q.text and not q.empty


def test_during_is_that_day() -> None:
    q = parse("during:2026-02-28", HERE)
    assert (q.since, q.until) == (datetime(2026, 2, 28, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))


def test_an_unknown_operator_is_words() -> None:
    q = parse("deadline:friday", HERE)
    assert q.text == Query(((("deadlin",),), (("friday",),)))


@pytest.mark.parametrize(
    "raw",
    ["before:yesterday", "after:2026-13-01", "during:2026-1-1", "in:everything", "-in:library", "has:cats",
     "is:boring", "from:a/b", "from:@", "language:x", "-before:2026-01-01"],
)
def test_an_operators_invalid_value_is_invalid(raw: str) -> None:
    # Given a value an operator cannot take, When parsed, Then Invalid (a 422 for clients)
    with pytest.raises(Invalid):
        parse(raw, HERE)


@pytest.mark.parametrize(
    "raw",
    ['NEAR(a b', "*", '"', '""', "-", "--", "a OR b", "a AND NOT b", "{terms}: x", "^x", "x:", ":x", "'; DROP TABLE posts;--",
     "\x00\u202e", "a" * 100_000, " ".join(["w"] * 5000), '"' * 999, "-" * 999, "\\'", "(((", "a NEAR/3 b"],
)
def test_hostile_queries_parse_to_plain_words(raw: str) -> None:
    # Given engine syntax or a huge input, When parsed, Then it never raises, and every term
    # is letters and digits only (nothing the engines would read as syntax), and there are few
    q = parse(raw, HERE)
    terms = [w for e in q.text.all_of + q.excluded.all_of for p in e for w in p]
    assert all(w.isalnum() for w in terms)
    assert len(q.text.all_of) <= 32 and all(len(w) <= 64 for w in terms)


def test_a_search_with_an_operator_is_no_handle() -> None:
    # Given `from:sam@sales.example`, Then it is an operator (search does not look it up by WebFinger)
    from node.search_query import has_operator

    assert has_operator("from:sam@sales.example") and has_operator("deploy in:library")
    assert not has_operator("sam@sales.example") and not has_operator("deadline:friday")
