"""Micro-benchmark: federation.jsonld.normalize, fast path vs full pyld compaction.

Run from the repository root:

    .venv/bin/python benchmarks/jsonld_bench.py [--seconds 1.0]

Prints, per real-world-shaped activity, the time per call and activities per
second on one core for the fast path and for the full pyld path (the same
document with ``prefer_fast=False``). Figures only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from federation.jsonld import normalize  # noqa: E402

AS = "https://www.w3.org/ns/activitystreams"
SEC = "https://w3id.org/security/v1"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
ALICE = "https://mastodon.example/users/alice"
CAROL = "https://atrium.example/users/carol"
NOTE = ALICE + "/statuses/1"

MASTODON_INLINE = {
    "ostatus": "http://ostatus.org#",
    "atomUri": "ostatus:atomUri",
    "inReplyToAtomUri": "ostatus:inReplyToAtomUri",
    "conversation": "ostatus:conversation",
    "sensitive": "as:sensitive",
    "toot": "http://joinmastodon.org/ns#",
    "votersCount": "toot:votersCount",
    "blurhash": "toot:blurhash",
    "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
    "Hashtag": "as:Hashtag",
    "Emoji": "toot:Emoji",
}

ACTIVITIES: dict[str, dict[str, Any]] = {
    "Follow": {
        "@context": AS,
        "id": "https://mastodon.example/0f6b5f1e",
        "type": "Follow",
        "actor": ALICE,
        "object": CAROL,
    },
    "Like": {
        "@context": AS,
        "id": ALICE + "#likes/42",
        "type": "Like",
        "actor": ALICE,
        "object": "https://atrium.example/users/carol/posts/9",
    },
    "Announce": {
        "@context": AS,
        "id": NOTE + "/activity/announce",
        "type": "Announce",
        "actor": ALICE,
        "published": "2024-05-01T11:00:00Z",
        "to": PUBLIC,
        "cc": [CAROL, ALICE + "/followers"],
        "object": "https://atrium.example/users/carol/posts/9",
    },
    "Accept(Follow)": {
        "@context": AS,
        "id": CAROL + "#accepts/follows/7",
        "type": "Accept",
        "actor": CAROL,
        "object": {"id": "https://mastodon.example/0f6b5f1e", "type": "Follow", "actor": ALICE, "object": CAROL},
    },
    "Create(Note), Mastodon": {
        "@context": [AS, SEC, MASTODON_INLINE],
        "id": NOTE + "/activity",
        "type": "Create",
        "actor": ALICE,
        "published": "2024-05-01T10:00:00Z",
        "to": [PUBLIC],
        "cc": [ALICE + "/followers", CAROL],
        "object": {
            "id": NOTE,
            "type": "Note",
            "summary": None,
            "inReplyTo": None,
            "published": "2024-05-01T10:00:00Z",
            "url": "https://mastodon.example/@alice/1",
            "attributedTo": ALICE,
            "to": [PUBLIC],
            "cc": [ALICE + "/followers", CAROL],
            "sensitive": False,
            "atomUri": NOTE,
            "inReplyToAtomUri": None,
            "conversation": "tag:mastodon.example,2024-05-01:objectId=1:objectType=Conversation",
            "content": '<p>Hello <a href="https://atrium.example/@carol">@carol</a> #atrium</p>',
            "contentMap": {"en": '<p>Hello <a href="https://atrium.example/@carol">@carol</a> #atrium</p>'},
            "attachment": [
                {
                    "type": "Document",
                    "mediaType": "image/png",
                    "url": "https://files.mastodon.example/1.png",
                    "name": "A diagram",
                    "blurhash": "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH",
                    "focalPoint": [0.0, -0.25],
                    "width": 640,
                    "height": 480,
                }
            ],
            "tag": [
                {"type": "Mention", "href": CAROL, "name": "@carol@atrium.example"},
                {"type": "Hashtag", "href": "https://mastodon.example/tags/atrium", "name": "#atrium"},
            ],
            "replies": {
                "id": NOTE + "/replies",
                "type": "Collection",
                "first": {
                    "type": "CollectionPage",
                    "next": NOTE + "/replies?page=true",
                    "partOf": NOTE + "/replies",
                    "items": [],
                },
            },
        },
        "signature": {
            "type": "RsaSignature2017",
            "creator": ALICE + "#main-key",
            "created": "2024-05-01T10:00:01Z",
            "signatureValue": "aGVsbG8=",
        },
    },
}


def per_call(fn: Callable[[], object], seconds: float) -> float:
    """Median seconds per call over five rounds of about ``seconds / 5`` each."""
    fn()  # warm caches (processed contexts, term tables)
    start = time.perf_counter()
    n = 0
    while time.perf_counter() - start < 0.05:
        fn()
        n += 1
    batch = max(1, int(n * (seconds / 5) / 0.05))
    rounds = []
    for _ in range(5):
        gc.collect()
        t0 = time.perf_counter()
        for _ in range(batch):
            fn()
        rounds.append((time.perf_counter() - t0) / batch)
    return statistics.median(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time budget per measurement")
    args = parser.parse_args()

    print(f"{'activity':<24} {'path':>5} {'per call':>12} {'activities/s':>14}")
    totals = {"fast": 0.0, "full": 0.0}
    for name, doc in ACTIVITIES.items():
        for prefer_fast, label in ((True, "fast"), (False, "full")):
            path = normalize(doc, prefer_fast=prefer_fast).path
            if path != label:
                print(f"{name:<24} {label:>5} took the {path} path instead", file=sys.stderr)
            dt = per_call(lambda d=doc, p=prefer_fast: normalize(d, prefer_fast=p), args.seconds)
            totals[label] += dt
            print(f"{name:<24} {label:>5} {dt * 1e6:>10.1f}µs {1 / dt:>14,.0f}")
    n = len(ACTIVITIES)
    print()
    for label, total in totals.items():
        mean = total / n
        print(f"mean over the mix       {label:>5} {mean * 1e6:>10.1f}µs {1 / mean:>14,.0f}")
    print(f"speed-up (mean)               {totals['full'] / totals['fast']:>10.1f}x")


if __name__ == "__main__":
    main()
