"""bovine and fediverse-pasture, served on loopback for Atrium's interop tests.

Runs under interop/bovine/.venv (see setup.sh), never under Atrium's environment:

    interop/bovine/.venv/bin/python interop/bovine/pasture_driver.py \
        --workdir DIR --verify-port PV --actor-port PA

Two servers, both bound to 127.0.0.1 only (the packages' own `app.run` binds 0.0.0.0):

``http://127.0.0.1:PV/`` — fediverse-pasture's **verify_actor** application, unchanged
    (`fediverse_pasture.verify_actor.build_app`). POST `actor_uri=...` with
    `Accept: application/json` and it answers, for each of its test actors, whether it could
    GET the actor and POST to its inbox:

    ========  =========================  ==========================  ===================
    actor     WebFinger (user_part)      its actor document needs     its inbox POST is
    ========  =========================  ==========================  ===================
    alice     yes                        nothing                      unsigned
    bob       yes                        nothing                      signed
    claire    yes                        a signed GET                 signed
    dean      no                         nothing                      unsigned
    emily     no                         nothing                      signed
    frank     no                         a signed GET                 signed
    ========  =========================  ==========================  ===================

    plus ``webfinger``: whether acct:preferredUsername@host resolves back to the actor.

``http://127.0.0.1:PA/actor`` — fediverse-pasture's **one_actor**, made strict: its actor
    document is served only to a signed GET, and its inbox takes only signed POSTs, both
    checked by bovine (`BlueprintForActors.validate_request` → bovine's SignatureChecker,
    which fetches the signer's key with a signed GET of its own). When a Follow arrives it
    answers with a signed Accept. Control routes for the tests:

    * ``POST /control/send`` ``{"remote": ACTOR_URI, "sets": [...]?}``: sends every example of
      the fediverse-pasture-inputs sets (all of them by default) to ACTOR_URI the way
      fediverse-pasture's ActivitySender does (a Create of a Note built from the example,
      addressed to the public and to ACTOR_URI, signed draft-cavage by bovine), and answers
      one record per example with the HTTP status and body Atrium gave.
    * ``POST /control/send-rfc9421`` ``{"remote": ACTOR_URI, "content": HTML}``: one such
      note, signed the RFC 9421 way from bovine's own pieces (bovine itself signs only
      draft-cavage; its verifier is what defines the RFC 9421 profile it speaks).
    * ``GET /control/state``: activities received in the inbox, the Accepts sent and how
      they were answered, and every JSON-LD context bovine wanted but did not have.
    * ``GET|POST /control/verify-signature``: bovine's verdict on the request's own HTTP
      signature (draft-cavage or RFC 9421): 200 ``{"owner": ...}`` or 401.

The inputs name the host ``pasture-one-actor`` (in funfedi.dev's docker setup that is where
one_actor lives); every such string is rewritten to this server's ``127.0.0.1:PA``, so notes
are attributed to, and reply to, the actor that really sends them. ``/assets/note1.jsonap``
and ``note2.jsonap`` (the notes the inputs reply to and quote) are served.

bovine caches in ``bovine_jsonld_cache.sqlite`` in the working directory every context it
resolved, and caches the ones it could not fetch as empty. The driver copies the cache that
setup.sh seeded from Atrium's bundled contexts into ``--workdir`` before bovine is imported,
and replaces bovine's HTTP context loader with one that refuses (and records) every fetch:
no context ever comes from the network.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import secrets
import shutil
import signal
import sys
import time
import traceback
from dataclasses import fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HOST = "127.0.0.1"
PASTURE_HOST = "pasture-one-actor"
AS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"

log = logging.getLogger("pasture_driver")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workdir", required=True, type=Path)
    p.add_argument("--verify-port", required=True, type=int)
    p.add_argument("--actor-port", required=True, type=int)
    p.add_argument("--timeout", default=10, type=int, help="verify_actor's per-request timeout (s)")
    p.add_argument(
        "--jsonld-cache",
        type=Path,
        default=Path(sys.prefix) / "bovine_jsonld_cache.sqlite",
        help="the seeded cache (setup.sh writes it into the venv)",
    )
    return p.parse_args()


def prepare_workdir(args: argparse.Namespace) -> None:
    """Everything bovine and fediverse-pasture write relative to the working directory
    (data.toml with the test actors' keys, the JSON-LD cache) goes into --workdir."""
    if not args.jsonld_cache.is_file():
        raise SystemExit(f"pasture_driver: no seeded JSON-LD cache at {args.jsonld_cache}; run interop/bovine/setup.sh")
    args.workdir.mkdir(parents=True, exist_ok=True)
    os.chdir(args.workdir)
    if not Path("bovine_jsonld_cache.sqlite").exists():
        shutil.copyfile(args.jsonld_cache, "bovine_jsonld_cache.sqlite")


JSONLD_MISSES: list[str] = []


def forbid_context_fetches() -> None:
    """bovine.jsonld.wrapper falls back to an HTTP fetch for contexts it does not know, and
    caches a failure as an empty context. Make that fetch fail at once, and record the URL."""
    import bovine.jsonld
    from pyld.jsonld import JsonLdError

    def loader_factory(**_kwargs: Any):  # noqa: ANN202
        def refuse(url: str, options: Any = None) -> Any:
            JSONLD_MISSES.append(url)
            raise JsonLdError("network fetches of JSON-LD contexts are disabled", "jsonld.LoadDocumentError",
                              {"url": url}, code="loading document failed")

        return refuse

    bovine.jsonld.requests_document_loader = loader_factory  # type: ignore[assignment]


def rewrite(value: Any, base_host: str) -> Any:
    """The example with every `pasture-one-actor` replaced by this server's host."""
    if isinstance(value, str):
        return value.replace(PASTURE_HOST, base_host)
    if isinstance(value, list):
        return [rewrite(v, base_host) for v in value]
    if isinstance(value, dict):
        return {k: rewrite(v, base_host) for k, v in value.items()}
    return value


async def main() -> None:
    args = parse_args()
    prepare_workdir(args)
    forbid_context_fetches()

    import aiohttp
    from bovine.crypto.helper import content_digest_sha256_rfc_9530
    from bovine.crypto.http_signature import HttpSignature
    from bovine.crypto.signature_checker import SignatureChecker
    from bovine.crypto.types import CryptographicIdentifier
    from bovine.utils import get_gmt_now
    from fediverse_pasture.data_provider import DataProvider, bovine_actor_for_actor_data
    from fediverse_pasture.runner import ActivitySender
    from fediverse_pasture.server import BlueprintForActors
    from fediverse_pasture.verify_actor import build_app
    from fediverse_pasture_inputs import available
    from hypercorn.asyncio import serve
    from hypercorn.config import Config
    from quart import Quart, jsonify, request

    # fediverse_pasture.verify_actor sets the root logger to DEBUG at import.
    logging.getLogger().setLevel(logging.INFO)
    logging.getLogger("hypercorn.error").propagate = False  # hypercorn prints it itself

    verify_domain = f"{HOST}:{args.verify_port}"
    actor_host = f"{HOST}:{args.actor_port}"
    actor_base = f"http://{actor_host}"

    # --- verify_actor, as the package builds it (generates data.toml on first run) ---------
    verify_app = build_app(False, verify_domain, False, args.timeout)

    # --- one_actor, strict -------------------------------------------------------------------
    data = DataProvider.load()
    strict = data.one_actor.model_copy(
        update={"requires_signed_get_for_actor": True, "requires_signed_post_for_inbox": True}
    )
    actor_id = f"{actor_base}/actor"
    session = aiohttp.ClientSession()
    bovine_actor, actor_object = bovine_actor_for_actor_data(actor_id, strict)
    await bovine_actor.init(session=session)

    received: list[dict[str, Any]] = []
    accepts: list[dict[str, Any]] = []
    tasks: set[asyncio.Task[None]] = set()

    async def send_accept(follow: dict[str, Any]) -> None:
        record: dict[str, Any] = {"follow": follow.get("id")}
        try:
            await asyncio.sleep(0.2)  # let the follower's transaction settle before answering
            follower = await bovine_actor.get(follow["actor"])
            inbox = follower["inbox"]
            accept = {
                "@context": "https://www.w3.org/ns/activitystreams",
                "type": "Accept",
                "id": f"{actor_id}/accept/{secrets.token_urlsafe(8)}",
                "actor": actor_id,
                "object": follow,
                "to": [follow["actor"]],
            }
            response = await bovine_actor.client.post(inbox, json.dumps(accept))
            record.update(status=response.status, body=(await response.text())[:2000])
        except Exception as exc:  # noqa: BLE001 - reported to the test through /control/state
            record.update(error=repr(exc))
            log.exception("Accept failed")
        accepts.append(record)

    async def on_inbox(activity: dict[str, Any]) -> None:
        received.append(activity)
        if isinstance(activity, dict) and activity.get("type") == "Follow" and activity.get("object") == actor_id:
            task = asyncio.create_task(send_accept(activity))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    actors = BlueprintForActors([strict], on_inbox=on_inbox)
    actor_app = Quart("one_actor")
    actor_app.json.sort_keys = False  # records keep the wire order (contentMap's first language)
    actor_app.register_blueprint(actors.blueprint)

    @actor_app.get("/assets/<name>")
    async def assets(name: str):  # noqa: ANN202
        if name not in ("note1.jsonap", "note2.jsonap"):
            return "not found", 404
        number = name[4]
        note = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "type": "Note",
            "id": f"{actor_base}/assets/{name}",
            "attributedTo": actor_id,
            "to": [AS_PUBLIC],
            "content": "One" if number == "1" else "Two",
            "published": "2024-01-06T13:11:45Z",
        }
        return note, 200, {"content-type": "application/activity+json"}

    secret = bovine_actor.client.secret  # the CryptographicSecret bovine signs with

    async def post_rfc9421(inbox: str, body: bytes) -> Any:
        """A POST signed the RFC 9421 way, built from bovine's own pieces: the signature base
        is bovine's `HttpSignature.build_message_quoted` over exactly the components bovine's
        verifier reconstructs (`@method`, `@authority`, `@path`, `content-digest`), the digest
        is bovine's RFC 9530 `content_digest_sha256_rfc_9530` (an http-sf serialisation)."""
        parts = urlsplit(inbox)
        digest_header, digest = content_digest_sha256_rfc_9530(body)
        components = ["@method", "@authority", "@path", digest_header]
        params = "(" + " ".join(f'"{c}"' for c in components) + ")"
        params += f';created={int(time.time())};keyid="{secret.key_id}";alg="rsa-v1_5-sha256"'
        base = (HttpSignature().with_field("@method", "POST").with_field("@authority", parts.netloc)
                .with_field("@path", parts.path).with_field(digest_header, digest)
                .with_field("@signature-params", params))
        headers = {
            "content-type": "application/activity+json",
            "date": get_gmt_now(),
            digest_header: digest,
            "signature-input": f"sig1={params}",
            "signature": f"sig1=:{secret.sign(base.build_message_quoted())}:",
        }
        # bovine must accept its own construction, or a refusal would prove nothing.
        own = CryptographicIdentifier.from_pem(strict.key_pairs[0].public, actor_id)

        async def own_key(_key_id: str) -> CryptographicIdentifier:
            return own

        async def read_body() -> bytes:
            return body

        assert await SignatureChecker(own_key).validate_signature("post", inbox, {**headers, "host": parts.netloc}, read_body) == actor_id
        return await session.post(inbox, data=body, headers=headers)

    class RecordingSender(ActivitySender):
        """fediverse-pasture's ActivitySender, keeping the receiver's status and body (the
        original raises on 4xx/5xx and drops the body); optionally signing RFC 9421."""

        last: tuple[int, str] | None = None
        rfc9421: bool = False

        async def _perform_post(self, remote_inbox: str, create: dict[str, Any]) -> Any:
            if self.rfc9421:
                response = await post_rfc9421(remote_inbox, json.dumps(create).encode())
            else:
                response = await self.bovine_actor.client.post(remote_inbox, json.dumps(create))
            self.last = (response.status, (await response.text())[:2000])
            return response

    def new_sender(rfc9421: bool = False) -> RecordingSender:
        base = ActivitySender.for_actor(bovine_actor, actor_object)
        sender = RecordingSender(**{f.name: getattr(base, f.name) for f in fields(base)})
        sender.sleep_after_getting_inbox = False
        sender.rfc9421 = rfc9421
        return sender

    async def send_one(sender: RecordingSender, remote: str, example: dict[str, Any]) -> dict[str, Any]:
        record: dict[str, Any] = {"example": example}
        sender.last = None
        sender.activity = None
        try:
            sender.init_create_note(lambda note: {**note, **example})
            await sender.send(remote)
        except Exception as exc:  # noqa: BLE001 - recorded: the test decides
            record["error"] = "".join(traceback.format_exception_only(exc)).strip()
        record["activity"] = sender.activity
        if sender.last is not None:
            record["status"], record["body"] = sender.last
        return record

    @actor_app.post("/control/send")
    async def control_send():  # noqa: ANN202
        body = await request.get_json()
        remote = body["remote"]
        names = body.get("sets") or sorted(available)
        sender = new_sender()
        records = []
        for name in names:
            for index, example in enumerate(available[name].examples):
                record = await send_one(sender, remote, rewrite(example, actor_host))
                records.append({"set": name, "index": index, **record})
        return jsonify(records)

    @actor_app.post("/control/send-rfc9421")
    async def control_send_rfc9421():  # noqa: ANN202
        """One note, `{"remote": ..., "content": ...}`, signed the RFC 9421 way."""
        body = await request.get_json()
        return jsonify(await send_one(new_sender(rfc9421=True), body["remote"], {"content": body["content"]}))

    @actor_app.get("/control/state")
    async def control_state():  # noqa: ANN202
        return jsonify({
            "actor_id": actor_id,
            "received": received,
            "accepts": accepts,
            "jsonld_misses": sorted(set(JSONLD_MISSES)),
        })

    @actor_app.route("/control/verify-signature", methods=["GET", "POST"])
    async def control_verify_signature():  # noqa: ANN202
        owner = await actors.validate_request(request)
        if not owner:
            return jsonify({"owner": None}), 401
        return jsonify({"owner": owner})

    # --- serve both, loopback only -------------------------------------------------------------
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def config(port: int) -> Config:
        c = Config()
        c.bind = [f"{HOST}:{port}"]
        c.accesslog = "-"
        c.graceful_timeout = 1
        return c

    servers = [
        asyncio.create_task(serve(verify_app, config(args.verify_port), shutdown_trigger=stop.wait)),  # type: ignore[arg-type]
        asyncio.create_task(serve(actor_app, config(args.actor_port), shutdown_trigger=stop.wait)),  # type: ignore[arg-type]
    ]
    print(f"pasture_driver: verify_actor on http://{verify_domain}/, one_actor at {actor_id}", flush=True)
    try:
        done, _ = await asyncio.wait(servers, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()  # a server that died: say why
    finally:
        stop.set()
        await asyncio.gather(*servers, return_exceptions=True)
        await session.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(main())
