"""HTTP signatures: signing, parsing, verification policy, published vectors, refusals."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict

from federation import sig_cavage, sig_rfc9421
from federation.digest import verify_content_digest, verify_digest
from federation.sig_common import Headers
from federation.signatures import (
    SignatureError,
    VerifiedSignature,
    load_public_key_pem,
    parse_signature,
    sign_request,
    sign_request_rfc9421,
    verify_request,
)

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
KEY_ID = "https://a.example/users/alice#main-key"
INBOX = "https://b.example/inbox"
BODY = b'{"type": "Create", "actor": "https://a.example/users/alice"}'


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ed_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def public_pem(key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def cavage_headers(
    key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey,
    covered: list[str],
    headers: dict[str, str],
    *,
    method: str = "POST",
    target: str = "/inbox",
    algorithm: str | None = "rsa-sha256",
    created: str | None = None,
) -> dict[str, str]:
    """Hand-made draft-cavage signature, for cases `sign_request` deliberately cannot make."""
    data = sig_cavage.signing_string(
        covered, method=method, request_target=target, headers=Headers(headers), created=created
    )
    if isinstance(key, rsa.RSAPrivateKey):
        signature = sig_cavage.sign_rsa_sha256(key, data)
    else:
        signature = base64.b64encode(key.sign(data)).decode()
    params = [f'keyId="{KEY_ID}"']
    if algorithm is not None:
        params.append(f'algorithm="{algorithm}"')
    if created is not None:
        params.append(f"created={created}")
    params += [f'headers="{" ".join(covered)}"', f'signature="{signature}"']
    return {**headers, "Signature": ",".join(params)}


def base_headers(body: bytes | None = BODY) -> dict[str, str]:
    headers = {"Host": "b.example", "Date": "Sat, 01 Mar 2025 12:00:00 GMT"}
    if body is not None:
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        headers["Digest"] = f"SHA-256={digest}"
    return headers


def refused(reason_part: str, *args: object, **kwargs: object) -> SignatureError:
    with pytest.raises(SignatureError) as caught:
        verify_request(*args, **kwargs)  # type: ignore[arg-type]
    assert reason_part in caught.value.reason
    assert caught.value.status == 401
    return caught.value


# --- sign → verify round trips ---------------------------------------------------------


def test_cavage_post_round_trip(rsa_key: rsa.RSAPrivateKey) -> None:
    # Given a POST signed the draft-cavage way
    headers = sign_request(
        "POST", INBOX, {"Content-Type": "application/activity+json"}, BODY, KEY_ID, rsa_key, NOW
    )
    # Then it carries Host, Date, Digest and a Signature over the four Mastodon expects
    assert headers["Host"] == "b.example"
    assert headers["Date"] == "Sat, 01 Mar 2025 12:00:00 GMT"
    assert (
        headers["Digest"] == "SHA-256=" + base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    )
    assert 'headers="(request-target) host date digest"' in headers["Signature"]
    assert 'algorithm="rsa-sha256"' in headers["Signature"]
    # When the receiver verifies it, from the raw path or from the full URL
    for target in ("/inbox", INBOX):
        verified = verify_request("POST", target, headers, BODY, rsa_key.public_key(), now=NOW)
        # Then the signer and what was covered come back
        assert verified == VerifiedSignature(
            key_id=KEY_ID,
            scheme="cavage",
            algorithm="rsa-sha256",
            covered=("(request-target)", "host", "date", "digest"),
            created=NOW,
        )


def test_cavage_get_round_trip(rsa_key: rsa.RSAPrivateKey) -> None:
    # Given a signed GET with an Accept header and a query
    url = "https://b.example:443/users/bob?page=2"
    headers = sign_request(
        "GET", url, {"Accept": "application/activity+json"}, None, KEY_ID, rsa_key, NOW
    )
    # Then no Digest is sent, the default port is dropped from Host, and accept is covered
    assert "Digest" not in headers
    assert headers["Host"] == "b.example"
    # When it is verified from its raw path and query
    verified = verify_request(
        "GET", "/users/bob?page=2", headers, None, rsa_key.public_key(), now=NOW
    )
    # Then it passes, covering (request-target) host date accept
    assert verified.covered == ("(request-target)", "host", "date", "accept")


def test_cavage_signature_in_authorization_header(rsa_key: rsa.RSAPrivateKey) -> None:
    # Given the signature moved to `Authorization: Signature ...`
    headers = sign_request("POST", INBOX, {}, BODY, KEY_ID, rsa_key, NOW)
    headers["Authorization"] = "Signature " + headers.pop("Signature")
    # When it is parsed and verified
    # Then both work as with the Signature header
    assert parse_signature(headers).key_id == KEY_ID
    assert (
        verify_request("POST", "/inbox", headers, BODY, rsa_key.public_key(), now=NOW).key_id
        == KEY_ID
    )


def test_rfc9421_rsa_round_trip(rsa_key: rsa.RSAPrivateKey) -> None:
    # Given a POST signed the RFC 9421 way with an RSA key
    headers = sign_request_rfc9421(
        "POST", INBOX, {"Content-Type": "application/activity+json"}, BODY, KEY_ID, rsa_key, NOW
    )
    # Then it carries Content-Digest and names rsa-v1_5-sha256
    assert headers["Content-Digest"].startswith("sha-256=:")
    assert 'alg="rsa-v1_5-sha256"' in headers["Signature-Input"]
    # When it is verified
    verified = verify_request("POST", INBOX, headers, BODY, rsa_key.public_key(), now=NOW)
    # Then it passes with the components and created time signed
    assert verified == VerifiedSignature(
        key_id=KEY_ID,
        scheme="rfc9421",
        algorithm="rsa-v1_5-sha256",
        covered=("@method", "@authority", "@path", "content-digest"),
        created=NOW,
    )


def test_rfc9421_ed25519_round_trip(ed_key: ed25519.Ed25519PrivateKey) -> None:
    # Given a POST and a GET signed with an Ed25519 key
    post = sign_request_rfc9421("POST", INBOX, {}, BODY, KEY_ID, ed_key, NOW)
    get = sign_request_rfc9421(
        "GET", "https://b.example/users/bob?x=1", {}, None, KEY_ID, ed_key, NOW
    )
    # When they are verified (the GET from its raw path, resolved against Host)
    get["Host"] = "b.example"
    post_ok = verify_request("POST", INBOX, post, BODY, ed_key.public_key(), now=NOW)
    get_ok = verify_request("GET", "/users/bob?x=1", get, None, ed_key.public_key(), now=NOW)
    # Then both pass as ed25519
    assert (post_ok.algorithm, get_ok.algorithm) == ("ed25519", "ed25519")
    assert get_ok.covered == ("@method", "@authority", "@path", "@query")


def test_cavage_hs2019_with_ed25519_key(ed_key: ed25519.Ed25519PrivateKey) -> None:
    # Given a draft-cavage signature made with an Ed25519 key, algorithm hs2019, dated by (created)
    created = str(int(NOW.timestamp()))
    headers = cavage_headers(
        ed_key,
        ["(request-target)", "host", "(created)", "digest"],
        base_headers(),
        algorithm="hs2019",
        created=created,
    )
    # When it is verified with the Ed25519 key
    verified = verify_request("POST", "/inbox", headers, BODY, ed_key.public_key(), now=NOW)
    # Then hs2019 meant the key's own algorithm
    assert (verified.algorithm, verified.created) == ("ed25519", NOW)


def test_header_canonicalisation_multivalue_and_folding(rsa_key: rsa.RSAPrivateKey) -> None:
    # Given a request (as a multidict, as aiohttp hands it over) with a repeated header, an
    # obsolete line fold and names in mixed case
    lines = [
        *base_headers().items(),
        ("X-Multi", "one"),
        ("x-multi", " two "),
        ("X-Obs-Fold-Header", "Obsolete\r\n    line folding."),
    ]
    covered = ["(request-target)", "host", "date", "digest", "x-multi", "x-obs-fold-header"]
    # When the signing string is built
    data = sig_cavage.signing_string(
        covered, method="POST", request_target="/inbox", headers=Headers(lines)
    )
    # Then values are joined with ", " and the fold becomes one space (draft-cavage-12 §2.3)
    assert data.endswith(b"\nx-multi: one, two\nx-obs-fold-header: Obsolete line folding.")
    # And a signature over it verifies from the multidict
    signed = CIMultiDict(lines)
    signed["Signature"] = (
        f'keyId="{KEY_ID}",algorithm="rsa-sha256",headers="{" ".join(covered)}",'
        f'signature="{sig_cavage.sign_rsa_sha256(rsa_key, data)}"'
    )
    assert verify_request("POST", "/inbox", signed, BODY, rsa_key.public_key(), now=NOW)


# --- published vectors ---------------------------------------------------------------------

# draft-cavage-http-signatures-12, Appendix C: the test key ("keyId=Test"; RSA-1024 despite
# the text saying 2048), the request all examples use, and the rsa-sha256 results of C.1
# (Default Test), C.2 (Basic Test) and C.3 (All Headers Test).
CAVAGE_PUBLIC_PEM = """-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDCFENGw33yGihy92pDjZQhl0C3
6rPJj+CvfSC8+q28hxA161QFNUd13wuCTUcq0Qd2qsBe/2hFyc2DCJJg0h1L78+6
Z4UMR7EOcpfdUE9Hf3m/hs+FUR45uBJeDK1HSFHD8bHKD6kv8FPGfJTotc+2xjJw
oYi+1hqp1fIekaxsyQIDAQAB
-----END PUBLIC KEY-----"""
CAVAGE_PRIVATE_PEM = b"""-----BEGIN RSA PRIVATE KEY-----
MIICXgIBAAKBgQDCFENGw33yGihy92pDjZQhl0C36rPJj+CvfSC8+q28hxA161QF
NUd13wuCTUcq0Qd2qsBe/2hFyc2DCJJg0h1L78+6Z4UMR7EOcpfdUE9Hf3m/hs+F
UR45uBJeDK1HSFHD8bHKD6kv8FPGfJTotc+2xjJwoYi+1hqp1fIekaxsyQIDAQAB
AoGBAJR8ZkCUvx5kzv+utdl7T5MnordT1TvoXXJGXK7ZZ+UuvMNUCdN2QPc4sBiA
QWvLw1cSKt5DsKZ8UETpYPy8pPYnnDEz2dDYiaew9+xEpubyeW2oH4Zx71wqBtOK
kqwrXa/pzdpiucRRjk6vE6YY7EBBs/g7uanVpGibOVAEsqH1AkEA7DkjVH28WDUg
f1nqvfn2Kj6CT7nIcE3jGJsZZ7zlZmBmHFDONMLUrXR/Zm3pR5m0tCmBqa5RK95u
412jt1dPIwJBANJT3v8pnkth48bQo/fKel6uEYyboRtA5/uHuHkZ6FQF7OUkGogc
mSJluOdc5t6hI1VsLn0QZEjQZMEOWr+wKSMCQQCC4kXJEsHAve77oP6HtG/IiEn7
kpyUXRNvFsDE0czpJJBvL/aRFUJxuRK91jhjC68sA7NsKMGg5OXb5I5Jj36xAkEA
gIT7aFOYBFwGgQAQkWNKLvySgKbAZRTeLBacpHMuQdl1DfdntvAyqpAZ0lY0RKmW
G6aFKaqQfOXKCyWoUiVknQJAXrlgySFci/2ueKlIE1QqIiLSZ8V8OlpFLRnb1pzI
7U1yQXnTAEFYM560yJlzUpOb1V4cScGd365tiSMvxLOvTA==
-----END RSA PRIVATE KEY-----"""
CAVAGE_BODY = b'{"hello": "world"}'
CAVAGE_TARGET = "/foo?param=value&pet=dog"
CAVAGE_HEADERS = {
    "Host": "example.com",
    "Date": "Sun, 05 Jan 2014 21:31:40 GMT",
    "Content-Type": "application/json",
    "Digest": "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
    "Content-Length": "18",
}
CAVAGE_NOW = datetime(2014, 1, 5, 21, 31, 40, tzinfo=UTC)
CAVAGE_VECTORS = {
    "C.1": (
        ("date",),
        "date: Sun, 05 Jan 2014 21:31:40 GMT",
        "SjWJWbWN7i0wzBvtPl8rbASWz5xQW6mcJmn+ibttBqtifLN7Sazz6m79cNfwwb8DMJ5cou1s7uEGKKCs+FLEEaDV5"
        "lp7q25WqS+lavg7T8hc0GppauB6hbgEKTwblDHYGEtbGmtdHgVCk9SuS13F0hZ8FD0k/5OxEPXe5WozsbM=",
    ),
    "C.2": (
        ("(request-target)", "host", "date"),
        "(request-target): post /foo?param=value&pet=dog\n"
        "host: example.com\n"
        "date: Sun, 05 Jan 2014 21:31:40 GMT",
        "qdx+H7PHHDZgy4y/Ahn9Tny9V3GP6YgBPyUXMmoxWtLbHpUnXS2mg2+SbrQDMCJypxBLSPQR2aAjn7ndmw2iicw3H"
        "Mbe8VfEdKFYRqzic+efkb3nndiv/x1xSHDJWeSWkx3ButlYSuBskLu6kd9Fswtemr3lgdDEmn04swr2Os0=",
    ),
    "C.3": (
        ("(request-target)", "host", "date", "content-type", "digest", "content-length"),
        "(request-target): post /foo?param=value&pet=dog\n"
        "host: example.com\n"
        "date: Sun, 05 Jan 2014 21:31:40 GMT\n"
        "content-type: application/json\n"
        "digest: SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=\n"
        "content-length: 18",
        "vSdrb+dS3EceC9bcwHSo4MlyKS59iFIrhgYkz8+oVLEEzmYZZvRs8rgOp+63LEM3v+MFHB32NfpB2bEKBIvB1q52L"
        "aEUHFv120V01IL+TAD48XaERZFukWgHoBTLMhYS2Gb51gWxpeIq8knRmPnYePbF5MOkR0Zkly4zKH7s1dE=",
    ),
}


def cavage_vector_headers(name: str) -> dict[str, str]:
    covered, _, signature = CAVAGE_VECTORS[name]
    listed = "" if name == "C.1" else f'headers="{" ".join(covered)}",'
    return {
        **CAVAGE_HEADERS,
        "Signature": f'keyId="Test",algorithm="rsa-sha256",{listed}signature="{signature}"',
    }


@pytest.mark.parametrize("name", sorted(CAVAGE_VECTORS))
def test_draft_cavage_appendix_c_signing_strings_and_signatures(name: str) -> None:
    # Given the appendix's test key, request and expected results
    covered, expected_string, expected_signature = CAVAGE_VECTORS[name]
    private_key = serialization.load_pem_private_key(CAVAGE_PRIVATE_PEM, password=None)
    assert isinstance(private_key, rsa.RSAPrivateKey)
    parsed = sig_cavage.parse(cavage_vector_headers(name)["Signature"])
    assert parsed.covered == covered
    # When the signing string is rebuilt from the parsed header and signed
    data = sig_cavage.signing_string(
        parsed.covered, method="POST", request_target=CAVAGE_TARGET, headers=Headers(CAVAGE_HEADERS)
    )
    # Then it is the appendix's string, the signature is the appendix's, and it verifies
    assert data == expected_string.encode()
    assert sig_cavage.sign_rsa_sha256(private_key, data) == expected_signature
    sig_cavage.verify_with_key(
        load_public_key_pem(CAVAGE_PUBLIC_PEM, min_rsa_bits=1024), data, parsed.signature
    )


@pytest.mark.parametrize("header", ["Signature", "Authorization"])
def test_draft_cavage_c3_passes_the_full_policy(header: str) -> None:
    # Given the C.3 "All Headers" request (it signs digest), in either header form
    headers = cavage_vector_headers("C.3")
    if header == "Authorization":
        headers["Authorization"] = "Signature " + headers.pop("Signature")
    key = load_public_key_pem(CAVAGE_PUBLIC_PEM, min_rsa_bits=1024)
    # When it is verified at the moment it was made
    verified = verify_request(
        "POST", "http://example.com" + CAVAGE_TARGET, headers, CAVAGE_BODY, key, now=CAVAGE_NOW
    )
    # Then it passes
    assert (verified.key_id, verified.algorithm, verified.created) == (
        "Test",
        "rsa-sha256",
        CAVAGE_NOW,
    )


def test_draft_cavage_c2_is_refused_for_a_post_without_signed_digest() -> None:
    # Given C.2: a genuine signature over a POST that does not cover digest
    key = load_public_key_pem(CAVAGE_PUBLIC_PEM, min_rsa_bits=1024)
    # When it is verified
    # Then the policy refuses it: its Digest header is not signed
    refused(
        "digest header is not signed",
        "POST",
        CAVAGE_TARGET,
        cavage_vector_headers("C.2"),
        CAVAGE_BODY,
        key,
        now=CAVAGE_NOW,
    )


def test_draft_cavage_test_key_is_too_short_by_default() -> None:
    # Given the appendix's 1024-bit key
    # When it is loaded with the default minimum
    # Then it is refused
    with pytest.raises(SignatureError, match="too short"):
        load_public_key_pem(CAVAGE_PUBLIC_PEM)


def test_mastodon_documented_format_without_algorithm(rsa_key: rsa.RSAPrivateKey) -> None:
    # Given a Signature in the shape Mastodon's documentation shows (keyId, headers, signature;
    # no algorithm parameter)
    signed = sign_request("POST", INBOX, {}, BODY, KEY_ID, rsa_key, NOW)
    signature = signed["Signature"].rsplit('signature="', 1)[1].rstrip('"')
    signed["Signature"] = (
        f'keyId="{KEY_ID}",headers="(request-target) host date digest",signature="{signature}"'
    )
    # When it is parsed and verified
    parsed = parse_signature(signed)
    verified = verify_request("POST", "/inbox", signed, BODY, rsa_key.public_key(), now=NOW)
    # Then no algorithm was claimed and the RSA key's own (rsa-sha256) verified it
    assert (parsed.key_id, parsed.algorithm) == (KEY_ID, None)
    assert verified.algorithm == "rsa-sha256"


# RFC 9421 Appendix B.1 test keys (public halves) and B.2 test request, with the published
# signatures of B.2.3 (rsa-pss-sha512, full coverage), B.2.6 (ed25519) and section 4.3
# (a proxy's rsa-v1_5-sha256 signature `proxy_sig` beside the client's `sig1`).
RFC_KEY_RSA = """-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEAhAKYdtoeoy8zcAcR874L8cnZxKzAGwd7v36APp7Pv6Q2jdsPBRrw
WEBnez6d0UDKDwGbc6nxfEXAy5mbhgajzrw3MOEt8uA5txSKobBpKDeBLOsdJKFq
MGmXCQvEG7YemcxDTRPxAleIAgYYRjTSd/QBwVW9OwNFhekro3RtlinV0a75jfZg
kne/YiktSvLG34lw2zqXBDTC5NHROUqGTlML4PlNZS5Ri2U4aCNx2rUPRcKIlE0P
uKxI4T+HIaFpv8+rdV6eUgOrB2xeI1dSFFn/nnv5OoZJEIB+VmuKn3DCUcCZSFlQ
PSXSfBDiUGhwOw76WuSSsf1D4b/vLoJ10wIDAQAB
-----END RSA PUBLIC KEY-----"""
RFC_KEY_RSA_PSS = """-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr4tmm3r20Wd/PbqvP1s2
+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry53mm+
oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7OyrFAHq
gDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUAAN5W
Utzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw9lq4
aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oyc6XI
2wIDAQAB
-----END PUBLIC KEY-----"""
RFC_KEY_ED25519 = """-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----"""
RFC_BODY = b'{"hello": "world"}'
RFC_URL = "https://example.com/foo?param=Value&Pet=dog"
RFC_DIGEST = (
    "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJw"
    "ew==:"
)
RFC_HEADERS = {
    "Host": "example.com",
    "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
    "Content-Type": "application/json",
    "Content-Digest": RFC_DIGEST,
    "Content-Length": "18",
}
RFC_CREATED = datetime.fromtimestamp(1618884473, UTC)
RFC_B23 = {
    **RFC_HEADERS,
    "Signature-Input": 'sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" '
    '"content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss"',
    "Signature": "sig-b23=:bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yBiMIRGOnMYwZ/5MR6fb0Kh1rIR"
    "ASVxFkeGt683+qRpRRU5p2voTp768ZrCUb38K0fUxN0O0iC59DzYx8DFll5GmydPxSmme9v6ULbMFkl+V5B1TP/yPViV"
    "7KsLNmvKiLJH1pFkh/aYA2HXXZzNBXmIkoQoLd7YfW91kE9o/CCoC1xMy7JA1ipwvKvfrs65ldmlu9bpG6A9BmzhuzF8"
    "Eim5f8ui9eH8LZH896+QIF61ka39VBrohr9iyMUJpvRX2Zbhl5ZJzSRxpJyoEZAFL2FUo5fTIztsDZKEgM4cUA==:",
}
RFC_B26 = {
    **RFC_HEADERS,
    "Signature-Input": 'sig-b26=("date" "@method" "@path" "@authority" "content-type" '
    '"content-length");created=1618884473;keyid="test-key-ed25519"',
    "Signature": "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6v"
    "uQv5lIp5WPpBKRCw==:",
}
RFC_PROXIED_URL = "https://origin.host.internal.example/foo?param=Value&Pet=dog"
RFC_PROXIED = {
    "Host": "origin.host.internal.example",
    "Date": "Tue, 20 Apr 2021 02:07:56 GMT",
    "Content-Type": "application/json",
    "Content-Digest": RFC_DIGEST,
    "Content-Length": "18",
    "Forwarded": "for=192.0.2.123;host=example.com;proto=https",
    "Signature-Input": 'sig1=("@method" "@authority" "@path" "content-digest" "content-type" '
    '"content-length");created=1618884475;keyid="test-key-ecc-p256", proxy_sig=("@method" '
    '"@authority" "@path" "content-digest" "content-type" "content-length" "forwarded");'
    'created=1618884480;keyid="test-key-rsa";alg="rsa-v1_5-sha256";expires=1618884540',
    "Signature": "sig1=:X5spyd6CFnAG5QnDyHfqoSNICd+BUP4LYMz2Q0JXlb//4Ijpzp+kve2w4NIyqeAuM7jTDX+sN"
    "alzA8ESSaHD3A==:, proxy_sig=:S6ZzPXSdAMOPjN/6KXfXWNO/f7V6cHm7BXYUh3YD/fRad4BCaRZxP+JH+8XY1I"
    "6+8Cy+CM5g92iHgxtRPz+MjniOaYmdkDcnL9cCpXJleXsOckpURl49GwiyUpZ10KHgOEe11sx3G2gxI8S0jnxQB+Pu6"
    "8U9vVcasqOWAEObtNKKZd8tSFu7LB5YAv0RAGhB8tmpv7sFnIm9y+7X5kXQfi8NMaZaA8i2ZHwpBdg7a6CMfwnnrtfl"
    "zvZdXAsD3LH2TwevU+/PBPv0B6NMNk93wUs/vfJvye+YuI87HU38lZHowtznbLVdp770I6VHR6WfgS9ddzirrswsE1w"
    "5o0LV/g==:",
}


def rfc_crypto_check(headers: dict[str, str], key_pem: str, algorithm: str) -> None:
    view = Headers(headers)
    sig_rfc9421.verify(
        sig_rfc9421.parse(view),
        method="POST",
        url=RFC_URL,
        headers=view,
        public_key=load_public_key_pem(key_pem),
        algorithm=algorithm,
    )


def test_rfc9421_b26_ed25519_signature_verifies() -> None:
    # Given RFC 9421's B.2.6 request signed with test-key-ed25519
    # When its signature is checked (it covers no digest, so only the cryptographic step)
    rfc_crypto_check(RFC_B26, RFC_KEY_ED25519, "ed25519")
    # Then it verifies, and a changed covered header does not
    with pytest.raises(SignatureError, match="does not verify"):
        rfc_crypto_check({**RFC_B26, "Content-Length": "19"}, RFC_KEY_ED25519, "ed25519")


def test_rfc9421_b26_is_refused_by_the_policy_for_want_of_a_digest() -> None:
    # Given the genuine B.2.6 POST, whose signature leaves content-digest out
    # When it is verified in full
    # Then it is refused: the body's digest header is not signed
    refused(
        "digest header is not signed",
        "POST",
        RFC_URL,
        RFC_B26,
        RFC_BODY,
        load_public_key_pem(RFC_KEY_ED25519),
        now=RFC_CREATED,
    )


def test_rfc9421_b23_rsa_pss_signature_verifies() -> None:
    # Given RFC 9421's B.2.3 full-coverage request signed with rsa-pss-sha512 (no alg parameter)
    # When its signature is checked as rsa-pss-sha512
    # Then it verifies
    rfc_crypto_check(RFC_B23, RFC_KEY_RSA_PSS, "rsa-pss-sha512")


def test_rfc9421_b23_without_alg_is_verified_as_pkcs1_and_fails() -> None:
    # Given B.2.3, which names no alg: for an RSA key Atrium pins rsa-v1_5-sha256
    # When it is verified in full
    # Then it fails rather than letting the request pick PSS
    refused(
        "does not verify",
        "POST",
        RFC_URL,
        RFC_B23,
        RFC_BODY,
        load_public_key_pem(RFC_KEY_RSA_PSS),
        now=RFC_CREATED,
    )


def test_rfc9421_section_4_3_proxy_signature_passes_the_full_policy() -> None:
    # Given the section 4.3 request carrying two signatures, sig1 (an ECDSA key) and proxy_sig
    # (test-key-rsa, rsa-v1_5-sha256, covering method, authority, path and content-digest)
    key = load_public_key_pem(RFC_KEY_RSA)
    # When it is parsed without a label, then with label proxy_sig
    first = parse_signature(RFC_PROXIED)
    proxy = parse_signature(RFC_PROXIED, label="proxy_sig")
    # Then the first label is sig1, and proxy_sig verifies in full within its expiry
    assert (first.label, first.key_id) == ("sig1", "test-key-ecc-p256")
    assert (proxy.key_id, proxy.algorithm) == ("test-key-rsa", "rsa-v1_5-sha256")
    verified = verify_request(
        "POST",
        RFC_PROXIED_URL,
        RFC_PROXIED,
        RFC_BODY,
        key,
        now=datetime.fromtimestamp(1618884490, UTC),
        label="proxy_sig",
    )
    assert verified.created == datetime.fromtimestamp(1618884480, UTC)
    # And after its expires time it is refused
    refused(
        "expired",
        "POST",
        RFC_PROXIED_URL,
        RFC_PROXIED,
        RFC_BODY,
        key,
        now=datetime.fromtimestamp(1618884541, UTC),
        label="proxy_sig",
    )


# --- refusals -------------------------------------------------------------------------------


def test_wrong_key_is_refused(rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey) -> None:
    # Given requests signed by one key, both ways
    cavage = sign_request("POST", INBOX, {}, BODY, KEY_ID, rsa_key, NOW)
    rfc = sign_request_rfc9421("POST", INBOX, {}, BODY, KEY_ID, rsa_key, NOW)
    # When they are verified with another key
    # Then both are refused
    refused("does not verify", "POST", INBOX, cavage, BODY, other_rsa_key.public_key(), now=NOW)
    refused("does not verify", "POST", INBOX, rfc, BODY, other_rsa_key.public_key(), now=NOW)


def test_swapped_body_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    # Given signed POSTs
    cavage = sign_request("POST", INBOX, {}, BODY, KEY_ID, rsa_key, NOW)
    rfc = sign_request_rfc9421("POST", INBOX, {}, BODY, KEY_ID, rsa_key, NOW)
    # When they arrive with another body
    # Then the digest does not match
    refused(
        "Digest header does not match", "POST", INBOX, cavage, b"{}", rsa_key.public_key(), now=NOW
    )
    refused(
        "Content-Digest header does not match",
        "POST",
        INBOX,
        rfc,
        b"{}",
        rsa_key.public_key(),
        now=NOW,
    )


def test_digest_present_but_not_signed_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    # Given a POST with a correct Digest header that the signature does not cover
    headers = cavage_headers(rsa_key, ["(request-target)", "host", "date"], base_headers())
    # When it is verified
    # Then it is refused
    refused(
        "digest header is not signed",
        "POST",
        "/inbox",
        headers,
        BODY,
        rsa_key.public_key(),
        now=NOW,
    )


def test_post_without_digest_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    # Given a POST with no digest header at all, otherwise validly signed
    headers = cavage_headers(rsa_key, ["(request-target)", "host", "date"], base_headers(body=None))
    # When it is verified, with a body or with an empty one
    # Then it is refused
    for body in (BODY, b""):
        refused(
            "needs a signed Digest", "POST", "/inbox", headers, body, rsa_key.public_key(), now=NOW
        )


def test_lowercase_digest_algorithm_is_accepted(rsa_key: rsa.RSAPrivateKey) -> None:
    # Given a Digest header written the way bovine writes it (`sha-256=`)
    headers = base_headers()
    headers["Digest"] = headers["Digest"].replace("SHA-256=", "sha-256=")
    signed = cavage_headers(rsa_key, ["(request-target)", "host", "date", "digest"], headers)
    # When it is verified
    # Then it passes
    assert verify_request("POST", "/inbox", signed, BODY, rsa_key.public_key(), now=NOW)


@pytest.mark.parametrize(
    ("offset", "outcome"),
    [
        (timedelta(hours=11, minutes=59), None),
        (timedelta(hours=12, seconds=1), "too old"),
        (-timedelta(minutes=59), None),
        (-timedelta(hours=1, seconds=1), "in the future"),
    ],
)
def test_date_window(
    rsa_key: rsa.RSAPrivateKey,
    ed_key: ed25519.Ed25519PrivateKey,
    offset: timedelta,
    outcome: str | None,
) -> None:
    # Given requests signed at NOW, the draft-cavage (Date) and the RFC 9421 (created) way
    cavage = sign_request("POST", INBOX, {}, BODY, KEY_ID, rsa_key, NOW)
    rfc = sign_request_rfc9421("POST", INBOX, {}, BODY, KEY_ID, ed_key, NOW)
    # When they are verified `offset` later (12 h maximum age, 1 h skew into the future)
    for headers, key in ((cavage, rsa_key.public_key()), (rfc, ed_key.public_key())):
        # Then they pass inside the window and are refused outside it
        if outcome is None:
            assert verify_request("POST", INBOX, headers, BODY, key, now=NOW + offset)
        else:
            refused(outcome, "POST", INBOX, headers, BODY, key, now=NOW + offset)


def test_date_window_is_configurable(rsa_key: rsa.RSAPrivateKey) -> None:
    # Given a request signed ten minutes ago
    headers = sign_request("POST", INBOX, {}, BODY, KEY_ID, rsa_key, NOW)
    later = NOW + timedelta(minutes=10)
    # When the node allows only five minutes
    # Then it is too old, though the default window accepts it
    refused(
        "too old",
        "POST",
        INBOX,
        headers,
        BODY,
        rsa_key.public_key(),
        now=later,
        max_age=timedelta(minutes=5),
    )
    assert verify_request("POST", INBOX, headers, BODY, rsa_key.public_key(), now=later)


def test_hmac_with_the_public_key_as_secret_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    # Given the httpsig 1.3.0 attack: hmac-sha256 "keyed" with the actor's public key bytes
    headers = base_headers()
    covered = ["(request-target)", "host", "date", "digest"]
    data = sig_cavage.signing_string(
        covered, method="POST", request_target="/inbox", headers=Headers(headers)
    )
    forged = base64.b64encode(hmac.new(public_pem(rsa_key), data, hashlib.sha256).digest()).decode()
    headers["Signature"] = (
        f'keyId="{KEY_ID}",algorithm="hmac-sha256",'
        f'headers="{" ".join(covered)}",signature="{forged}"'
    )
    # When it is verified with that public key
    # Then the algorithm claim is refused for the RSA key
    refused(
        "algorithm hmac-sha256 does not match the RSA key",
        "POST",
        "/inbox",
        headers,
        BODY,
        rsa_key.public_key(),
        now=NOW,
    )
    # And an hs2019 claim over the same forgery fails as RSA, never as HMAC
    headers["Signature"] = headers["Signature"].replace("hmac-sha256", "hs2019")
    refused("does not verify", "POST", "/inbox", headers, BODY, rsa_key.public_key(), now=NOW)


@pytest.mark.parametrize(
    ("scheme", "claimed", "key_type"),
    [
        ("cavage", "ed25519", "rsa"),
        ("cavage", "rsa-sha512", "rsa"),
        ("cavage", "rsa-sha256", "ed25519"),
        ("cavage", "hmac-sha256", "ed25519"),
        ("rfc9421", "ed25519", "rsa"),
        ("rfc9421", "hmac-sha256", "rsa"),
        ("rfc9421", "rsa-v1_5-sha256", "ed25519"),
        ("rfc9421", "ecdsa-p256-sha256", "ed25519"),
    ],
)
def test_algorithm_not_matching_the_key_type_is_refused(
    rsa_key: rsa.RSAPrivateKey,
    ed_key: ed25519.Ed25519PrivateKey,
    scheme: str,
    claimed: str,
    key_type: str,
) -> None:
    # Given a request whose algorithm claim does not fit the signer's key type
    key = rsa_key if key_type == "rsa" else ed_key
    if scheme == "cavage":
        headers = sign_request("POST", INBOX, {}, BODY, KEY_ID, rsa_key, NOW)
        headers["Signature"] = headers["Signature"].replace('"rsa-sha256"', f'"{claimed}"')
    else:
        headers = sign_request_rfc9421("POST", INBOX, {}, BODY, KEY_ID, rsa_key, NOW)
        headers["Signature-Input"] = headers["Signature-Input"].replace(
            '"rsa-v1_5-sha256"', f'"{claimed}"'
        )
    # When it is verified with that key
    # Then it is refused on the claim, before any cryptography
    refused(
        f"algorithm {claimed} does not match",
        "POST",
        INBOX,
        headers,
        BODY,
        key.public_key(),
        now=NOW,
    )


def test_other_key_types_are_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    # Given a correctly signed request and an EC public key
    headers = sign_request("POST", INBOX, {}, BODY, KEY_ID, rsa_key, NOW)
    ec_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    # When it is verified with the EC key
    # Then the key type is refused
    refused("unsupported key type", "POST", INBOX, headers, BODY, ec_key, now=NOW)


def test_missing_coverage_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    # Given signatures that leave out the target, the host or the date
    for covered, missing in (
        (["host", "date", "digest"], "(request-target)"),
        (["(request-target)", "date", "digest"], "host"),
        (["(request-target)", "host", "digest"], "date or (created)"),
    ):
        headers = cavage_headers(rsa_key, covered, base_headers())
        # When they are verified
        # Then each is refused naming what is missing
        refused(
            f"does not cover {missing}",
            "POST",
            "/inbox",
            headers,
            BODY,
            rsa_key.public_key(),
            now=NOW,
        )


def test_a_line_break_in_a_signed_header_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    # Given a header value carrying a bare line break, which could forge a signing-string line
    headers = sign_request("POST", INBOX, {}, BODY, KEY_ID, rsa_key, NOW)
    headers["Host"] = "b.example\n(request-target): get /"
    # When it is verified
    # Then it is refused
    refused("line break", "POST", INBOX, headers, BODY, rsa_key.public_key(), now=NOW)


def test_host_must_name_the_server_given_by_url(rsa_key: rsa.RSAPrivateKey) -> None:
    # Given a request genuinely signed for another server, replayed here with its Host
    headers = sign_request("POST", "https://c.example/inbox", {}, BODY, KEY_ID, rsa_key, NOW)
    # When this server verifies it against its own URL
    # Then the Host header is refused
    refused(
        "Host header does not name this server",
        "POST",
        INBOX,
        headers,
        BODY,
        rsa_key.public_key(),
        now=NOW,
    )
    # And a Host with the default port still names the server
    ours = sign_request("POST", "https://b.example:443/inbox", {}, BODY, KEY_ID, rsa_key, NOW)
    ours["Host"] = "B.example:443"
    with pytest.raises(SignatureError, match="does not verify"):  # Host was signed as b.example
        verify_request("POST", INBOX, ours, BODY, rsa_key.public_key(), now=NOW)


def test_invalid_host_header_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    # Given a request whose Host header would change the reconstructed URL's authority
    headers = sign_request_rfc9421("GET", INBOX, {}, None, KEY_ID, rsa_key, NOW)
    headers["Host"] = "evil.example/b.example"
    # When it is verified from its path
    # Then the Host header is refused
    refused("invalid Host header", "GET", "/inbox", headers, None, rsa_key.public_key(), now=NOW)


def test_unsigned_request_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    # Given a request with no signature, or another Authorization scheme
    # When it is parsed
    # Then it is refused as unsigned
    for headers in (base_headers(), {**base_headers(), "Authorization": "Bearer abc"}):
        with pytest.raises(SignatureError, match="not signed"):
            parse_signature(headers)


SIG = base64.b64encode(b"x" * 64).decode()
MALFORMED_CAVAGE = {
    "garbage": "this is not a signature",
    "empty": "",
    "missing keyId": f'algorithm="rsa-sha256",headers="date",signature="{SIG}"',
    "empty keyId": f'keyId="",signature="{SIG}"',
    "missing signature": 'keyId="k",headers="date"',
    "signature not base64": 'keyId="k",signature="***"',
    "unterminated quotes": f'keyId="k,signature="{SIG}',
    "duplicate params": f'keyId="k",keyId="evil",signature="{SIG}"',
    "duplicate params differing in case": f'keyId="k",keyid="evil",signature="{SIG}"',
    "trailing comma": f'keyId="k",signature="{SIG}",',
    "no equals": f'keyId "k",signature="{SIG}"',
    "empty headers": f'keyId="k",headers="",signature="{SIG}"',
    "header listed twice": f'keyId="k",headers="date date",signature="{SIG}"',
    "too many headers": f'keyId="k",headers="{" ".join(f"h{i}" for i in range(40))}",'
    f'signature="{SIG}"',
    "bad created": f'keyId="k",created=soon,signature="{SIG}"',
    "(created) with rsa-sha256": 'keyId="k",algorithm="rsa-sha256",created=1,'
    f'headers="(created)",signature="{SIG}"',
    "huge": f'keyId="{"k" * 20000}",signature="{SIG}"',
}


@pytest.mark.parametrize("name", sorted(MALFORMED_CAVAGE))
def test_malformed_cavage_headers_are_refused(name: str, rsa_key: rsa.RSAPrivateKey) -> None:
    # Given a request whose Signature header is malformed
    headers = {**base_headers(), "Signature": MALFORMED_CAVAGE[name]}
    # When it is parsed, or verified
    # Then a SignatureError with a reason comes out, never another exception
    with pytest.raises(SignatureError) as caught:
        parse_signature(headers)
    assert caught.value.reason
    with pytest.raises(SignatureError):
        verify_request("POST", "/inbox", headers, BODY, rsa_key.public_key(), now=NOW)


MALFORMED_RFC9421 = {
    "garbage input": ("not a dictionary (", "sig1=:AAAA:"),
    "no Signature": ('sig1=("@method");created=1;keyid="k"', None),
    "missing keyid": ('sig1=("@method");created=1', "sig1=:AAAA:"),
    "label mismatch": ('sig1=("@method");created=1;keyid="k"', "sig2=:AAAA:"),
    "item, not inner list": ('sig1="@method";keyid="k"', "sig1=:AAAA:"),
    "signature not bytes": ('sig1=("@method");created=1;keyid="k"', 'sig1="AAAA"'),
    "created not integer": ('sig1=("@method");created="now";keyid="k"', "sig1=:AAAA:"),
    "duplicate label": ('sig1=("@method");keyid="k", sig1=("@path");keyid="j"', "sig1=:AAAA:"),
    "duplicate parameter": ('sig1=("@method");keyid="k";keyid="j"', "sig1=:AAAA:"),
    "non-ASCII": ('sig1=("@méthod");keyid="k"', "sig1=:AAAA:"),
    "huge": ('sig1=("@method");keyid="' + "k" * 20000 + '"', "sig1=:AAAA:"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED_RFC9421))
def test_malformed_rfc9421_headers_are_refused(name: str, rsa_key: rsa.RSAPrivateKey) -> None:
    # Given a request whose Signature-Input / Signature headers are malformed
    signature_input, signature = MALFORMED_RFC9421[name]
    headers = {**base_headers(), "Signature-Input": signature_input}
    if signature is not None:
        headers["Signature"] = signature
    # When it is parsed, or verified
    # Then a SignatureError with a reason comes out
    with pytest.raises(SignatureError) as caught:
        parse_signature(headers)
    assert caught.value.reason
    with pytest.raises(SignatureError):
        verify_request("POST", INBOX, headers, BODY, rsa_key.public_key(), now=NOW)


def test_rfc9421_without_created_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    # Given an RFC 9421 signature without a created parameter
    headers = sign_request_rfc9421("GET", INBOX, {}, None, KEY_ID, rsa_key, NOW)
    headers["Signature-Input"] = headers["Signature-Input"].replace(
        f";created={int(NOW.timestamp())}", ""
    )
    # When it is verified
    # Then it is refused for want of a date
    refused("no created", "GET", INBOX, headers, None, rsa_key.public_key(), now=NOW)


def test_repeated_signature_header_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    # Given two draft-cavage Signature field lines
    signed = sign_request("POST", INBOX, {}, BODY, KEY_ID, rsa_key, NOW)
    lines = [*signed.items(), ("Signature", signed["Signature"])]
    # When it is parsed
    # Then it is refused
    with pytest.raises(SignatureError, match="more than one Signature"):
        parse_signature(lines)


def test_parsed_signature_exposes_key_id_before_verification() -> None:
    # Given a Signature header from some peer
    headers = {
        **base_headers(),
        "Signature": f'keyId="{KEY_ID}",algorithm="hs2019",'
        f'headers="(request-target) host date digest",signature="{SIG}"',
    }
    # When it is parsed (no key needed)
    parsed = parse_signature(headers)
    # Then the key id, scheme, claim and coverage are known
    assert (parsed.scheme, parsed.key_id, parsed.algorithm, parsed.covered, parsed.label) == (
        "cavage",
        KEY_ID,
        "hs2019",
        ("(request-target)", "host", "date", "digest"),
        None,
    )


# --- keys ----------------------------------------------------------------------------------


def test_load_public_key_pem_accepts_rsa_and_ed25519(
    rsa_key: rsa.RSAPrivateKey, ed_key: ed25519.Ed25519PrivateKey
) -> None:
    # Given SPKI PEMs of an RSA and an Ed25519 key, and RFC 9421's PKCS#1 RSA key
    # When they are loaded
    # Then the matching key objects come back
    assert isinstance(load_public_key_pem(public_pem(rsa_key).decode()), rsa.RSAPublicKey)
    assert isinstance(load_public_key_pem(public_pem(ed_key).decode()), ed25519.Ed25519PublicKey)
    assert isinstance(load_public_key_pem(RFC_KEY_RSA), rsa.RSAPublicKey)


def test_load_public_key_pem_refuses_other_keys_and_garbage() -> None:
    # Given an EC key, garbage, a truncated PEM and a non-string
    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    for value in (ec_pem, "garbage", RFC_KEY_ED25519[:60], "é" * 10, None):
        # When they are loaded
        # Then each is refused with a SignatureError
        with pytest.raises(SignatureError):
            load_public_key_pem(value)  # type: ignore[arg-type]


# --- properties ----------------------------------------------------------------------------

SIGNATURE_ALPHABET = st.sampled_from(
    list('keyIdalgorithmhs2019sigcreated="\\,= \t()@:;-_/+*1\r\né')
)
header_text = st.one_of(st.text(), st.text(alphabet=SIGNATURE_ALPHABET, max_size=200))


@settings(max_examples=300, deadline=None)
@given(value=header_text, field=st.sampled_from(["Signature", "Authorization", "Signature-Input"]))
def test_parsers_only_ever_raise_signature_error(value: str, field: str) -> None:
    # Given arbitrary text in a signature header (with a plausible companion for RFC 9421)
    headers = {
        **base_headers(),
        field: ("Signature " + value) if field == "Authorization" else value,
    }
    if field == "Signature-Input":
        headers["Signature"] = "sig1=:AAAA:"
    # When it is parsed
    # Then it yields a parsed signature or a SignatureError, nothing else
    try:
        parsed = parse_signature(headers)
    except SignatureError as exc:
        assert exc.reason
    else:
        assert parsed.key_id


@settings(max_examples=150, deadline=None)
@given(value=header_text, digest=header_text)
def test_verify_only_ever_raises_signature_error(
    value: str, digest: str, rsa_key: rsa.RSAPrivateKey
) -> None:
    # Given arbitrary Signature and Digest header text on an otherwise ordinary POST
    headers = {**base_headers(), "Signature": value, "Digest": digest}
    # When it is verified
    # Then only SignatureError comes out
    with pytest.raises(SignatureError):
        verify_request("POST", "/inbox", headers, BODY, rsa_key.public_key(), now=NOW)


@settings(max_examples=200, deadline=None)
@given(value=header_text)
def test_digest_checkers_only_ever_raise_signature_error(value: str) -> None:
    # Given arbitrary text as a Digest or Content-Digest value
    # When it is checked against a body
    # Then it passes or raises SignatureError, nothing else
    for check in (verify_digest, verify_content_digest):
        with contextlib.suppress(SignatureError):
            check(value, BODY)


@settings(max_examples=100, deadline=None)
@given(value=st.text(max_size=300))
def test_key_loader_only_ever_raises_signature_error(value: str) -> None:
    # Given arbitrary text as a PEM
    # When it is loaded
    # Then it is refused with SignatureError
    with pytest.raises(SignatureError):
        load_public_key_pem(value)


@settings(max_examples=200, deadline=None)
@given(
    params=st.dictionaries(
        st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,10}", fullmatch=True),
        st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n")),
        min_size=1,
        max_size=6,
    )
)
def test_cavage_param_parser_round_trips_quoted_values(params: dict[str, str]) -> None:
    # Given parameters with distinct (case-insensitive) names and any single-line values
    lowered = {name.lower(): value for name, value in params.items()}
    if len(lowered) != len(params):
        return

    # When they are written as quoted strings (escaping quotes and backslashes) and parsed
    def quote(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"')

    text = ", ".join(f'{name}="{quote(value)}"' for name, value in params.items())
    # Then the same values come back under lowercased names
    assert sig_cavage.parse_params(text) == lowered
