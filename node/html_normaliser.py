"""Remote HTML, before nh3: a linear pass that makes it cheap for nh3 to sanitise.

nh3 (ammonia on html5ever) is quadratic on some inputs: deep nesting (`<div>` x 100k), many
attributes on one tag, unclosed formatting elements that the parser re-opens in every later
paragraph (an 800 kB input took 27 s and produced 370 MB), long text nodes full of '&' or
U+00A0. `_normalise_markup` (the `_Normaliser` pass) keeps only allowlisted tags and
attributes, closes elements where HTML would close them implicitly (so nothing is ever
re-opened), caps nesting at `MAX_NESTING` (deeper tags are unwrapped, their text kept),
splits long text with empty comments that nh3 strips, drops attribute values over 4,096
characters and stops after `MAX_TAGS` start tags (or four times as many tags and comments of
any kind): the rest of the document is dropped.

Also here, because the pass needs them and `node.sanitize` and `node.text` share them: the
allowlisted elements, escaping, and the decoding of character references.
"""

from __future__ import annotations

import html as _html
import html.entities as _html_entities
import itertools
import re

__all__ = ["MAX_NESTING", "MAX_TAGS"]

MAX_TAGS = 10_000
"""Remote HTML: the document is cut before start tag number MAX_TAGS + 1 (or before markup
item 4 * MAX_TAGS + 1, counting end tags and comments too). Output never exceeds either, so
sanitising it again cuts nothing."""

MAX_NESTING = 100
"""Remote HTML: allowlisted elements nested deeper than this are unwrapped (text kept)."""

_MAX_ATTRIBUTES_SCANNED = 256  # per tag; later attributes are ignored
_MAX_ATTRIBUTE_CHARS = 4096  # a longer attribute value (say a 5 kB href) is dropped


# --------------------------------------------------------------------------------------------
# Elements: the tag allowlist (nh3's too, see node.sanitize)

_TAGS = frozenset(
    {"p", "br", "a", "span", "strong", "em", "b", "i", "u", "del", "s", "code", "pre",
     "blockquote", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6"}
)
# Raw-text elements: their content is not markup, and is dropped along with them.
_RAW_TEXT = frozenset(
    {"script", "style", "xmp", "iframe", "noembed", "noframes", "noscript", "textarea", "title"}
)
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})


# --------------------------------------------------------------------------------------------
# Escaping


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


# --------------------------------------------------------------------------------------------
# Character references

# html.unescape raises ValueError on a decimal reference of more than
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


# --------------------------------------------------------------------------------------------
# The normalising pass

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
            gt = s.find(">", i + 2)  # bogus comment, doctype, CDATA, processing instruction
            return n if gt < 0 else gt + 1
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
            gt = s.find(">", close.end() - 1)
            return n if gt < 0 else gt + 1
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
