"""Seed bovine's JSON-LD context cache from Atrium's bundled contexts (never the network).

Run with Atrium's own Python (it imports `federation.jsonld`):

    .venv/bin/python interop/bovine/seed_jsonld_cache.py OUT.sqlite

bovine resolves contexts through `bovine.jsonld.wrapper_with_context`: first its SQLite cache
(`bovine_jsonld_cache.sqlite` in the working directory, table `jsonld(url, context)`), then a
few built-ins, then an HTTP fetch; whatever it cannot fetch it caches as an *empty* context,
for good. On a machine without the internet that would silently strip every term the
security and DID contexts define (publicKey, owner, publicKeyPem...). So the cache is written
here, ahead of time, with every context Atrium bundles (pyld's frozen set plus
federation/contexts/), under every URL spelling Atrium knows.

The ActivityStreams URL itself is left out on purpose: bovine ships its own AS2 context for
it, and a cache entry would override that built-in.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from federation import jsonld  # noqa: E402  (needs the repository on sys.path)

BOVINE_BUILTIN = {"https://www.w3.org/ns/activitystreams"}


def main(out: str) -> int:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(tmp)
    try:
        con.execute("CREATE TABLE IF NOT EXISTS jsonld (url TEXT PRIMARY KEY, context TEXT)")
        rows = []
        for url in sorted(jsonld.bundled_context_urls() - BOVINE_BUILTIN):
            document = jsonld.document_loader(url)["document"]
            context = document.get("@context") if isinstance(document, dict) else None
            if context is None:
                raise SystemExit(f"seed: bundled context {url} has no @context")
            rows.append((url, json.dumps(context)))
        con.executemany("INSERT INTO jsonld VALUES (?, ?)", rows)
        con.commit()
    finally:
        con.close()
    tmp.replace(path)
    print(f"seeded {len(rows)} JSON-LD contexts into {path}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: seed_jsonld_cache.py OUT.sqlite")
    raise SystemExit(main(sys.argv[1]))
