"""node.text: plain text to HTML (parse, render)."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from node import text as T
from node.sanitize import MAX_INPUT_CHARS, html_to_text, sanitize_html
from node.text import (
    MAX_TEXT_ENTITIES,
    MentionRef,
    MentionTarget,
    parse,
    render,
)
from tests.unit.test_sanitize import BIG, LINK_REL, PROPERTY_SETTINGS, _rep, assert_safe


def resolve_all(ref: MentionRef) -> MentionTarget:
    host = ref.domain or "local.example"
    return MentionTarget(f"https://{host}/@{ref.username}", f"@{ref.username}")


def resolve_none(ref: MentionRef) -> None:
    return None


def tag_url(name: str) -> str:
    return f"https://local.example/tags/{name}"


def render_all(text: str) -> str:
    return render(text, resolve_mention=resolve_all, tag_url=tag_url)


# ============================================================================================
# parse: mentions


def test_parse_finds_local_and_remote_mentions_with_ports() -> None:
    # Given text mentioning a local user and a remote one on a non-default port
    text = "Hi @alice and @Bob@Eng.Example:8443, welcome!"
    # When it is parsed
    parsed = parse(text)
    # Then both mentions are found; the username keeps its case, the domain is lowercased
    assert parsed.mentions == (
        MentionRef("alice", None),
        MentionRef("Bob", "eng.example:8443"),
    )


def test_parse_deduplicates_mentions_case_insensitively_keeping_the_first() -> None:
    # Given the same people mentioned several times in different cases
    text = "@Alice @alice @ALICE @bob@x.example @BOB@X.EXAMPLE @bob"
    # When it is parsed
    mentions = parse(text).mentions
    # Then each person appears once, as first written; @bob (local) differs from @bob@x.example
    assert mentions == (
        MentionRef("Alice", None),
        MentionRef("bob", "x.example"),
        MentionRef("bob", None),
    )


@pytest.mark.parametrize(
    "text",
    [
        "write to a@b.com",
        "first.last@example.org",
        "foo+tag@mail.example",
        "x@@alice",
        "see https://mastodon.social/@alice",
        "see https://user@host.example/",
        "example.com/@alice",
        "https://x.example/?u=@alice",
        "ask@alice",
        "@",
        "@ alice",
        "@.alice",
        "@bob@example.com@evil.example",
        "@aliceé",
    ],
)
def test_mentions_are_not_recognised_inside_words_emails_or_urls(text: str) -> None:
    # Given text where an '@' is part of a word, an email address or a URL
    # When it is parsed
    # Then there is no mention
    assert parse(text).mentions == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@first.last-name.", MentionRef("first.last-name", None)),
        ("(@alice)", MentionRef("alice", None)),
        ("@alice's post", MentionRef("alice", None)),
        ("cc:@alice", MentionRef("alice", None)),
        ("@under_score_1", MentionRef("under_score_1", None)),
        ("@bob@example.com.", MentionRef("bob", "example.com")),
        ("@bob@localhost", MentionRef("bob", "localhost")),
        ("@bob@bücher.example", MentionRef("bob", "xn--bcher-kva.example")),
        ("@bob@xn--bcher-kva.example", MentionRef("bob", "xn--bcher-kva.example")),
        ("@bob@eng.example:8443/x", MentionRef("bob", "eng.example:8443")),
        ("@bob@eng.example:123456", MentionRef("bob", "eng.example")),
    ],
)
def test_mention_edges(text: str, expected: MentionRef) -> None:
    # Given a mention next to punctuation, or with dots, hyphens, an IDN domain or a port
    # When it is parsed
    # Then exactly that mention is found, with the domain in punycode, port kept
    assert parse(text).mentions == (expected,)


# ============================================================================================
# parse: hashtags


def test_parse_lowercases_and_deduplicates_unicode_hashtags_in_order() -> None:
    # Given hashtags in several scripts, cases and repetitions
    text = "#Python #python #Café #日本語 #हिन्दी #ไทย #tag_1 #PYTHON"
    # When it is parsed
    tags = parse(text).tags
    # Then they are lowercased, deduplicated, in order of first appearance, combining marks kept
    assert tags == ("python", "café", "日本語", "हिन्दी", "ไทย", "tag_1")


@pytest.mark.parametrize(
    "text",
    [
        "#123",
        "#2024!",
        "C#sharp",
        "issue#12a",
        "https://x.example/page#section",
        "example.com/#anchor",
        "(see)#not",
        "#",
        "# space",
        "#-dash",
    ],
)
def test_hashtags_are_not_recognised_when_all_digits_inside_words_or_urls(text: str) -> None:
    # Given a '#' that is all digits, inside a word, or part of a URL fragment
    # When it is parsed
    # Then there is no hashtag
    assert parse(text).tags == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#tag.", "tag"),
        ("(#tag)", "tag"),
        ("#2024goals", "2024goals"),
        ("##double", "double"),
        ("end of line #tag\nnext", "tag"),
        ("#tag#other", "tag"),
    ],
)
def test_hashtag_edges(text: str, expected: str) -> None:
    # Given a hashtag next to punctuation or digits
    # When it is parsed
    # Then the hashtag is found without the punctuation
    assert parse(text).tags[:1] == (expected,)


# ============================================================================================
# parse: links


def test_parse_strips_trailing_punctuation_and_unbalanced_brackets_from_links() -> None:
    # Given URLs followed by sentence punctuation, one wrapped in parentheses, one with
    # balanced parentheses of its own
    text = (
        "See https://example.com/path. Or (https://en.example/wiki/Foo_(bar)), "
        "maybe https://x.example/a?b=1&c=2! Also 'https://q.example/it's' and "
        "https://y.example/x…"
    )
    # When it is parsed
    links = parse(text).links
    # Then each link ends where the URL ends
    assert links == (
        "https://example.com/path",
        "https://en.example/wiki/Foo_(bar)",
        "https://x.example/a?b=1&c=2",
        "https://q.example/it's",
        "https://y.example/x",
    )


def test_parse_keeps_at_signs_hashes_ports_and_unicode_inside_links() -> None:
    # Given links whose paths contain '@' and '#', a port and a unicode host
    text = "https://mastodon.social/@alice#frag HTTPS://Bücher.example:8443/ü?q=1"
    # When it is parsed
    parsed = parse(text)
    # Then the whole URLs are links, and nothing inside them is a mention or a hashtag
    assert parsed.links == (
        "https://mastodon.social/@alice#frag",
        "HTTPS://Bücher.example:8443/ü?q=1",
    )
    assert parsed.mentions == () and parsed.tags == ()


@pytest.mark.parametrize(
    "text",
    [
        "javascript:alert(1)",
        "ftp://files.example/x",
        "mailto:a@b.example",
        "data:text/html,<b>x</b>",
        "http://",
        "https://.",
        "https://:80/",
        "https://x.example:99999/",
        "xhttps://example.com",
        "www.example.com",
    ],
)
def test_only_http_and_https_urls_with_a_host_are_links(text: str) -> None:
    # Given text with other schemes, no host, a bad port, or a URL glued to a word
    # When it is parsed
    # Then there is no link
    assert parse(text).links == ()


def test_parse_deduplicates_links_and_handles_empty_text() -> None:
    # Given the same link twice, and empty text
    # When they are parsed
    # Then the link is listed once, and empty text has nothing
    assert parse("https://a.example https://a.example").links == ("https://a.example",)
    assert parse("") == T.ParsedText((), (), ())


# ============================================================================================
# render


def test_render_resolved_mention_as_an_h_card() -> None:
    # Given a mention the resolver knows
    # When the text is rendered
    html = render_all("hi @bob@eng.example:8443")
    # Then it is Mastodon's h-card markup, showing the handle the resolver gave
    assert html == (
        '<p>hi <span class="h-card" translate="no"><a href="https://eng.example:8443/@bob" '
        'class="u-url mention">@<span>bob</span></a></span></p>'
    )


def test_render_leaves_unresolved_mentions_as_escaped_text() -> None:
    # Given mentions nobody can resolve
    seen: list[MentionRef] = []

    def resolver(ref: MentionRef) -> None:
        seen.append(ref)

    # When the text is rendered
    html = render("@ghost & @ghost@far.example <3", resolve_mention=resolver, tag_url=tag_url)
    # Then they stay plain text (escaped), and the resolver was asked about each one
    assert html == "<p>@ghost &amp; @ghost@far.example &lt;3</p>"
    assert seen == [MentionRef("ghost", None), MentionRef("ghost", "far.example")]


def test_render_resolves_each_distinct_mention_once() -> None:
    # Given the same person mentioned three times in different cases
    calls: list[MentionRef] = []

    def resolver(ref: MentionRef) -> MentionTarget:
        calls.append(ref)
        return resolve_all(ref)

    # When the text is rendered
    html = render("@amy @Amy @AMY", resolve_mention=resolver, tag_url=tag_url)
    # Then the resolver is called once, and every occurrence is linked
    assert calls == [MentionRef("amy", None)]
    assert html.count('class="u-url mention"') == 3


def test_render_hashtag_links_to_the_lowercased_tag_and_shows_it_as_typed() -> None:
    # Given a hashtag in mixed case
    asked: list[str] = []

    def url_for(name: str) -> str:
        asked.append(name)
        return tag_url(name)

    # When the text is rendered
    html = render("Love #Café", resolve_mention=resolve_none, tag_url=url_for)
    # Then tag_url gets the lowercased name and the link shows the tag as typed
    assert asked == ["café"]
    assert html == (
        '<p>Love <a href="https://local.example/tags/café" class="mention hashtag" '
        'rel="tag">#<span>Café</span></a></p>'
    )


def test_render_short_link() -> None:
    # Given a short URL at the end of a sentence
    # When the text is rendered
    html = render_all("Read https://example.com/a.")
    # Then it is a nofollow link in a new tab; the scheme is hidden, the full text shown
    assert html == (
        '<p>Read <a href="https://example.com/a" rel="nofollow noopener noreferrer" '
        'target="_blank"><span class="invisible">https://</span><span>example.com/a</span>'
        "</a>.</p>"
    )


def test_render_long_link_is_shortened_like_mastodon() -> None:
    # Given a URL longer than 30 characters after 'https://www.'
    url = "https://www.example.com/a/very/long/path?x=1&y=2"
    # When the text is rendered
    html = render_all(url)
    # Then 'https://www.' and everything after 30 characters are hidden, with an ellipsis class
    assert html == (
        '<p><a href="https://www.example.com/a/very/long/path?x=1&amp;y=2" '
        'rel="nofollow noopener noreferrer" target="_blank">'
        '<span class="invisible">https://www.</span>'
        '<span class="ellipsis">example.com/a/very/long/path?x</span>'
        '<span class="invisible">=1&amp;y=2</span></a></p>'
    )
    # And as text it reads as the whole URL again
    assert html_to_text(html) == url


def test_render_link_containing_at_and_hash_is_one_link() -> None:
    # Given a URL with '@' and '#' in it
    # When the text is rendered
    html = render_all("https://mastodon.social/@alice#top")
    # Then it is a single link, with no mention or hashtag markup inside
    assert html.count("<a ") == 1
    assert "h-card" not in html and "hashtag" not in html


def test_render_escapes_everything_else() -> None:
    # Given text that looks like HTML and scripts
    text = '<script>alert("x")</script> <b onclick="y">&amp; javascript:alert(1)'
    # When it is rendered
    html = render_all(text)
    # Then it comes out as escaped text, with no markup of its own
    assert html == (
        '<p>&lt;script&gt;alert("x")&lt;/script&gt; &lt;b onclick="y"&gt;&amp;amp; '
        "javascript:alert(1)</p>"
    )
    assert html_to_text(html) == text


def test_render_paragraphs_and_line_breaks() -> None:
    # Given lines, a blank line with spaces, several blank lines, CRLF and outer whitespace
    text = "  one\r\ntwo\n \n\n\nthree\rfour\n\n"
    # When it is rendered
    html = render_all(text)
    # Then blank lines split paragraphs and single newlines are <br>
    assert html == "<p>one<br>two</p><p>three<br>four</p>"


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t", "\x00\x01"])
def test_render_empty_text_is_empty(text: str) -> None:
    # Given text with nothing visible in it
    # When it is rendered
    # Then the result is the empty string
    assert render_all(text) == ""


def test_render_drops_control_characters_and_replaces_lone_surrogates() -> None:
    # Given text with NUL, other controls and a lone surrogate
    # When it is rendered
    html = render_all("a\x00b\x07c\ud800d")
    # Then the controls are gone and the surrogate is U+FFFD
    assert html == "<p>abc\ufffdd</p>"


def test_render_sanitises_urls_from_the_callbacks() -> None:
    # Given callbacks that return a javascript: URL, markup in the handle and a relative URL
    def evil_resolver(ref: MentionRef) -> MentionTarget:
        return MentionTarget("javascript:alert(1)", '@<script>x</script>"')

    # When the text is rendered
    html = render("@eve #tag", resolve_mention=evil_resolver, tag_url=lambda n: "/tags/" + n)
    # Then the unsafe and relative hrefs are dropped and the handle is escaped text
    assert html == (
        '<p><span class="h-card" translate="no"><a class="u-url mention">@<span>'
        '&lt;script&gt;x&lt;/script&gt;"</span></a></span> '
        '<a rel="tag" class="mention hashtag">#<span>tag</span></a></p>'
    )


def test_render_lets_callback_errors_propagate() -> None:
    # Given a resolver that fails (e.g. its lookup is broken)
    def broken(ref: MentionRef) -> MentionTarget:
        raise LookupError("boom")

    # When the text is rendered
    # Then the error reaches the caller rather than being hidden
    with pytest.raises(LookupError):
        render("@x", resolve_mention=broken, tag_url=tag_url)


def test_render_links_at_most_max_text_entities() -> None:
    # Given more hashtags than the cap
    text = " ".join(f"#t{i}" for i in range(MAX_TEXT_ENTITIES + 5))
    # When it is parsed and rendered
    parsed = parse(text)
    html = render_all(text)
    # Then only the first MAX_TEXT_ENTITIES are tags; the rest stay text
    assert len(parsed.tags) == MAX_TEXT_ENTITIES
    assert html.count('class="mention hashtag"') == MAX_TEXT_ENTITIES
    assert html.endswith(f" #t{MAX_TEXT_ENTITIES + 4}</p>")


def test_non_str_input_is_a_type_error() -> None:
    # Given bytes instead of str
    # When any function is called with it
    # Then it is a TypeError (only str input is promised never to raise)
    with pytest.raises(TypeError):
        sanitize_html(b"<p>x</p>")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        parse(None)  # type: ignore[arg-type]


def test_html_to_text_of_rendered_text_gives_the_text_back() -> None:
    # Given a post with mentions, tags, links, escapes and paragraphs
    text = "Hi @amy, see https://example.com/a/very/long/path?x=1&y=2 #News <3\n\nBye"
    # When it is rendered and turned back into text
    # Then the original text comes back
    assert html_to_text(render_all(text)) == text


# ============================================================================================
# Adversarial sizes: these were quadratic (or worse) before the guards; they must simply
# return the right thing. (Each takes well under a second; a regression shows as a hang.)


@pytest.mark.parametrize(
    ("text", "mentions", "tags", "links"),
    [
        ("@" * 100_000, (), (), ()),
        ("a" * 100_000 + "!", (), (), ()),
        ("#" * 50_000, (), (), ()),
        (_rep("a@"), (), (), ()),
        (_rep("@a@"), (), (), ()),
        (_rep("#1#"), (), (), ()),
        (_rep("http:// "), (), (), ()),
        (_rep("http://"), (), (), (_rep("http://"),)),
        ("a" + " " * BIG + "b", (), (), ()),
        ("@a@" + "b." * BIG, (MentionRef("a", "b." * (BIG - 1) + "b"),), (), ()),
        ("@" + "a." * BIG, (MentionRef("a." * (BIG - 1) + "a", None),), (), ()),
        ("#a" + "\u0301" * BIG, (), ("a" + "\u0301" * BIG,), ()),
        ("https://x.example/" + ")" * BIG, (), (), ("https://x.example/",)),
        ("https://x." + "." * BIG, (), (), ("https://x",)),
    ],
    ids=lambda v: repr(v[:12]) if isinstance(v, str) else "",
)
def test_adversarial_text_is_parsed_and_rendered_correctly(
    text: str, mentions: tuple[MentionRef, ...], tags: tuple[str, ...], links: tuple[str, ...]
) -> None:
    # Given a long pathological text
    # When it is parsed and rendered
    parsed = parse(text)
    html = render(text, resolve_mention=resolve_none, tag_url=tag_url)
    # Then exactly the right entities are found, and the rendering keeps every word
    assert (parsed.mentions, parsed.tags, parsed.links) == (mentions, tags, links)
    assert html.count("<a ") == len(tags) + len(links)
    assert html_to_text(html).split() == text.split()


def test_adversarial_blank_text_renders_empty() -> None:
    # Given a long text of spaces and newlines
    # When it is rendered
    # Then the result is empty
    assert render_all(_rep(" \n")) == ""


def test_adversarial_long_link_and_username_are_single_entities() -> None:
    # Given a 200k-character URL and a 200k-character username
    url = "https://" + "a" * BIG + ".example/"
    user = "u" * BIG
    # When they are parsed
    # Then each is one entity
    assert parse(url).links == (url,)
    assert parse("@" + user).mentions == (MentionRef(user, None),)


def test_adversarial_many_entities_are_capped() -> None:
    # Given 100k hashtags and 100k mentions
    text = _rep("#a ") + _rep("@b ")
    # When it is rendered with everything resolving
    html = render_all(text)
    # Then only MAX_TEXT_ENTITIES are linked and the rest is text
    assert html.count("<a ") == MAX_TEXT_ENTITIES
    assert len(html_to_text(html)) == len(text.strip())


def test_adversarial_huge_input_is_truncated_not_rejected() -> None:
    # Given several megabytes of text and of HTML
    text = "word " * 1_000_000
    # When they are processed
    html = render_all(text)
    cleaned = sanitize_html("<p>" + text)
    # Then each result covers the first MAX_INPUT_CHARS characters of its input
    assert html == "<p>" + ("word " * (MAX_INPUT_CHARS // 5)).strip() + "</p>"
    assert cleaned == "<p>" + text[: MAX_INPUT_CHARS - 3] + "</p>"


# ============================================================================================
# Properties

FRAGMENTS = [
    "@", "#", "@alice", "@bob@x.example", "@bob@eng.example:8443", "#tag", "#Café", "#123",
    "http://", "https://", "https://x.example/a?b=1&c=2", "(https://x.example/(a))", "javascript:",
    "<script>", "</script>", "<b>", "<a href='x'>", "&", "&amp;", "&#", ";", "\n", "\n\n", "\r",
    " ", "\t", ".", ",", ")", "(", "a@b.com", "'", '"', "<", ">", "\x00", "\ud800", "é", "日本",
    "\u0301", "\xa0", "://", "www.", "=", "/",
]

texts = st.lists(
    st.one_of(st.text(max_size=20), st.sampled_from(FRAGMENTS)), max_size=30
).map("".join)



@PROPERTY_SETTINGS
@given(texts)
def test_property_render_never_raises_and_emits_only_safe_markup(text: str) -> None:
    # Given any text
    # When it is rendered (with every mention resolving)
    html = render_all(text)
    # Then the markup is safe: allowlisted tags and attributes, no handlers, http(s) links only
    assert_safe(html)


@PROPERTY_SETTINGS
@given(texts)
@example("HTTP://\U000191d3\\@=")  # host 𙇓 to a browser (not a valid name), '=' to urlsplit
def test_property_render_and_parse_agree(text: str) -> None:
    # Given any text
    tags_asked: list[str] = []
    mentions_asked: list[MentionRef] = []

    def resolver(ref: MentionRef) -> MentionTarget:
        mentions_asked.append(ref)
        return resolve_all(ref)

    def url_for(name: str) -> str:
        tags_asked.append(name)
        return tag_url(name)

    # When it is parsed and rendered
    parsed = parse(text)
    html = render(text, resolve_mention=resolver, tag_url=url_for)
    # Then render links exactly the mentions and tags parse finds, and every parsed link
    assert tags_asked == list(parsed.tags)
    assert mentions_asked == list(parsed.mentions)
    for link in parsed.links:
        assert f'<a href="{link.replace("&", "&amp;")}" {LINK_REL} target="_blank">' in html


@PROPERTY_SETTINGS
@given(texts)
def test_property_render_keeps_the_words(text: str) -> None:
    # Given any text
    # When it is rendered (mentions left as text) and turned back into text
    back = html_to_text(render(text, resolve_mention=resolve_none, tag_url=tag_url))
    # Then the words are the same (as render sees them: controls dropped, surrogates U+FFFD)
    expected = T._prepare_text(text)
    assert back.split() == expected.split()


@PROPERTY_SETTINGS
@given(st.text(max_size=200))
def test_property_sanitize_and_text_never_raise_on_arbitrary_strings(value: str) -> None:
    # Given any string at all (surrogates, controls, anything)
    # When every function is applied
    out = sanitize_html(value)
    text = html_to_text(value)
    parse(value)
    rendered = render_all(value)
    # Then all return, the HTML is safe, and the text matches the sanitised HTML's text
    assert_safe(out)
    assert_safe(rendered)
    assert text == html_to_text(out)


@pytest.mark.parametrize("text", ["HTTP://.0", "http://a.1", "http://x..y"])
def test_hosts_a_browser_would_refuse_are_not_links(text: str) -> None:
    # Given a URL whose host parses as a broken IPv4 address or has an empty label
    # (found by the property test below: such a link came out with no href)
    assert parse(text).links == ()
    assert "<a" not in render(text, resolve_mention=lambda ref: None, tag_url=lambda n: f"https://x.test/tags/{n}")
