"""Post text to HTML: pure functions, no I/O, no database.

- `parse(text)` finds the mentions, hashtags and links in a post's plain text.
- `render(text, resolve_mention=..., tag_url=...)` turns that text into sanitised HTML in the
  markup Mastodon produces (h-card mentions, hashtag links, shortened link text).

The HTML goes through the same nh3 allowlist as remote HTML (see `node.sanitize`, whose
`html_to_text` turns it back into plain text). Text longer than
`node.sanitize.MAX_INPUT_CHARS` characters is truncated to that length, never rejected. The
plain-text tokeniser uses possessive quantifiers, so each character is scanned a bounded
number of times, and links at most `MAX_TEXT_ENTITIES` mentions, tags and links.

`render` never raises on str input (lone surrogates, NUL, anything): if nh3 fails, it falls
back to the text escaped. It does let exceptions from its own callbacks propagate.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import idna

from node.html_normaliser import _esc
from node.sanitize import (
    _TEXT_CONTROL_RE,
    _clean_rendered,
    _fallback_html,
    _finish,
    _prepare,
    _reraise_unless_recoverable,
    _text_html,
)

__all__ = [
    "MAX_TEXT_ENTITIES",
    "MentionRef",
    "MentionTarget",
    "ParsedText",
    "parse",
    "render",
]

MAX_TEXT_ENTITIES = 2_000
"""Plain text: mentions, hashtags and links after this many (occurrences) stay plain text."""


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
_TAG_NAME_RE = re.compile(rf"\w[{_W}]*+")


def is_tag_name(name: str) -> bool:
    """Could `name` (without its `#`) be a hashtag a post carries?"""
    return 0 < len(name) <= 255 and _TAG_NAME_RE.fullmatch(name) is not None

# Characters that end a sentence rather than a URL.
_URL_TRAILING = ".,:;!?'\"*…‥。、，！？：；’”»›"
_URL_CLOSERS = {")": "(", "]": "[", "}": "{"}
_URL_PREFIX_RE = re.compile(r"(?i)https?://(?:www\.)?")
_LINK_DISPLAY_CHARS = 30
_ASCII_HOST_RE = re.compile(r"[a-z0-9\-._~!$&'()*+,;=]++|[0-9a-f:.]++")


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
        # A browser (WHATWG URL, as nh3) ends an http(s) host at a backslash as at a slash;
        # urlsplit does not, and would judge another host ('http://a\@b' is host a, not b).
        parts = urlsplit(url.replace("\\", "/"))
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
