"""RFC 9421 HTTP Message Signatures (`Signature-Input` + `Signature`).

Built on http-message-signatures (pyauth), which constructs and checks the signature base
(derived components, field canonicalisation, strict parameters) and is *given* the algorithm,
refusing a signature whose `alg` says otherwise; its Structured Field parser, http-sf, reads
the headers. Two of its behaviours are replaced here:
- its created/expires checks read the wall clock with a 5 s tolerance; Atrium checks them
  against the caller's `now` and the node's window (`federation.signatures`), so the
  library's check is switched off;
- with several signatures it insists on a signed `tag`; we choose one label ourselves and
  hand the library only that signature.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import http_sf
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    MappingKeyResolver,
)
from http_message_signatures.algorithms import (
    ED25519,
    RSA_PSS_SHA512,
    RSA_V1_5_SHA256,
    HTTPSignatureAlgorithm,
)

from federation.sig_common import (
    BODY_METHODS,
    MAX_FIELD_LENGTH,
    Headers,
    SignatureError,
    as_utc,
    parse_dictionary,
    url_parts,
)

MAX_COVERED = 32

#: The RFC 9421 algorithms Atrium verifies, by registered name.
ALGORITHMS: dict[str, type[HTTPSignatureAlgorithm]] = {
    "rsa-v1_5-sha256": RSA_V1_5_SHA256,
    "rsa-pss-sha512": RSA_PSS_SHA512,
    "ed25519": ED25519,
}


@dataclass(frozen=True)
class Rfc9421Signature:
    """One signature of a request, as sent (nothing verified yet)."""

    label: str
    key_id: str
    algorithm: str | None
    #: Component names; a component with parameters is given in its serialised form.
    covered: tuple[str, ...]
    created: int | None
    expires: int | None
    #: `Signature-Input` and `Signature` reduced to this one label, serialised.
    input_field: str
    signature_field: str


def _parse_dictionary(value: str, name: str) -> dict[str, Any]:
    def duplicate(key: str, context: str) -> None:
        raise SignatureError(f"{name} header repeats {key}")

    parsed = parse_dictionary(value, name, duplicate)
    if not parsed:
        raise SignatureError(f"malformed {name} header")
    return parsed


def _timestamp(params: Mapping[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is not None and type(value) is not int:
        raise SignatureError(f"Signature-Input {name} is not an integer")
    return value


def parse(headers: Headers, label: str | None = None) -> Rfc9421Signature:
    """Read the signature labelled `label` (default: the first one) from the headers."""
    input_value = headers.get("signature-input") or ""
    signature_value = headers.get("signature")
    if signature_value is None:
        raise SignatureError("Signature-Input without a Signature header")
    if len(input_value) > MAX_FIELD_LENGTH or len(signature_value) > MAX_FIELD_LENGTH:
        raise SignatureError("signature headers are too long")
    inputs = _parse_dictionary(input_value, "Signature-Input")
    signatures = _parse_dictionary(signature_value, "Signature")
    if label is None:
        label = next(iter(inputs))
    if label not in inputs or label not in signatures:
        raise SignatureError(f"no signature labelled {label}")

    members, params = inputs[label]
    if not isinstance(members, list):
        raise SignatureError("Signature-Input member is not a list of components")
    if len(members) > MAX_COVERED:
        raise SignatureError("signature covers too many components")
    covered = []
    for item, item_params in members:
        if not isinstance(item, str):
            raise SignatureError("Signature-Input component is not a string")
        covered.append(http_sf.ser((item, item_params)) if item_params else item)
    key_id = params.get("keyid")
    if not isinstance(key_id, str) or not key_id:
        raise SignatureError("Signature-Input has no keyid")
    algorithm = params.get("alg")
    if algorithm is not None and not isinstance(algorithm, str):
        raise SignatureError("Signature-Input alg is not a string")

    signature, _ = signatures[label]
    if not isinstance(signature, bytes) or not signature:
        raise SignatureError("Signature member is not a byte sequence")
    try:
        input_field = http_sf.ser({label: inputs[label]})
        signature_field = http_sf.ser({label: signatures[label]})
    except Exception as exc:  # re-serialising what http-sf itself parsed; defensive
        raise SignatureError("malformed signature headers") from exc
    return Rfc9421Signature(
        label=label,
        key_id=key_id,
        algorithm=algorithm.lower() if algorithm else None,
        covered=tuple(covered),
        created=_timestamp(params, "created"),
        expires=_timestamp(params, "expires"),
        input_field=input_field,
        signature_field=signature_field,
    )


class _Fields:
    """Header field lines in the shape the library reads (`items()`, repeated names kept)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def items(self) -> Iterator[tuple[str, str]]:
        return iter(self._pairs)


@dataclass
class _Request:
    """The request view the library resolves components from."""

    method: str
    url: str
    headers: Any


class _Verifier(HTTPMessageVerifier):
    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        """Disabled: `federation.signatures` checks created/expires against the caller's clock."""


def verify(
    parsed: Rfc9421Signature,
    *,
    method: str,
    url: str,
    headers: Headers,
    public_key: rsa.RSAPublicKey | ed25519.Ed25519PublicKey,
    algorithm: str,
) -> None:
    """Check `parsed`'s signature over the request with `algorithm` (already pinned to the key
    type by the caller). Checks no time window and no coverage policy."""
    pairs = [
        (name, value)
        for name, value in headers.pairs()
        if name.strip().lower() not in ("signature-input", "signature")
    ]
    pairs += [("Signature-Input", parsed.input_field), ("Signature", parsed.signature_field)]
    verifier = _Verifier(
        signature_algorithm=ALGORITHMS[algorithm],
        key_resolver=MappingKeyResolver(public_keys={parsed.key_id: public_key}, private_keys={}),
    )
    try:
        verifier.verify(_Request(method.upper(), url, _Fields(pairs)), max_age=None)
    except HTTPMessageSignaturesException as exc:
        detail = str(exc)
        raise SignatureError(
            "signature does not verify" + (f": {detail}" if detail else "")
        ) from exc
    # The library turns its own failures into the exception above; anything else escaping a
    # third-party verifier on hostile input is still a refusal, never a crash or a pass.
    except Exception as exc:
        raise SignatureError("signature does not verify") from exc


def sign(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    key_id: str,
    private_key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey,
    now: datetime | None = None,
    *,
    label: str = "sig1",
) -> dict[str, str]:
    """Sign an outgoing request the RFC 9421 way (`rsa-v1_5-sha256` or `ed25519`, by key type).

    Covers `@method`, `@target-uri` and, when there is a body (or for POST, PUT and PATCH),
    `content-digest`, with `created` and `keyid`; returns `headers` with Content-Digest,
    Signature-Input and Signature set. (`federation.signatures.sign_request_rfc9421`.)
    """
    method = method.upper()
    url_parts(url)
    if body is None and method in BODY_METHODS:
        body = b""
    if isinstance(private_key, rsa.RSAPrivateKey):
        algorithm: type[HTTPSignatureAlgorithm] = RSA_V1_5_SHA256
    elif isinstance(private_key, ed25519.Ed25519PrivateKey):
        algorithm = ED25519
    else:
        raise TypeError("RFC 9421 signing needs an RSA or Ed25519 private key")
    replaced = {"content-digest", "signature-input", "signature"}
    fields = {name: value for name, value in headers.items() if name.lower() not in replaced}
    message = _Request(method, url, fields)
    signer = HTTPMessageSigner(
        signature_algorithm=algorithm,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={key_id: private_key}),
    )
    signer.sign(
        message,
        key_id=key_id,
        created=as_utc(now),
        label=label,
        covered_component_ids=("@method", "@authority", "@path", *(("@query",) if urlsplit(url).query else ())),
        body=body,
    )
    return fields
