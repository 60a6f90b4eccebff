"""Post text and HTML: pure functions, no I/O, no database.

- `parse(text)` finds the mentions, hashtags and links in a post's plain text.
- `render(text, resolve_mention=..., tag_url=...)` turns that text into sanitised HTML in the
  markup Mastodon produces (h-card mentions, hashtag links, shortened link text).
- `sanitize_html(html)` makes HTML from a remote server safe to store and show.
- `html_to_text(html)` turns either into plain text (search, notifications, previews).

Everything goes through one nh3 (ammonia) allowlist: p, br, a, span, strong, em, b, i, u, del,
s, code, pre, blockquote, ul, ol, li, h1-h6; links only to http, https and mailto; classes
only h-card, u-url, mention, hashtag, invisible, ellipsis; script, style and the other
raw-text elements are removed with their content.

These functions sit on the inbox hot path, so their cost stays linear in the input (a
typical status takes a few hundred microseconds, a pathological megabyte about a second):

- Input longer than `MAX_INPUT_CHARS` characters is truncated to that length, never rejected.
- Remote HTML is first normalised by a small linear pass (`_Normaliser`) before nh3 sees it.
  nh3 (ammonia on html5ever) is quadratic on some inputs: deep nesting (`<div>` x 100k),
  many attributes on one tag, unclosed formatting elements that the parser re-opens in every
  later paragraph (an 800 kB input took 27 s and produced 370 MB), long text nodes full of
  '&' or U+00A0. The pass keeps only allowlisted tags and attributes, closes elements where
  HTML would close them implicitly (so nothing is ever re-opened), caps nesting at
  `MAX_NESTING` (deeper tags are unwrapped, their text kept), splits long text with empty
  comments that nh3 strips, drops attribute values over 4,096 characters and stops after
  `MAX_TAGS` start tags (or four times as many tags and comments of any kind): the rest of
  the document is dropped.
- The plain-text tokeniser uses possessive quantifiers, so each character is scanned a
  bounded number of times, and links at most `MAX_TEXT_ENTITIES` mentions, tags and links.

`sanitize_html`, `render` and `html_to_text` never raise on str input (lone surrogates, NUL,
anything): if nh3 fails, they fall back to the text with all markup stripped and escaped.
`render` does let exceptions from its own callbacks propagate.
"""

from __future__ import annotations

import functools
import html as _html
import html.entities as _html_entities
import itertools
import ipaddress
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import idna
import nh3

__all__ = [
    "MAX_INPUT_CHARS",
    "MAX_TAGS",
    "MAX_NESTING",
    "MAX_TEXT_ENTITIES",
    "MentionRef",
    "MentionTarget",
    "ParsedText",
    "html_to_text",
    "parse",
    "render",
    "sanitize_html",
]

MAX_INPUT_CHARS = 1_000_000
"""Longer input (text or HTML) is truncated to this many characters before processing."""

MAX_TEXT_ENTITIES = 2_000
"""Plain text: mentions, hashtags and links after this many (occurrences) stay plain text."""

MAX_TAGS = 10_000
"""Remote HTML: the document is cut before start tag number MAX_TAGS + 1 (or before markup
item 4 * MAX_TAGS + 1, counting end tags and comments too). Output never exceeds either, so
sanitising it again cuts nothing."""

MAX_NESTING = 100
"""Remote HTML: allowlisted elements nested deeper than this are unwrapped (text kept)."""

_MAX_ATTRIBUTES_SCANNED = 256  # per tag; later attributes are ignored
_MAX_ATTRIBUTE_CHARS = 4096  # a longer attribute value (say a 5 kB href) is dropped


@dataclass(frozen=True)
class MentionRef:
    """A mention as typed: `@alice` (domain None: this node) or `@bob@eng.example:8443`.

    The username keeps its case; the domain is lowercased and IDNA-encoded (punycode), with
    its port if one was typed.
    """

    username: str
    domain: str | None


@dataclass(frozen=True)
class MentionTarget:
    """Where a resolved mention links to, and the handle to show (e.g. '@bob')."""

    url: str
    handle: str


@dataclass(frozen=True)
class ParsedText:
    """Mentions (deduplicated case-insensitively), tags (lowercased, deduplicated) and links
    (deduplicated), each in order of first appearance."""

    mentions: tuple[MentionRef, ...]
    tags: tuple[str, ...]
    links: tuple[str, ...]


# --------------------------------------------------------------------------------------------
# Character classes


def _mark_ranges() -> str:
    """Unicode combining marks as a regex class body: Python's \\w leaves them out, but
    hashtags and domains in Devanagari, Thai, Arabic... need them."""
    category = unicodedata.category
    ranges: list[list[int]] = []
    for cp in itertools.chain(range(0x300, 0x1F000), range(0xE0100, 0xE01F0)):
        if category(chr(cp))[0] == "M":
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1][1] = cp
            else:
                ranges.append([cp, cp])
    return "".join(
        f"\\U{lo:08x}" if lo == hi else f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in ranges
    )


_W = r"\w" + _mark_ranges()  # word characters: letters, digits, underscore, marks

# --------------------------------------------------------------------------------------------
# Plain-text tokens. Every quantifier that could backtrack is possessive, so a failed attempt
# costs at most the run it scanned, and runs scanned from different starts do not overlap.

_USERNAME = r"[A-Za-z0-9_]++(?:[.\-]++[A-Za-z0-9_]++)*+"
_LABEL = rf"[{_W}]++(?:-++[{_W}]++)*+"
_DOMAIN = rf"{_LABEL}(?:\.{_LABEL})*+(?::[0-9]{{1,5}}+(?![0-9]))?"
# Each alternative starts with its literal first character and only then looks one character
# further back ("not inside a word"), so the regex engine skips ahead to candidates in C.
_MENTION = rf"@(?<![/=@{_W}].)(?P<user>{_USERNAME})(?:@(?P<domain>{_DOMAIN}))?(?![@{_W}])"
_HASHTAG = rf"#(?<![/){_W}].)(?P<tag>\w[{_W}]*+)"
_URL = (
    rf"(?P<url>[hH](?<![{_W}].)[tT][tT][pP][sS]?://"
    r"[^\s<>\"\x00-\x1f\x7f-\x9f\u200b-\u200d\u2060\ufeff]++)"
)
_TOKEN_RE = re.compile(f"{_URL}|{_MENTION}|{_HASHTAG}")

# Characters that end a sentence rather than a URL.
_URL_TRAILING = ".,:;!?'\"*…‥。、，！？：；’”»›"
_URL_CLOSERS = {")": "(", "]": "[", "}": "{"}
_URL_PREFIX_RE = re.compile(r"(?i)https?://(?:www\.)?")
_LINK_DISPLAY_CHARS = 30
_ASCII_HOST_RE = re.compile(r"[a-z0-9\-._~!$&'()*+,;=]++|[0-9a-f:.]++")

_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_TEXT_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANK_LINES_RE = re.compile(r"\n(?:[ \t]*+\n)++")


def _prepare(value: str, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str, not {type(value).__name__}")
    if len(value) > MAX_INPUT_CHARS:
        value = value[:MAX_INPUT_CHARS]
    # Lone surrogates cannot cross into Rust (nh3) or be encoded as UTF-8 anywhere.
    return _SURROGATE_RE.sub("\ufffd", value)


def _prepare_html(html: str) -> str:
    # HTML ignores NUL in text (and would turn it into U+FFFD in attribute values).
    return _prepare(html, "html").replace("\x00", "")


def _prepare_text(text: str) -> str:
    text = _prepare(text, "text")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _TEXT_CONTROL_RE.sub("", text)


def _normalise_domain(domain: str) -> str:
    host, colon, port = domain.partition(":")
    if host.isascii():
        host = host.lower()
    else:
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except Exception:  # not a valid IDN: keep it as typed; it will not resolve
            host = host.lower()
    return host + colon + port


def _trim_url(url: str) -> str:
    """Drop sentence punctuation and unbalanced closing brackets from the end of a URL."""
    closes = {c: url.count(c) for c in _URL_CLOSERS}
    opens = {o: url.count(o) for o in _URL_CLOSERS.values()}
    end = len(url)
    while True:
        while end and url[end - 1] in _URL_TRAILING:
            end -= 1
        ch = url[end - 1] if end else ""
        if ch not in _URL_CLOSERS or closes[ch] <= opens[_URL_CLOSERS[ch]]:
            return url[:end]
        closes[ch] -= 1
        end -= 1


def _is_link(url: str) -> bool:
    """Whether a URL has a host that browsers (and nh3, which drops hrefs it cannot parse)
    accept: an ASCII name, an IP literal, or an internationalised name valid under IDNA."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
        host = parts.hostname
    except ValueError:
        return False
    if not host:
        return False
    if host.isascii():
        if ":" not in host:
            # Browsers (and nh3's URL parser) read a name whose last label is numeric as an
            # IPv4 address and refuse it unless it is one ('http://.0', 'http://a.1'): only
            # linkable when it really is a dotted address; no empty labels either.
            labels = host[:-1].split(".") if host.endswith(".") else host.split(".")
            if "" in labels:
                return False
            last = labels[-1]
            if last.isdigit() or last.startswith("0x"):
                try:
                    ipaddress.IPv4Address(".".join(labels))
                except ValueError:
                    return False
        return _ASCII_HOST_RE.fullmatch(host) is not None
    try:
        idna.encode(host, uts46=True)
    except Exception:
        return False
    return True


def _scan(text: str) -> Iterator[tuple[int, int, str, Any]]:
    """(start, end, kind, value) for each link, mention and hashtag, left to right; at most
    MAX_TEXT_ENTITIES of them."""
    search = _TOKEN_RE.search
    pos = 0
    found = 0
    while found < MAX_TEXT_ENTITIES and (m := search(text, pos)) is not None:
        start = m.start()
        if m.start("url") >= 0:
            raw = m.group("url")
            url = _trim_url(raw)
            if _is_link(url):
                found += 1
                yield start, start + len(url), "link", url
                pos = start + len(url)
            else:  # 'http://' with no host: plain text; carry on after the '//'
                pos = start + raw.index("//") + 2
        elif m.start("user") >= 0:
            domain = m.group("domain")
            ref = MentionRef(m.group("user"), None if domain is None else _normalise_domain(domain))
            found += 1
            yield start, m.end(), "mention", ref
            pos = m.end()
        else:
            tag = m.group("tag")
            if not tag.isdecimal():
                found += 1
                yield start, m.end(), "tag", tag
            pos = m.end()


def parse(text: str) -> ParsedText:
    """The mentions, hashtags and links in a post's plain text (see `ParsedText`)."""
    text = _prepare_text(text)
    mentions: list[MentionRef] = []
    tags: list[str] = []
    links: list[str] = []
    seen: set[object] = set()
    for _start, _end, kind, value in _scan(text):
        if kind == "mention":
            key: object = ("m", value.username.lower(), value.domain)
            target: list[Any] = mentions
        elif kind == "tag":
            value = value.lower()
            key, target = ("t", value), tags
        else:
            key, target = ("l", value), links
        if key not in seen:
            seen.add(key)
            target.append(value)
    return ParsedText(tuple(mentions), tuple(tags), tuple(links))


def _esc(value: str) -> str:
    """Escape for an attribute value in double quotes (or for text)."""
    return _esc_text(value).replace('"', "&#34;")


def _esc_text(value: str) -> str:
    return value.replace("&", "&#38;").replace("<", "&#60;").replace(">", "&#62;")


# nh3 takes time quadratic in a text node's length times its number of '&' and U+00A0
# characters (1M characters with 200k '&' took 14 s). Text headed for nh3 is therefore cut
# into chunks separated by empty comments: they split the text nodes, nh3 strips them, and
# the output is unchanged.
_TEXT_CHUNK = 1024


def _esc_chunked(value: str) -> str:
    if len(value) <= _TEXT_CHUNK:
        return _esc_text(value)
    return "<!---->".join(
        _esc_text(value[i : i + _TEXT_CHUNK]) for i in range(0, len(value), _TEXT_CHUNK)
    )


def _text_html(segment: str, *, for_nh3: bool = True) -> str:
    """Escaped text; blank lines end a paragraph, single newlines become <br>."""
    escape = _esc_chunked if for_nh3 else _esc_text
    if "\n" not in segment:
        return escape(segment)
    return "</p><p>".join(
        "<br>".join(escape(line) for line in paragraph.split("\n"))
        for paragraph in _BLANK_LINES_RE.split(segment)
    )


def _link_html(url: str) -> str:
    """Mastodon's link markup: scheme (and www.) hidden, 30 characters shown, rest hidden."""
    prefix_end = _URL_PREFIX_RE.match(url).end()  # type: ignore[union-attr]
    rest = url[prefix_end:]
    shown, hidden = rest[:_LINK_DISPLAY_CHARS], rest[_LINK_DISPLAY_CHARS:]
    parts = [
        f'<a href="{_esc(url)}" rel="nofollow noopener noreferrer" target="_blank">',
        f'<span class="invisible">{_esc(url[:prefix_end])}</span>',
        f'<span class="ellipsis">{_esc(shown)}</span>' if hidden else f"<span>{_esc(shown)}</span>",
    ]
    if hidden:
        parts.append(f'<span class="invisible">{_esc(hidden)}</span>')
    parts.append("</a>")
    return "".join(parts)


def _mention_html(target: MentionTarget) -> str:
    handle = target.handle[1:] if target.handle.startswith("@") else target.handle
    return (
        f'<span class="h-card" translate="no"><a href="{_esc(target.url)}" '
        f'class="u-url mention">@<span>{_esc(handle)}</span></a></span>'
    )


def _hashtag_html(tag: str, url: str) -> str:
    return (
        f'<a href="{_esc(url)}" class="mention hashtag" rel="tag">#<span>{_esc(tag)}</span></a>'
    )


def render(
    text: str,
    *,
    resolve_mention: Callable[[MentionRef], MentionTarget | None],
    tag_url: Callable[[str], str],
) -> str:
    """A post's plain text as sanitised HTML, Mastodon-style.

    Paragraphs split on blank lines (`<p>`), single newlines become `<br>`. Mentions that
    `resolve_mention` resolves become h-card links (each distinct mention is resolved once,
    case-insensitively); unresolved ones stay plain text. Hashtags link to `tag_url(name)`
    with the lowercased name. http(s) URLs become links whose text is shortened the way
    Mastodon does it (`<span class="invisible">https://</span><span class="ellipsis">first
    30 characters</span><span class="invisible">rest</span>`). Everything else is escaped,
    and the result passes through the same nh3 allowlist as remote HTML, so URLs returned
    by the callbacks must be absolute http(s) URLs (others lose their href). Empty or
    whitespace-only text gives "". Exceptions raised by the callbacks propagate.
    """
    text = _prepare_text(text).strip()
    if not text:
        return ""
    mention_cache: dict[tuple[str, str | None], MentionTarget | None] = {}
    tag_cache: dict[str, str] = {}
    out = ["<p>"]
    pos = 0
    for start, end, kind, value in _scan(text):
        out.append(_text_html(text[pos:start]))
        if kind == "link":
            out.append(_link_html(value))
        elif kind == "tag":
            name = value.lower()
            if name not in tag_cache:
                tag_cache[name] = tag_url(name)
            out.append(_hashtag_html(value, tag_cache[name]))
        else:
            key = (value.username.lower(), value.domain)
            if key not in mention_cache:
                mention_cache[key] = resolve_mention(value)
            target = mention_cache[key]
            out.append(_text_html(text[start:end]) if target is None else _mention_html(target))
        pos = end
    out.append(_text_html(text[pos:]))
    out.append("</p>")
    markup = "".join(out)
    try:
        return _finish(_clean_rendered(markup))
    except BaseException as exc:  # noqa: BLE001 - see _reraise_unless_recoverable
        _reraise_unless_recoverable(exc)
        return _fallback_html(text)


# --------------------------------------------------------------------------------------------
# The allowlist

_TAGS = frozenset(
    {"p", "br", "a", "span", "strong", "em", "b", "i", "u", "del", "s", "code", "pre",
     "blockquote", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6"}
)
# Raw-text elements: their content is not markup, and is dropped along with them.
_RAW_TEXT = frozenset(
    {"script", "style", "xmp", "iframe", "noembed", "noframes", "noscript", "textarea", "title"}
)
_CLASSES = frozenset({"h-card", "u-url", "mention", "hashtag", "invisible", "ellipsis"})
_REL_TOKENS = frozenset({"nofollow", "noopener", "noreferrer", "tag", "me", "ugc"})
_LINK_REL = "nofollow noopener noreferrer"
_URL_SCHEMES = frozenset({"http", "https", "mailto"})
_ATTRIBUTES = {
    "a": {"href", "class"},
    "span": {"class"},
    "ol": {"start", "reversed"},
    "li": {"value"},
}
_ATTRIBUTE_VALUES = {
    "a": {"target": {"_blank"}, "translate": {"no"}},
    "span": {"translate": {"no"}},
}

_HREF_INVISIBLE_RE = re.compile("[\t\n\r]")
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_SAFE_HREF_RE = re.compile(r"(?:https?|mailto):", re.IGNORECASE)
_INTEGER_RE = re.compile(r"[+-]?[0-9]{1,9}")


def _filter_tokens(value: str, allowed: frozenset[str], *, fold: bool) -> str | None:
    kept: list[str] = []
    for token in value.split():
        if fold:
            token = token.lower()
        if token in allowed and token not in kept:
            kept.append(token)
    return " ".join(kept) or None


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    """nh3 callback. Must not raise: nh3 would report it as an unraisable exception."""
    try:
        if attr == "href":
            # What a browser does before parsing a URL: drop tabs and newlines, trim C0/space.
            url = _HREF_INVISIBLE_RE.sub("", value).strip(_C0_AND_SPACE)
            return url if _SAFE_HREF_RE.match(url) else None  # relative URLs dropped too
        if attr == "class":
            return _filter_tokens(value, _CLASSES, fold=False)
        if attr == "rel":
            return _filter_tokens(value, _REL_TOKENS, fold=True)
        if attr in ("start", "value"):
            value = value.strip()
            return value if _INTEGER_RE.fullmatch(value) else None
        if attr == "reversed":
            return ""
        return value
    except Exception:  # pragma: no cover - defensive
        return None


def _make_cleaner(**options: Any) -> Callable[[str], str]:
    if hasattr(nh3, "Cleaner"):  # nh3 >= 0.3: options validated and compiled once
        return nh3.Cleaner(**options).clean
    return functools.partial(nh3.clean, **options)


_COMMON_OPTIONS: dict[str, Any] = {
    "tags": set(_TAGS),
    "clean_content_tags": set(_RAW_TEXT),
    "attribute_filter": _attribute_filter,
    "strip_comments": True,
    "tag_attribute_values": _ATTRIBUTE_VALUES,
    "url_schemes": set(_URL_SCHEMES),
}
# Remote HTML: every link gets rel="nofollow noopener noreferrer", whatever it carried.
_clean_remote = _make_cleaner(attributes=_ATTRIBUTES, link_rel=_LINK_REL, **_COMMON_OPTIONS)
# Our own rendering: keep the rel we wrote (tag on hashtags, none on mentions), tokens filtered.
_clean_rendered = _make_cleaner(
    attributes={**_ATTRIBUTES, "a": _ATTRIBUTES["a"] | {"rel"}}, link_rel=None, **_COMMON_OPTIONS
)

_PRE_LEADING_NEWLINES_RE = re.compile(r"<pre>\n+")

# Character references. html.unescape raises ValueError on a decimal reference of more than
# 4,300 digits (int() conversion limit), so leading zeros go first and any reference still
# too long to be a code point becomes U+FFFD, as HTML says.
_DEC_LEADING_ZEROS_RE = re.compile(r"&#0++(?=[0-9])")
_HEX_LEADING_ZEROS_RE = re.compile(r"&#([xX])0++(?=[0-9a-fA-F])")
_DEC_ZEROS_RE = re.compile(r"&#0{2,}+")
_HEX_ZEROS_RE = re.compile(r"&#([xX])0{2,}+")
_DEC_HUGE_RE = re.compile(r"&#[0-9]{8,}+;?")
_HEX_HUGE_RE = re.compile(r"&#[xX][0-9a-fA-F]{7,}+;?")
_ATTR_REF_RE = re.compile(r"&(?:#[0-9]++;?|#[xX][0-9a-fA-F]++;?|[A-Za-z][A-Za-z0-9]*+;)")
_HTML5_ENTITIES = _html_entities.html5


def _defuse_numeric_refs(text: str) -> str:
    text = _DEC_LEADING_ZEROS_RE.sub("&#", text)
    text = _HEX_LEADING_ZEROS_RE.sub(r"&#\1", text)
    text = _DEC_ZEROS_RE.sub("&#0", text)
    text = _HEX_ZEROS_RE.sub(r"&#\g<1>0", text)
    text = _DEC_HUGE_RE.sub("\ufffd", text)
    return _HEX_HUGE_RE.sub("\ufffd", text)


def _unescape_text(text: str) -> str:
    """Character references in text decoded as HTML does (html.unescape, made safe)."""
    if "&" not in text:
        return text
    if "&#" in text:
        text = _defuse_numeric_refs(text)
    return _html.unescape(text)


def _attr_ref(m: re.Match[str]) -> str:
    ref = m.group()
    if ref[1] == "#":
        return _unescape_text(ref)
    return _HTML5_ENTITIES.get(ref[1:], ref)


def _unescape_attribute(value: str) -> str:
    """Character references in an attribute value. Unlike text, a named reference without
    its semicolon stays literal (HTML keeps '&copy=2' in 'x?a=1&copy=2' in most cases)."""
    return _ATTR_REF_RE.sub(_attr_ref, value) if "&" in value else value


def _finish(cleaned: str) -> str:
    """Make nh3's output a fixed point of sanitize_html: html5ever decodes &#13; to a raw CR
    (which the next parse would turn into LF), and drops one newline right after <pre> that
    its serialiser does not write back."""
    if "\r" in cleaned:
        cleaned = cleaned.replace("\r", "\n")
    if "<pre>\n" in cleaned:
        cleaned = _PRE_LEADING_NEWLINES_RE.sub("<pre>", cleaned)
    return cleaned


def _reraise_unless_recoverable(exc: BaseException) -> None:
    # A Rust panic inside nh3 surfaces as pyo3's PanicException, a BaseException.
    if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
        raise exc


# --------------------------------------------------------------------------------------------
# Remote HTML: a linear normalising pass, then nh3

_MARKUP_START_RE = re.compile(r"<[A-Za-z/!?]")
_TAG_RE = re.compile(
    r"<(/?)([A-Za-z][^\t\n\f\r />]*+)"
    r"((?:[^>=]++|=[\t\n\f\r ]*+(?:\"[^\"]*+\"?|'[^']*+'?|))*+)"
    r"(>?)"
)
_ATTR_RE = re.compile(
    r"([^\t\n\f\r />][^\t\n\f\r />=]*+)"
    r"(?:[\t\n\f\r ]*+=[\t\n\f\r ]*+(\"[^\"]*+\"?|'[^']*+'?|[^\t\n\f\r >]*+))?"
)
_COMMENT_END_RE = re.compile(r"--!?>")
_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_RAW_TEXT_END_RE = {
    name: re.compile(rf"</{name}[\t\n\f\r />]", re.IGNORECASE) for name in _RAW_TEXT
}
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_CLOSES_P = frozenset({"p", "ul", "ol", "pre", "blockquote"}) | _HEADINGS
# HTML's "special" elements that stop the search for an open <li> (p excepted).
_STOPS_LI_SEARCH = frozenset({"blockquote", "ol", "ul", "pre"}) | _HEADINGS
_KEPT_ATTRIBUTES = {
    "a": frozenset({"href", "class", "target", "translate"}),
    "span": frozenset({"class", "translate"}),
    "ol": frozenset({"start", "reversed"}),
    "li": frozenset({"value"}),
}


class _Normaliser:
    """Rewrites arbitrary HTML into a stream html5ever parses in linear time.

    Only allowlisted tags survive, with only the attributes nh3 may keep (first occurrence
    wins, as in HTML). Elements are closed explicitly wherever HTML would close them
    implicitly (a new paragraph or block closes an open <p>, a new <li> closes the open
    <li>, a new <a> closes the open <a>, an end tag closes what is open inside it), so no
    formatting element is ever left for the parser to re-open; nesting is capped; comments,
    doctypes and raw-text elements (script, style, ...) are dropped; a '<' in text is
    escaped, so nothing dropped can splice a new tag together. The output still goes through
    nh3: this pass bounds cost and need not be a faithful HTML parser.
    """

    def __init__(self) -> None:
        self.out: list[str] = []
        self.stack: list[str] = []
        self.open: dict[str, int] = {}
        self.start_tags = 0

    def run(self, s: str) -> str:
        out = self.out
        n = len(s)
        pos = 0
        items = 0
        while pos < n:
            m = _MARKUP_START_RE.search(s, pos)
            if m is None:
                out.append(_text_out(s[pos:]))
                break
            i = m.start()
            if i > pos:
                out.append(_text_out(s[pos:i]))
            items += 1
            if items > 4 * MAX_TAGS:
                break
            pos = self._markup(s, i)
            if pos < 0:  # one start tag too many
                break
        for name in reversed(self.stack):
            out.append(f"</{name}>")
        return "".join(out)

    def _markup(self, s: str, i: int) -> int:
        """Handle the markup starting at s[i] ('<' and one of letter / ! ?); return the
        position after it (len(s) if it runs to the end, which drops it, as HTML does), or
        -1 if it is a start tag beyond MAX_TAGS."""
        n = len(s)
        nxt = s[i + 1]
        if nxt == "!" and s.startswith("<!--", i):
            if s.startswith(">", i + 4):
                return i + 5
            if s.startswith("->", i + 4):
                return i + 6
            end = _COMMENT_END_RE.search(s, i + 4)
            return n if end is None else end.end()
        if nxt in "!?" or (nxt == "/" and s[i + 2 : i + 3] not in _ASCII_LETTERS):
            end = s.find(">", i + 2)  # bogus comment, doctype, CDATA, processing instruction
            return n if end < 0 else end + 1
        m = _TAG_RE.match(s, i)  # always matches: '<' or '</' then a letter
        if m is None or not m.group(4):
            return n  # EOF inside a tag: HTML drops it
        raw_name = m.group(2)
        name = raw_name.lower() if raw_name.isascii() else ""
        if not m.group(1) or name == "br":  # </br> is a <br>
            self.start_tags += 1
            if self.start_tags > MAX_TAGS:
                return -1
        if m.group(1):
            self._end_tag(name)
            return m.end()
        if name in _RAW_TEXT:
            close = _RAW_TEXT_END_RE[name].search(s, m.end())
            if close is None:
                return n
            end = s.find(">", close.end() - 1)
            return n if end < 0 else end + 1
        if name == "plaintext":
            self.out.append(_text_out(s[m.end() :]))
            return n
        self._start_tag(name, m.group(3))
        return m.end()

    def _close_to(self, name: str) -> None:
        stack, opened = self.stack, self.open
        while stack:
            top = stack.pop()
            opened[top] -= 1
            self.out.append(f"</{top}>")
            if top == name:
                return

    def _start_tag(self, name: str, attributes: str) -> None:
        if name == "br":
            self.out.append("<br>")
            return
        if name not in _TAGS:
            return  # unwrapped: the tag goes, its content stays
        opened = self.open
        if name == "li":
            for node in reversed(self.stack):
                if node == "li":
                    self._close_to("li")
                    break
                if node in _STOPS_LI_SEARCH:
                    break
        if (name in _CLOSES_P or name == "li") and opened.get("p"):
            self._close_to("p")
        if name in _HEADINGS and self.stack and self.stack[-1] in _HEADINGS:
            self._close_to(self.stack[-1])
        if name == "a" and opened.get("a"):
            self._close_to("a")
        if len(self.stack) >= MAX_NESTING:
            return
        self.out.append(f"<{name}{self._attributes(name, attributes)}>")
        self.stack.append(name)
        opened[name] = opened.get(name, 0) + 1

    def _end_tag(self, name: str) -> None:
        if name == "br":  # HTML treats </br> as <br>
            self.out.append("<br>")
        elif self.open.get(name):
            self._close_to(name)
        elif name in _HEADINGS:  # any heading end tag closes the open heading
            for node in reversed(self.stack):
                if node in _HEADINGS:
                    self._close_to(node)
                    break

    @staticmethod
    def _attributes(name: str, attributes: str) -> str:
        wanted = _KEPT_ATTRIBUTES.get(name)
        if not wanted or not attributes:
            return ""
        found: dict[str, str] = {}
        for m in itertools.islice(_ATTR_RE.finditer(attributes), _MAX_ATTRIBUTES_SCANNED):
            attr = m.group(1).lower()
            if attr in wanted and attr not in found:
                value = m.group(2) or ""
                if value[:1] in ("'", '"'):
                    quote = value[0]
                    value = value[1:-1] if len(value) > 1 and value[-1] == quote else value[1:]
                value = _unescape_attribute(value)
                if len(value) <= _MAX_ATTRIBUTE_CHARS:
                    found[attr] = _esc(value)
        return "".join(f' {attr}="{value}"' for attr, value in found.items())


def _text_out(raw: str) -> str:
    """Text between tags, decoded and re-escaped so that nothing in it is markup."""
    text = _unescape_text(raw)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _esc_chunked(text)


def _normalise_markup(s: str) -> str:
    return _Normaliser().run(s)


def sanitize_html(html: str) -> str:
    """HTML from a remote server, made safe to store and show.

    Keeps the allowlisted tags (see the module docstring) and drops the rest, keeping their
    text; removes script, style, iframe and other raw-text elements with their content;
    keeps href only for absolute http, https and mailto URLs; gives every link
    rel="nofollow noopener noreferrer"; keeps only allowlisted classes. Input longer than
    `MAX_INPUT_CHARS` characters is truncated (not rejected), and see `MAX_TAGS` and
    `MAX_NESTING`. Never raises on str input; if sanitising fails, returns the text with
    all markup stripped, escaped. Applying it to its own output changes nothing (as long as
    that output is within `MAX_INPUT_CHARS`: escaping can make it longer than the input).
    """
    html = _prepare_html(html)
    if not html:
        return ""
    try:
        return _finish(_clean_remote(_normalise_markup(html)))
    except BaseException as exc:  # noqa: BLE001 - see _reraise_unless_recoverable
        _reraise_unless_recoverable(exc)
        return _fallback_html(_markup_to_text_fast(html))


# --------------------------------------------------------------------------------------------
# HTML to plain text

_BLOCKS = frozenset({"p", "blockquote", "pre", "ul", "ol"}) | _HEADINGS
_HTML_WHITESPACE_RE = re.compile(r"[ \t\n\r\f]+")
_EXTRA_NEWLINES_RE = re.compile(r"\n{3,}")
# A tag in sanitize_html's output: html5ever writes every attribute value in double quotes.
_CLEAN_TAG_RE = re.compile(r'<(/?)([A-Za-z][A-Za-z0-9]*+)(?:[^>"]++|"[^"]*+")*+>')


def _unescape_clean(text: str) -> str:
    """Text of sanitize_html's output. html5ever escapes only &, <, > and U+00A0 in text;
    the fallback path writes &#38; &#60; &#62;. '&amp;' goes last so '&amp;lt;' stays '&lt;'."""
    if "&" not in text:
        return text
    for ref, char in (("&lt;", "<"), ("&gt;", ">"), ("&nbsp;", "\xa0"), ("&quot;", '"'),
                      ("&#60;", "<"), ("&#62;", ">"), ("&#34;", '"'), ("&#38;", "&")):
        if ref in text:
            text = text.replace(ref, char)
    return text.replace("&amp;", "&")


class _TextBuilder:
    """Blocks become paragraphs; <br> and <li> start lines; whitespace collapses outside <pre>."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pending = 0  # newlines owed before the next text
        self.in_pre = 0

    def tag(self, name: str, closing: bool) -> None:
        if name == "br":
            if not closing:
                self.pending += 1
        elif name in _BLOCKS:
            self.pending = max(self.pending, 2)
            if name == "pre":
                self.in_pre = max(0, self.in_pre - 1) if closing else self.in_pre + 1
        elif name == "li":
            self.pending = max(self.pending, 1)

    def data(self, data: str) -> None:
        parts = self.parts
        data = _unescape_clean(data)
        if not self.in_pre:
            data = _HTML_WHITESPACE_RE.sub(" ", data)
            if self.pending or not parts or parts[-1].endswith((" ", "\n")):
                data = data.lstrip(" ")
        if not data:
            return
        if self.pending:
            if parts:
                parts[-1] = parts[-1].rstrip(" ")
                parts.append("\n" * self.pending)
            self.pending = 0
        parts.append(data)

    def text(self) -> str:
        return _EXTRA_NEWLINES_RE.sub("\n\n", "".join(self.parts)).strip()


def html_to_text(html: str) -> str:
    """Plain text of (remote or rendered) HTML, for search, notifications and previews.

    The HTML is sanitised first (so script and style content is gone and the limits of
    `sanitize_html` apply), then: tags stripped, entities decoded, paragraphs and other
    blocks separated by a blank line, <br> and list items on lines of their own, other
    whitespace collapsed (kept inside <pre>). The result is text, not HTML: escape it before
    putting it in a page. Never raises on str input.
    """
    cleaned = sanitize_html(html)
    if not cleaned:
        return ""
    builder = _TextBuilder()
    pos = 0
    for m in _CLEAN_TAG_RE.finditer(cleaned):
        if m.start() > pos:
            builder.data(cleaned[pos : m.start()])
        builder.tag(m.group(2).lower(), closing=bool(m.group(1)))
        pos = m.end()
    if pos < len(cleaned):
        builder.data(cleaned[pos:])
    return builder.text()


# --------------------------------------------------------------------------------------------
# Fallbacks: regex-only, linear, cannot fail

_FAST_BREAK_RE = re.compile(r"<br\b[^<>]*+>?|</?li\b[^<>]*+>?", re.IGNORECASE)
_FAST_BLOCK_RE = re.compile(
    r"</?(?:p|div|blockquote|pre|ul|ol|h[1-6]|table|tr)\b[^<>]*+>?", re.IGNORECASE
)
_FAST_MARKUP_RE = re.compile(r"<[A-Za-z/!?][^<>]*+>?")


def _markup_to_text_fast(markup: str) -> str:
    text = _FAST_BLOCK_RE.sub("\n\n", markup)
    text = _FAST_BREAK_RE.sub("\n", text)
    text = _FAST_MARKUP_RE.sub("", text)
    return _unescape_text(text)


def _fallback_html(text: str) -> str:
    try:
        text = _TEXT_CONTROL_RE.sub("", text.replace("\r", "\n")).strip()
        return f"<p>{_text_html(text, for_nh3=False)}</p>" if text else ""
    except Exception:  # pragma: no cover - defensive
        return ""
