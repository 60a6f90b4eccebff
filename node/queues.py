"""The node's job queues and what each job carries: one small typed record per kind of job.

| queue     | records                                      | queued by                    | handled by                          |
|-----------|----------------------------------------------|------------------------------|-------------------------------------|
| `inbox`   | `InboxJob`                                   | node.inbox_log               | node.inbox (`DISPATCH`, by activity type) |
| `fanout`  | `PostCreated`, `PostEdited`, `PostDeleted`, `Boosted`, `Unboosted`, `ActorUpdated`, `InstanceUpdated` | node.federate `queue_fanout` | node.outbox (`FANOUT_DISPATCH`, by record) |
| `deliver` | `Delivery`                                   | node.outbox `deliver_to`     | node.delivery                       |
| `media_fetch` | `MediaFetch`                             | node.media_remote `queue_remote_fetch` | node.media_remote `handle_media_fetch` |

A record is stored as the JSON object its queue has always held (a fan-out record with its
`kind`), and every field added since is optional: a node upgraded with jobs in its queue reads
them. Unknown keys are ignored (a job queued by a newer process in a rolling upgrade). A
payload that does not parse raises `MalformedJob`, which fails the job with its reason — a
recorded failure, never a traceback or a retry.

Hand-written rather than pydantic or msgspec (neither is a dependency of the node): the
records are flat, of five JSON types, and the `deliver` payload is read once per delivery on
the hot path, where this costs a few microseconds beside `json.loads`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from types import NoneType, UnionType
from typing import Any, ClassVar, Self, Union, get_args, get_origin, get_type_hints

from node.workers import PermanentFailure

INBOX = "inbox"
FANOUT = "fanout"
DELIVER = "deliver"
MEDIA_FETCH = "media_fetch"


class MalformedJob(PermanentFailure):
    """A job's payload is not what its queue holds: it can never succeed."""


@dataclass(frozen=True)
class _Field:
    """How one field is read from JSON: the types its value may have (`bool` counting as an
    int only where a bool is meant), and those of its items if it is a list read as a tuple."""

    name: str
    types: tuple[type, ...]
    bool_ok: bool
    required: bool
    items: tuple[type, ...] | None = None

    def accepts(self, value: object) -> bool:
        if not isinstance(value, self.types) or (value.__class__ is bool and not self.bool_ok):
            return False
        items = self.items
        return items is None or all(isinstance(i, items) and i.__class__ is not bool for i in value)  # type: ignore[attr-defined]


def _field(name: str, hint: object, required: bool) -> _Field:
    """The reading of a field of type `hint`: str, int, bool, None, unions of them,
    tuple[X, ...] (a JSON list) and dict[str, object] (a JSON object, whose keys are strings)."""
    alternatives = get_args(hint) if get_origin(hint) in (Union, UnionType) else (hint,)
    types: list[type] = []
    items: tuple[type, ...] | None = None
    for a in alternatives:
        if a in (str, int, bool, NoneType):
            types.append(a)
        elif get_origin(a) is tuple and get_args(a)[1:] == (Ellipsis,) and get_args(a)[0] in (str, int):
            types.append(list)
            items = (get_args(a)[0],)
        elif get_origin(a) is dict and get_args(a)[0] is str:
            types.append(dict)
        else:
            raise TypeError(f"a job record cannot hold {hint!r}")
    return _Field(name, tuple(types), bool in types, required, items)


class Record:
    """Base of every job record (each a frozen dataclass of JSON-able fields)."""

    KIND: ClassVar[str] = ""  # the `kind` a fan-out record is stored with
    _fields: ClassVar[tuple[_Field, ...] | None] = None

    @classmethod
    def _spec(cls) -> tuple[_Field, ...]:
        spec = cls.__dict__.get("_fields")
        if spec is None:  # worked out once per class, at its first use
            hints = get_type_hints(cls)
            spec = tuple(
                _field(f.name, hints[f.name], f.default is MISSING and f.default_factory is MISSING)
                for f in fields(cls)  # type: ignore[arg-type]
            )
            cls._fields = spec
        return spec

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"kind": self.KIND} if self.KIND else {}
        for f in self._spec():
            value = getattr(self, f.name)
            out[f.name] = list(value) if f.items is not None else value
        return out

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict()).encode()

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Self:
        values: dict[str, Any] = {}
        for f in cls._spec():
            if f.name not in data:
                if f.required:
                    raise MalformedJob(f"{cls.__name__} job without {f.name!r}")
                continue
            value = data[f.name]
            if not f.accepts(value):
                raise MalformedJob(f"{cls.__name__} job with a bad {f.name!r}: {str(value)[:80]!r}")
            values[f.name] = tuple(value) if f.items is not None else value  # type: ignore[arg-type]
        return cls(**values)

    @classmethod
    def from_json(cls, raw: bytes) -> Self:
        return cls.from_dict(_object(raw))


def _object(raw: bytes) -> dict[str, object]:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedJob(f"a job payload that is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MalformedJob("a job payload that is not a JSON object")
    return data


# --- inbox ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxJob(Record):
    """An activity the inbox accepted, to handle: its signing actor and the activity as received."""

    actor: str
    activity: dict[str, object]


# --- fanout --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _AboutPost(Record):
    """A fan-out about a post still stored: the activity is built from it when the job runs."""

    post_id: int


@dataclass(frozen=True)
class PostCreated(_AboutPost):
    KIND = "Create"


@dataclass(frozen=True)
class PostEdited(_AboutPost):
    KIND = "Update"


@dataclass(frozen=True)
class PostDeleted(Record):
    """The post is gone by the time this runs: what its Delete needs is carried here."""

    KIND = "Delete"
    uri: str
    author_id: int
    visibility: str
    mention_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class _AboutBoost(Record):
    """A boost and its undoing carry the same: who boosted what, under which Announce id."""

    booster_id: int
    original_id: int
    announce_uri: str


@dataclass(frozen=True)
class Boosted(_AboutBoost):
    KIND = "Announce"


@dataclass(frozen=True)
class Unboosted(_AboutBoost):
    KIND = "UndoAnnounce"


@dataclass(frozen=True)
class ActorUpdated(Record):
    """A local account's actor changed (profile, key, moderation): its followers' nodes learn it."""

    KIND = "ActorUpdate"
    account_id: int


@dataclass(frozen=True)
class InstanceUpdated(Record):
    """The instance actor changed (its key, node/keys_rotation.py): every known peer learns it."""

    KIND = "InstanceUpdate"


@dataclass(frozen=True)
class PollCounted(_AboutPost):
    """A local poll's counts changed (or it closed): an `Update` of its Question with the counts
    as they are when the job runs (node/poll_wire.py spaces them out)."""

    KIND = "PollUpdate"


@dataclass(frozen=True)
class AnnouncementChanged(Record):
    """An organisation-wide announcement reached, changed or left the organisation's peers
    (node/announcements.py): `action` is Create, Update or Delete; `uri` names it once gone."""

    KIND = "Announcement"
    announcement_id: int
    action: str
    uri: str


FanoutJob = (PostCreated | PostEdited | PostDeleted | Boosted | Unboosted | ActorUpdated | InstanceUpdated | PollCounted
             | AnnouncementChanged)
FANOUT_KINDS: dict[str, type[FanoutJob]] = {
    r.KIND: r
    for r in (PostCreated, PostEdited, PostDeleted, Boosted, Unboosted, ActorUpdated, InstanceUpdated, PollCounted,
              AnnouncementChanged)
}


def parse_fanout(raw: bytes) -> FanoutJob:
    data = _object(raw)
    kind = data.get("kind")
    record = FANOUT_KINDS.get(kind) if isinstance(kind, str) else None
    if record is None:
        raise MalformedJob(f"a fan-out job of unknown kind {str(kind)[:40]!r}")
    return record.from_dict(data)


# --- deliver -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery(Record):
    """One activity to one inbox, and what the trust policy needs to judge it again when it
    is sent (node.delivery_check): the audience and the post the fan-out judged it on."""

    inbox: str
    domain: str  # the recipients' domain the fan-out admitted (canonical then)
    signer: int | None  # the local account that signs; None: the instance actor
    body: str  # the activity, as JSON
    object: str = ""  # what the activity is about (the audit trail's object, and the order per inbox)
    # The audience the fan-out asked `Policy.outbound` about; None: a job queued before
    # deliveries carried it (asked about as `direct`, as they were then).
    visibility: str | None = None
    # The post whose audience and text the fan-out judged (the post itself; the original, for
    # a boost and its undoing), read again at delivery; None: an activity about no post, or a
    # Delete (asked about the audience the post had).
    post_id: int | None = None
    # The activity carries that post's text (a Create, an Update), and the post's `edited_at`
    # (ISO 8601) when it was built: once the post is edited or deleted, the text in `body` is
    # not today's, and is judged as well.
    carries_post: bool = False
    version: str | None = None


# --- media_fetch ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MediaFetch(Record):
    """A peer's attachment to fetch and cache here (node.media_remote): its media row."""

    media_id: int
