"""The `direct` stream (Mastodon's `conversation` events) through Mastodon.py 2.3.3's WebSocket
and server-sent events: a direct message reaches the streams of those in it, as the
conversation `GET /api/v1/conversations` shows, and nobody else's."""

from __future__ import annotations

import asyncio
import json
import queue
from typing import Any

import mastodon

from tests.api.conftest import SignIn, auth
from tests.api.social import Client, add_user, post

WAIT = 60.0


class _Conversations(mastodon.StreamListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.events: queue.Queue[Any] = queue.Queue()

    def on_conversation(self, conversation: Any) -> None:
        self.events.put(conversation)


async def test_a_direct_message_reaches_the_direct_streams_of_those_in_it_only(api: Client, sign_in: SignIn) -> None:
    # Given alice on the direct stream through Mastodon.py, and carol (not in the thread) on hers over SSE
    await add_user(api, "carol")
    alice, bob, carol = await sign_in("alice"), await sign_in("bob"), await sign_in("carol")
    client = mastodon.Mastodon(access_token=alice, api_base_url=str(api.make_url("")).rstrip("/"),
                               version_check_mode="none")
    listener = _Conversations()
    handle = await asyncio.to_thread(client.stream_open_websocket, listener)
    carol_stream = await api.get("/api/v1/streaming/direct", headers=auth(carol))
    assert carol_stream.status == 200
    ws = await api.ws_connect(f"/api/v1/streaming?access_token={bob}&stream=direct")
    try:
        await asyncio.to_thread(client.stream_direct, listener, websocket_handle=handle)
        await asyncio.sleep(0.5)
        # When bob writes to alice directly, and posts publicly
        await post(api, bob, "public, not a conversation")
        sent = await post(api, bob, "@alice just between us", visibility="direct")
        # Then alice's direct stream carries the conversation, as the list shows it
        got = await asyncio.to_thread(listener.events.get, True, WAIT)
        assert str(got.last_status.id) == sent["id"] and got.unread is True
        assert [a.acct for a in got.accounts] == ["bob"]
        listed = await (await api.get("/api/v1/conversations", headers=auth(alice))).json()
        assert str(got.id) == listed[0]["id"]
        # ... bob's (the author's) too, naming alice
        message = await ws.receive_json(timeout=WAIT)
        assert message["stream"] == ["direct"] and message["event"] == "conversation"
        payload = json.loads(message["payload"])
        assert payload["last_status"]["id"] == sent["id"] and [a["acct"] for a in payload["accounts"]] == ["alice"]
        # ... and carol's stream carries nothing (a later post of her own comes first)
        mine = await post(api, carol, "@carol a note to self", visibility="direct")
        text = ""
        while mine["id"] not in text:
            text += (await asyncio.wait_for(carol_stream.content.readany(), WAIT)).decode()
        assert sent["id"] not in text and "event: conversation" in text
    finally:
        await asyncio.to_thread(handle.close)
        await ws.close()
        carol_stream.close()
