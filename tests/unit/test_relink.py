"""node.sanitize.relink: chosen links of stored HTML pointed elsewhere, nothing else touched."""

from __future__ import annotations

from node.sanitize import relink, sanitize_html


def test_only_the_links_named_change_and_open_in_the_same_tab() -> None:
    # Given a remote post's sanitised HTML with a mention, a plain link and the mention's
    # address written out as text
    stored = sanitize_html(
        '<p><a href="https://b.example/@bob" class="u-url mention" target="_blank">@bob</a> '
        '<a href="https://elsewhere.example/?a=1&amp;b=2">link</a> '
        'href="https://b.example/@bob"</p>'
    )
    # When the mention is pointed to the local page
    shown = relink(stored, {"https://b.example/@bob": "/@bob@b.example", "https://elsewhere.example/?a=1&b=2": '/"x'})
    # Then that link changes and loses its target, the text stays, values are escaped
    assert '<a href="/@bob@b.example" class="u-url mention" rel="nofollow noopener noreferrer">@bob</a>' in shown
    assert 'href="/&quot;x"' in shown
    assert shown.endswith(' href="https://b.example/@bob"</p>')


def test_without_links_to_change_the_html_is_unchanged() -> None:
    stored = '<p><a href="https://b.example/@bob" class="u-url mention">@bob</a></p>'
    assert relink(stored, {}) == stored
    assert relink(stored, {"https://c.example/": "/x"}) == stored
