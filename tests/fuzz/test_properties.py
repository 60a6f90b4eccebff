"""Seeded property tests over the same targets the atheris fuzzers run (fuzz/targets.py):
no crash, only the parser's own refusal, on random and on structured hostile input.

Seeded (derandomize=True) and bounded (max_examples) so CI is repeatable and short; the
coverage-guided search runs on demand: `python fuzz/run.py --seconds 600 TARGET`.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz import targets

SEEDED = settings(derandomize=True, max_examples=100, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# --- signature headers -----------------------------------------------------------------

_TOKENS = st.sampled_from([
    "keyId", "algorithm", "headers", "signature", "created", "expires", "rsa-sha256", "hs2019", "hmac-sha256",
    "ed25519", "(request-target)", "host", "date", "digest", "sig1", "keyid", "alg", '"@method"', '"@target-uri"',
    '"content-digest"', "=", ",", ";", '"', "(", ")", " ", "\\", ":", "AAAA", "==", "\t", "\r\n", "", "é", "\x00",
    "https://peer.example/users/a#main-key", "1764064800", "-1", "99999999999999999999",
])


@st.composite
def _header_values(draw: st.DrawFn) -> bytes:
    fields = draw(st.lists(st.lists(_TOKENS, max_size=30).map("".join), min_size=1, max_size=6))
    return "\x00".join(fields).encode("utf-8", "replace")


@SEEDED
@given(st.one_of(_header_values(), st.binary(max_size=2048)))
def test_signature_headers_parse_or_are_refused(data: bytes) -> None:
    targets.signature_header(data)


# --- JSON-LD and ActivityStreams -------------------------------------------------------

_KEYS = st.sampled_from([
    "@context", "@id", "@type", "@graph", "@reverse", "@included", "@vocab", "@list", "@set", "@value",
    "@language", "@base", "@protected", "@nest", "id", "type", "actor", "object", "to", "cc", "content", "name",
    "summary", "attributedTo", "inReplyTo", "tag", "attachment", "href", "url", "publicKey", "publicKeyPem",
    "owner", "preferredUsername", "inbox", "endpoints", "sharedInbox", "published", "audience_scope", "x",
])
_STRINGS = st.sampled_from([
    "https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1", "https://evil.example/ctx",
    "as:Public", "Public", "https://www.w3.org/ns/activitystreams#Public", "Create", "Note", "Person", "Like",
    "Announce", "Undo", "Delete", "Update", "Follow", "Mention", "Hashtag", "https://a.example/users/a",
    "https://a.example/users/a/notes/1", "http://127.0.0.1:1u1/x", "http://[::1/x", "javascript:alert(1)",
    "<script>x()</script>", "2026-11-25T10:00:00Z", "not a date", "", "@id", "@type", "xsd:string",
]) | st.text(max_size=20)
_JSON: Any = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _STRINGS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_KEYS, inner, max_size=6),
    max_leaves=40,
)


def _document(value: Any) -> bytes:
    return json.dumps(value).encode()


@SEEDED
@given(st.dictionaries(_KEYS, _JSON, max_size=8).map(_document) | st.binary(max_size=1024))
def test_jsonld_normalises_or_rejects(data: bytes) -> None:
    targets.jsonld(data)


_ACTIVITY = st.fixed_dictionaries(
    {"@context": st.sampled_from(["https://www.w3.org/ns/activitystreams",
                                  ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"]]),
     "id": _STRINGS, "type": _STRINGS, "actor": _STRINGS | _JSON},
    optional={"object": _JSON | st.dictionaries(_KEYS, _JSON, max_size=8), "to": _JSON, "cc": _JSON,
              "@graph": _JSON, "@reverse": _JSON, "@included": _JSON},
)


@SEEDED
@given(_ACTIVITY.map(_document) | st.dictionaries(_KEYS, _JSON, max_size=8).map(_document) | st.binary(max_size=512))
def test_activitystreams_converters_answer_or_refuse(data: bytes) -> None:
    targets.activitystreams(data)


# --- HTML sanitiser ----------------------------------------------------------------------

_HTML_TOKENS = st.sampled_from([
    "<p>", "</p>", "<a href=\"", "\">", "</a>", "<script>", "</script>", "<img src=x onerror=", "<svg", "<math>",
    "<style>", "<!--", "-->", "<![CDATA[", "]]>", "&lt;", "&#x3C;", "&#0;", "javascript:", "jav\tascript:",
    "java&#x09;script:", "<br>", "<pre>", "\r\n", "<b>", "<i>", "</b>", "</i>", "<blockquote>", "<ul><li>",
    "<iframe srcdoc=", "<noscript>", "<template>", "<textarea>", "</textarea>", " style=", "'", "\"", "=", ">",
    "<", "x", "é", "\x00", "\ufeff", "<a href=https://x.example class=\"mention u-url\">", "<span class=\"h-card\">",
])


@SEEDED
@given(st.lists(_HTML_TOKENS, max_size=60).map("".join).map(str.encode) | st.binary(max_size=2048))
def test_the_sanitiser_never_raises_and_leaves_nothing_that_runs(data: bytes) -> None:
    targets.html_sanitiser(data)


# --- trust policy ------------------------------------------------------------------------

_POLICY_LINES = st.sampled_from([
    'mode = "allowlist"', 'mode = "open"', "mode = 3", 'default_trust = "public"', 'default_trust = "nope"',
    '[peers."sales.acme.example"]', '[peers."*.partner.example"]', "[peers]", 'trust = "organization"',
    'trust = "blocked"', "trust = 1", "reject_media = true", "[[rules]]", 'name = "dlp"',
    'pattern = "(?i)secret"', 'pattern = "(a+)+$"', 'pattern = "["', 'below = "organization"',
    'action = "reject"', 'action = "drop"', "x = [1, {a = 2}]", "[peers.\"a\".b]", '"', "=", "[", "]",
])


@SEEDED
@given(st.lists(_POLICY_LINES, max_size=20).map("\n".join).map(str.encode) | st.binary(max_size=1024))
def test_the_policy_parser_gives_a_policy_or_its_problems(data: bytes) -> None:
    targets.policy_parser(data)
