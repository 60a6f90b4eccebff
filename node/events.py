"""An in-process publish/subscribe bus: node code says "a post was stored, edited or deleted,
a notification was made"; live readers (the streaming API) listen.

Publishing is a cheap no-op while nobody listens. The bus only reaches this process: a worker
running in another process of the same node is noticed by the listener's own poll of the
database, so an event here is a prompt ("look now"), never the only way news travels.
A hand-written bus because the need is a few lines of asyncio queues; a broker would be a
new moving part every node operator has to run.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from storage import batches
from storage.models import Post

# A slow listener loses prompts beyond this many rather than holding the publisher's memory;
# it catches up from the database on its next poll.
QUEUE_SIZE = 256


@dataclass(frozen=True)
class Event:
    """`kind` is `post` (stored), `edit`, `delete`, `notification` or `announcement*`."""

    kind: str
    post_id: int | None = None
    # A deleted post as it was: who could have seen it is judged from this snapshot.
    deleted: Post | None = None
    mention_ids: tuple[int, ...] = ()
    notification_id: int | None = None
    # `announcement`, `announcement.reaction` (with the emoji and its new count) and
    # `announcement.delete` (node/announcements.py): for every local reader's user stream.
    announcement_id: int | None = None
    reaction: tuple[str, int] | None = None


@dataclass
class EventBus:
    _queues: set[asyncio.Queue[Event]] = field(default_factory=set)

    def subscribe(self) -> asyncio.Queue[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Event]) -> None:
        self._queues.discard(queue)

    @property
    def listening(self) -> bool:
        return bool(self._queues)

    def publish(self, event: Event) -> None:
        if batches.after_commit(lambda: self._send(event)):
            return  # a change made in a batch is told once the batch has committed
        self._send(event)

    def _send(self, event: Event) -> None:
        for queue in self._queues:
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                pass  # the listener's next database poll finds what this prompt would have said
