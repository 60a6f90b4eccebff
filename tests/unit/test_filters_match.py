"""The filter matcher (node/filters_match.py): Mastodon's keyword semantics, contexts, expiry,
posts named by id, and one compiled pattern per set of keywords."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from node.filters_match import (
    FilterAction,
    FilterContext,
    Keyword,
    compile_keywords,
    compiled,
    hides,
    match,
    searchable_text,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _filter(*words: tuple[str, bool], contexts: tuple[str, ...] = ("home",), action: str = "warn",
            expires_at: datetime | None = None, status_ids: tuple[int, ...] = ()):  # type: ignore[no-untyped-def]
    keywords = [Keyword(i, w, whole) for i, (w, whole) in enumerate(words)]
    return compiled(1, "t", contexts, action, expires_at, keywords, status_ids)


def _hits(f, text: str, context: FilterContext = FilterContext.HOME) -> list[tuple[str, ...]]:  # type: ignore[no-untyped-def]
    return [m.keyword_matches for m in match([f], context, text, [10], NOW)]


def test_whole_word_needs_boundaries_and_substring_does_not() -> None:
    # Given "deploy" as a whole word, and as a substring
    whole, part = _filter(("deploy", True)), _filter(("deploy", False))
    # Then the whole word matches "deploy" and "Deploy!", not "deployment" nor "redeploy"
    assert _hits(whole, "we Deploy! today") == [("deploy",)]
    assert _hits(whole, "the deployment, a redeploy") == []
    # And the substring matches inside words
    assert _hits(part, "the deployment") == [("deploy",)]


def test_boundary_only_where_the_keyword_has_a_word_character() -> None:
    # Mastodon: \b before only when the keyword starts with a word character, after only when it ends with one
    assert _hits(_filter(("#rust", True)), "love#rust") == [("#rust",)]
    assert _hits(_filter(("c++", True)), "I write c++code") == [("c++",)]
    assert _hits(_filter(("c++", True)), "abc++") == []


def test_case_insensitive_unicode_and_regex_characters_literal() -> None:
    assert _hits(_filter(("Straße", True)), "die STRASSE straße") == [("Straße",)]
    assert _hits(_filter(("É", True)), "école É") == [("É",)]
    assert _hits(_filter(("a.b", False)), "axb") == []  # the dot is a dot
    assert _hits(_filter(("(", False)), "f(x)") == [("(",)]


def test_several_keywords_report_each_that_matched() -> None:
    f = _filter(("cats", True), ("dogs", True), ("birds", True))
    assert _hits(f, "Dogs and cats, cats again") == [("dogs", "cats")]


def test_context_expiry_and_status_ids() -> None:
    f = _filter(("spoiler", False), contexts=("public", "thread"))
    assert _hits(f, "spoiler", FilterContext.HOME) == []
    assert _hits(f, "spoiler", FilterContext.PUBLIC) == [("spoiler",)]
    expired = _filter(("spoiler", False), expires_at=NOW - timedelta(seconds=1))
    assert _hits(expired, "spoiler") == []
    later = _filter(("spoiler", False), expires_at=NOW + timedelta(seconds=1))
    assert _hits(later, "spoiler") == [("spoiler",)]
    named = _filter(status_ids=(10,))
    [m] = match([named], FilterContext.HOME, "", [99, 10], NOW)
    assert m.status_matches == (10,) and m.keyword_matches == ()


def test_hide_and_searchable_text() -> None:
    hide = _filter(("x", True), action="hide")
    assert hides(match([hide], FilterContext.HOME, "x", [1], NOW))
    assert hide.action == FilterAction.HIDE
    text = searchable_text("cw words", "body", ["option one"], ["alt of a cat"])
    assert _hits(_filter(("cat", True)), text) == [("cat",)]
    assert _hits(_filter(("cw", True)), text) == [("cw",)]


def test_patterns_are_compiled_once_per_keyword_set_and_huge_sets_are_linear() -> None:
    words = tuple((f"word{i}", True) for i in range(1000))
    assert compile_keywords(words) is compile_keywords(words)
    f = _filter(*words)
    assert _hits(f, "nothing here " * 1000) == []
    assert _hits(f, "a word999 b") == [("word999",)]
