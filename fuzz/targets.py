"""Fuzz targets: each takes raw bytes, feeds them to one parser the network (or an operator's
file) reaches, and returns normally when the parser answered as it promises — a value, or
its own documented refusal. Anything else (another exception, a crash) is a finding.

Shared by the coverage-guided atheris harnesses (fuzz/fuzz_*.py, run by fuzz/run.py) and the
seeded hypothesis properties in tests/fuzz/, so both exercise exactly the same contract.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from html.parser import HTMLParser

from cryptography.hazmat.primitives.asymmetric import rsa

from federation.jsonld import JsonLdRejected, normalize
from federation.parsing import InvalidActivity, ap_to_post, parse_activity, parse_actor
from federation.signatures import SignatureError, parse_signature, verify_request
from node.inbound import parse_body
from node.policy import parse_policy
from node.sanitize import html_to_text, sanitize_html

INBOX_URL = "https://node.example/inbox"


@cache
def _key() -> rsa.RSAPublicKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _headers(data: bytes) -> dict[str, str]:
    """Header values from the input: NUL-separated Signature, Signature-Input, Date, Digest,
    Host, Authorization (any may be missing or empty)."""
    names = ("Signature", "Signature-Input", "Date", "Digest", "Host", "Authorization")
    parts = data.split(b"\x00")
    return {name: part.decode("latin-1") for name, part in zip(names, parts, strict=False) if part}


def signature_header(data: bytes) -> None:
    """The signature-header parsers (draft-cavage and RFC 9421) and the verifier behind them:
    a ParsedSignature, or SignatureError; never anything else."""
    headers = _headers(data)
    try:
        parse_signature(headers)
    except SignatureError:
        return
    try:
        verify_request("POST", INBOX_URL, headers, b"{}", _key())
    except SignatureError:
        return
    raise AssertionError("a made-up signature verified")


def jsonld(data: bytes) -> None:
    """The JSON-LD normaliser: a normalised document, or JsonLdRejected."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return
    if not isinstance(doc, dict):
        return
    try:
        result = normalize(doc)
    except JsonLdRejected:
        return
    if not isinstance(result.document, dict):
        raise AssertionError("normalize returned a non-object")


def activitystreams(data: bytes) -> None:
    """The inbound body path and the ActivityStreams converters: parse_body, parse_activity,
    ap_to_post and parse_actor answer or raise InvalidActivity."""
    try:
        doc = parse_body(data)
        activity = parse_activity(doc)
    except InvalidActivity:
        return
    for convert in (ap_to_post, parse_actor):
        for candidate in (activity.object, doc):
            try:
                convert(candidate)
            except InvalidActivity:
                pass


SAFE_TAGS = frozenset({"p", "br", "a", "span", "strong", "em", "b", "i", "u", "del", "s", "code", "pre",
                       "blockquote", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "sub", "sup"})


class _Markup(HTMLParser):
    """What a browser would see in the sanitiser's output: tags and attributes that could run
    or load anything are findings."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in SAFE_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name in ("style", "srcdoc", "formaction"):
                self.problems.append(f"{tag}[{name}]")
            elif name == "href" and (value or "").partition(":")[0].lower() not in ("http", "https", "mailto"):
                self.problems.append(f"{tag}[href={value!r}]")


def html_sanitiser(data: bytes) -> None:
    """The HTML sanitiser never raises, and what it gives back has nothing that runs."""
    html = _text(data)
    clean = sanitize_html(html)
    html_to_text(html)
    markup = _Markup()
    markup.feed(clean)
    markup.close()
    if markup.problems:
        raise AssertionError(f"unsafe output {markup.problems}: {clean[:200]!r}")


def policy_parser(data: bytes) -> None:
    """The trust-policy parser: a policy or a list of problems, never an exception; a parsed
    policy answers decisions without raising."""
    policy, problems = parse_policy(_text(data))
    if policy is None:
        if not problems:
            raise AssertionError("no policy and no problem")
        return
    for domain in ("peer.example", "", "xn--nxasmq6b.example:8443"):
        policy.inbound(domain)
        for visibility in ("public", "followers", "direct", "organization", "local"):
            policy.outbound(visibility, domain, _text(data)[:500])


TARGETS: dict[str, Callable[[bytes], None]] = {
    "signature_header": signature_header,
    "jsonld": jsonld,
    "activitystreams": activitystreams,
    "html_sanitiser": html_sanitiser,
    "policy_parser": policy_parser,
}
