"""A fake peer that is a whole node, over real HTTP on loopback: it has a name (its instance
actor's `name` and its NodeInfo `metadata.nodeName`), answers WebFinger, and serves its people's
outboxes (a collection and its first page) and the sizes of their followers and following.

`pat` is its person: an outbox of 42 (the first page holds a public, an unlisted and a
followers-only note of his, and a note someone else wrote), 7 followers, 3 following.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from federation.signatures import sign_request
from federation.vocab import AP_CONTENT_TYPE, PUBLIC
from tests.factory import free_port
from tests.federation.fake_peer import FakePeer, public_pem, rsa_key

INSTANCE = "instance"  # the key name of the peer's instance actor (/actor)


@dataclass
class NamedPeer:
    fake: FakePeer
    name: str = "Partner Co."
    nodeinfo_name: str | None = "Partner Co."
    outbox_total: int = 42
    followers_total: int = 7
    following_total: int = 3
    texts: dict[str, str] = field(default_factory=dict)  # what each of pat's notes says

    @property
    def domain(self) -> str:
        return self.fake.domain

    @property
    def instance_actor(self) -> str:
        return f"{self.fake.base}/actor"

    def instance_document(self) -> dict[str, object]:
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.instance_actor,
            "type": "Application",
            "preferredUsername": self.domain,
            "name": self.name,
            "inbox": f"{self.instance_actor}/inbox",
            "publicKey": {
                "id": f"{self.instance_actor}#main-key",
                "owner": self.instance_actor,
                "publicKeyPem": public_pem(self.fake.keys[INSTANCE]),
            },
        }

    def outbox_page(self) -> dict[str, object]:
        pat = self.fake.actor("pat")
        followers = f"{pat}/followers"
        notes = [
            self.fake.note("pat", 1, self.texts["public"]),
            self.fake.note("pat", 2, self.texts["unlisted"], to=[followers], cc=[PUBLIC]),
            self.fake.note("pat", 3, self.texts["followers"], to=[followers], cc=[]),
            {**self.fake.note("pat", 4, self.texts["forged"]), "attributedTo": self.fake.actor("quinn")},
        ]
        return {
            "id": f"{pat}/outbox?page=true",
            "type": "OrderedCollectionPage",
            "partOf": f"{pat}/outbox",
            "orderedItems": [self.fake.create("pat", n) for n in notes],
        }

    async def update_name(self, name: str, inbox: str) -> tuple[int, str]:
        """Rename the peer and tell the node, as its instance actor: an Update(Application)."""
        self.name = name
        activity = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{self.instance_actor}#updates/{name}",
            "type": "Update",
            "actor": self.instance_actor,
            "object": self.instance_document(),
            "to": [PUBLIC],
        }
        body = json.dumps(activity).encode()
        headers = sign_request(
            "POST",
            inbox,
            {"Content-Type": AP_CONTENT_TYPE},
            body,
            f"{self.instance_actor}#main-key",
            self.fake.keys[INSTANCE],
        )
        async with aiohttp.ClientSession() as session, session.post(inbox, data=body, headers=headers) as r:
            return r.status, await r.text()

    def app(self) -> web.Application:
        app = self.fake.app()
        pat = self.fake.actor("pat")

        def ap(doc: dict[str, Any]) -> web.Response:
            return web.Response(
                text=json.dumps({"@context": "https://www.w3.org/ns/activitystreams", **doc}),
                content_type=AP_CONTENT_TYPE,
            )

        async def finger(request: web.Request) -> web.Response:
            user = request.query.get("resource", "").removeprefix("acct:").split("@", 1)[0]
            if user not in self.fake.keys:
                return web.json_response({"error": "no"}, status=404)
            return web.json_response(
                {
                    "subject": f"acct:{user}@{self.domain}",
                    "links": [{"rel": "self", "type": "application/activity+json", "href": self.fake.actor(user)}],
                },
                content_type="application/jrd+json",
            )

        async def nodeinfo_index(request: web.Request) -> web.Response:
            return web.json_response(
                {
                    "links": [
                        {
                            "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
                            "href": f"{self.fake.base}/nodeinfo/2.1",
                        }
                    ]
                }
            )

        async def nodeinfo(request: web.Request) -> web.Response:
            metadata = {"nodeName": self.nodeinfo_name} if self.nodeinfo_name is not None else {}
            return web.json_response(
                {"version": "2.1", "software": {"name": "fake", "version": "1"}, "metadata": metadata}
            )

        async def instance(request: web.Request) -> web.Response:
            return ap(self.instance_document())

        async def outbox(request: web.Request) -> web.Response:
            if "page" in request.query:
                return ap(self.outbox_page())
            return ap(
                {
                    "id": f"{pat}/outbox",
                    "type": "OrderedCollection",
                    "totalItems": self.outbox_total,
                    "first": f"{pat}/outbox?page=true",
                }
            )

        async def followers(request: web.Request) -> web.Response:
            return ap({"id": f"{pat}/followers", "type": "OrderedCollection", "totalItems": self.followers_total})

        async def following(request: web.Request) -> web.Response:
            return ap({"id": f"{pat}/following", "type": "OrderedCollection", "totalItems": self.following_total})

        app.router.add_get("/.well-known/webfinger", finger)
        app.router.add_get("/.well-known/nodeinfo", nodeinfo_index)
        app.router.add_get("/nodeinfo/2.1", nodeinfo)
        app.router.add_get("/actor", instance)
        app.router.add_get("/users/pat/outbox", outbox)
        app.router.add_get("/users/pat/followers", followers)
        app.router.add_get("/users/pat/following", following)
        return app


@asynccontextmanager
async def running_named_peer(texts: dict[str, str], **options: Any) -> AsyncIterator[NamedPeer]:
    peer = NamedPeer(FakePeer(free_port()), texts=texts, **options)
    peer.fake.add_actor("pat")
    peer.fake.keys[INSTANCE] = rsa_key(7)
    peer.fake.actor_extra["pat"] = {
        "following": f"{peer.fake.actor('pat')}/following",
        "summary": "<p>Partnerships at Partner Co.</p>",
    }
    runner = web.AppRunner(peer.app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", peer.fake.port).start()
    try:
        yield peer
    finally:
        await runner.cleanup()
