"""HTML from elsewhere: pure functions, no I/O, no database.

- `sanitize_html(html)` makes HTML from a remote server safe to store and show.
- `html_to_text(html)` turns it, or HTML from `node.text.render`, into plain text (search,
  notifications, previews).
- `relink(html, hrefs)` points chosen links of such (stored) HTML elsewhere, for showing it.

Everything goes through one nh3 (ammonia) allowlist, this module's, which `node.text.render`
uses too: p, br, a, span, strong, em, b, i, u, del, s, code, pre, blockquote, ul, ol, li,
h1-h6; links only to http, https and mailto; classes only h-card, u-url, mention, hashtag,
invisible, ellipsis; script, style and the other raw-text elements are removed with their
content.

These functions sit on the inbox hot path, so their cost stays linear in the input (a
typical status takes a few hundred microseconds, a pathological megabyte about a second):

- Input longer than `MAX_INPUT_CHARS` characters is truncated to that length, never rejected.
- Remote HTML is first normalised by a small linear pass (`node.html_normaliser`) before nh3
  sees it, because nh3 is quadratic on some inputs; that pass stops after
  `node.html_normaliser.MAX_TAGS` start tags and unwraps elements nested deeper than
  `node.html_normaliser.MAX_NESTING`.

`sanitize_html` and `html_to_text` never raise on str input (lone surrogates, NUL, anything):
if nh3 fails, they fall back to the text with all markup stripped and escaped.
"""

from __future__ import annotations

import functools
import html as _html
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import nh3

from node.html_normaliser import (
    _HEADINGS,
    _RAW_TEXT,
    _TAGS,
    _esc_chunked,
    _esc_text,
    _normalise_markup,
    _unescape_text,
)

__all__ = [
    "MAX_INPUT_CHARS",
    "html_to_text",
    "relink",
    "sanitize_html",
]

MAX_INPUT_CHARS = 1_000_000
"""Longer input (text or HTML) is truncated to this many characters before processing."""

_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_TEXT_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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


# --------------------------------------------------------------------------------------------
# The allowlist (the tags themselves, _TAGS and _RAW_TEXT, are in node.html_normaliser)

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


# The last few outputs, returned as they are when given back: a stored note's HTML is sanitised
# on arrival and then again by `html_to_text` for the search index (a sixth of the sanitiser's
# cost on the inbound benchmark). Sound because sanitising is idempotent (see below; a property
# test checks it); only short outputs are kept, so this holds a few hundred KiB at most.
_RECENT: OrderedDict[str, None] = OrderedDict()
_RECENT_KEPT = 8
_RECENT_MAX_CHARS = 32_768


def _remember(cleaned: str) -> str:
    if len(cleaned) <= _RECENT_MAX_CHARS:
        _RECENT[cleaned] = None
        while len(_RECENT) > _RECENT_KEPT:
            try:
                _RECENT.popitem(last=False)
            except KeyError:  # emptied meanwhile by another thread
                break
    return cleaned


def sanitize_html(html: str) -> str:
    """HTML from a remote server, made safe to store and show.

    Keeps the allowlisted tags (see the module docstring) and drops the rest, keeping their
    text; removes script, style, iframe and other raw-text elements with their content;
    keeps href only for absolute http, https and mailto URLs; gives every link
    rel="nofollow noopener noreferrer"; keeps only allowlisted classes. Input longer than
    `MAX_INPUT_CHARS` characters is truncated (not rejected), and see `MAX_TAGS` and
    `MAX_NESTING` in `node.html_normaliser`. Never raises on str input; if sanitising fails,
    returns the text with all markup stripped, escaped. Applying it to its own output
    changes nothing (as long as that output is within `MAX_INPUT_CHARS`: escaping can make
    it longer than the input).
    """
    if html in _RECENT:
        return html
    cleaned = _sanitize(html)
    return _remember(cleaned) if cleaned else cleaned


def _sanitize(html: str) -> str:
    """`sanitize_html` without the memo of recent outputs."""
    html = _prepare_html(html)
    if not html:
        return ""
    try:
        return _finish(_clean_remote(_normalise_markup(html)))
    except BaseException as exc:  # noqa: BLE001 - see _reraise_unless_recoverable
        _reraise_unless_recoverable(exc)
        return _fallback_html(_markup_to_text_fast(html))


# --------------------------------------------------------------------------------------------
# Links pointed elsewhere

# An <a> start tag in sanitised output (html5ever writes every attribute value in double
# quotes and escapes '"' inside them, so a quote always delimits a value), and its href.
_CLEAN_A_TAG_RE = re.compile(r'<a\s(?:[^>"]++|"[^"]*+")*+>')
_HREF_ATTR_RE = re.compile(r'\shref="([^"]*+)"')
_TARGET_ATTR_RE = re.compile(r'\starget="[^"]*+"')


def relink(html: str, hrefs: Mapping[str, str]) -> str:
    """Stored HTML (sanitize_html's or node.text.render's output) with each link whose href
    is a key of `hrefs` pointing to its value instead, and opening in the same tab.

    For showing only: the stored HTML is what federation and the client API serve. A
    regular expression is enough (and cheap) because the input is html5ever's serialisation,
    whose shape is known; values of `hrefs` are escaped here."""
    if not hrefs or "<a" not in html:
        return html

    def one(m: re.Match[str]) -> str:
        tag = m.group(0)
        found = _HREF_ATTR_RE.search(tag)
        if found is None:
            return tag
        target = hrefs.get(_html.unescape(found.group(1)))
        if target is None:
            return tag
        tag = tag[: found.start()] + f' href="{_html.escape(target)}"' + tag[found.end() :]
        return _TARGET_ATTR_RE.sub("", tag)

    return _CLEAN_A_TAG_RE.sub(one, html)


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
_BLANK_LINES_RE = re.compile(r"\n(?:[ \t]*+\n)++")


def _markup_to_text_fast(markup: str) -> str:
    text = _FAST_BLOCK_RE.sub("\n\n", markup)
    text = _FAST_BREAK_RE.sub("\n", text)
    text = _FAST_MARKUP_RE.sub("", text)
    return _unescape_text(text)


def _text_html(segment: str, *, for_nh3: bool = True) -> str:
    """Escaped text; blank lines end a paragraph, single newlines become <br>."""
    escape = _esc_chunked if for_nh3 else _esc_text
    if "\n" not in segment:
        return escape(segment)
    return "</p><p>".join(
        "<br>".join(escape(line) for line in paragraph.split("\n"))
        for paragraph in _BLANK_LINES_RE.split(segment)
    )


def _fallback_html(text: str) -> str:
    try:
        text = _TEXT_CONTROL_RE.sub("", text.replace("\r", "\n")).strip()
        return f"<p>{_text_html(text, for_nh3=False)}</p>" if text else ""
    except Exception:  # pragma: no cover - defensive
        return ""

