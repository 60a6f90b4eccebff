"""Signed media URLs: plain for media anyone may see, expiring HMACs for the rest."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from node.audience import Audience
from node.media_urls import SIGNED_URL_SECONDS, media_url, signature_holds
from storage.media_store import new_key

KEY = b"k" * 32
NOW = 1_800_000_000.0


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_media_of_posts_anyone_may_see_has_a_plain_url() -> None:
    key = new_key("jpg")
    for audience in (Audience.PUBLIC, Audience.UNLISTED):
        assert media_url("https://eng.test", key, audience, KEY, now=NOW) == f"https://eng.test/media/{key}"


def test_media_of_other_posts_is_signed_and_the_signature_holds_until_it_expires() -> None:
    key = new_key("jpg")
    for audience in (Audience.FOLLOWERS, Audience.DIRECT, Audience.ORGANIZATION, Audience.LOCAL):
        # Given a URL made for a viewer who may see the post
        q = _query(media_url("https://eng.test", key, audience, KEY, now=NOW))
        # Then it holds now, and not after it expired
        assert signature_holds(KEY, key, q["exp"], q["sig"], now=NOW)
        assert not signature_holds(KEY, key, q["exp"], q["sig"], now=int(q["exp"]) + 1)
        assert int(q["exp"]) >= NOW + SIGNED_URL_SECONDS


def test_a_signature_holds_for_its_own_key_and_expiry_only() -> None:
    key, other = new_key("jpg"), new_key("jpg")
    q = _query(media_url("https://eng.test", key, Audience.FOLLOWERS, KEY, now=NOW))
    assert not signature_holds(KEY, other, q["exp"], q["sig"], now=NOW)  # another file
    assert not signature_holds(b"x" * 32, key, q["exp"], q["sig"], now=NOW)  # another node's key
    assert not signature_holds(KEY, key, str(int(q["exp"]) + 3600), q["sig"], now=NOW)  # a later expiry
    assert not signature_holds(KEY, key, "9" * 13, q["sig"], now=NOW)  # absurd expiry
    assert not signature_holds(KEY, key, "-1", q["sig"], now=NOW)
    assert not signature_holds(KEY, key, q["exp"], "", now=NOW)
