"""An organisation-wide announcement on the wire, between Atrium nodes. Pure: no I/O.

The shape (docs/federation.md): a `Create`, `Update` or `Delete` from the sending node's
instance actor whose object is a `Note` carrying Atrium's marker `announcement: true`
(`atrium:announcement`), with the period as ActivityStreams' `startTime`/`endTime` and
`allDay` (`atrium:allDay`). It is addressed to no one (`to`/`cc` empty): a server that does
not know the marker has no one to show the note to, so it ignores it (Atrium does: no one
follows an instance actor), and nothing of it is ever public.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from federation.builders import iso
from federation.parsing import InvalidActivity, _time
from federation.vocab import ATRIUM_NS

MARKER = "announcement"  # the compacted term of `atrium:announcement`
ALL_DAY = "allDay"  # the compacted term of `atrium:allDay`
_EXPANDED = ATRIUM_NS + MARKER


@dataclass(frozen=True)
class AnnouncementData:
    id: str
    actor: str  # the sending node's instance actor
    content_html: str
    published: datetime
    updated: datetime
    starts_at: datetime | None
    ends_at: datetime | None
    all_day: bool


def announcement_to_ap(a: AnnouncementData) -> dict[str, object]:
    """The announcement as the object of a Create or Update."""
    note: dict[str, object] = {
        "id": a.id,
        "type": "Note",
        MARKER: True,
        "attributedTo": a.actor,
        "content": a.content_html,
        "published": iso(a.published),
        "updated": iso(a.updated),
        ALL_DAY: a.all_day,
    }
    if a.starts_at is not None:
        note["startTime"] = iso(a.starts_at)
    if a.ends_at is not None:
        note["endTime"] = iso(a.ends_at)
    return note


def is_announcement(obj: object) -> bool:
    """Whether an activity's object is an announcement (the marker, compacted or as sent with
    its prefix or full IRI)."""
    if not isinstance(obj, dict):
        return False
    return any(obj.get(key) is True for key in (MARKER, "atrium:" + MARKER, _EXPANDED))


@dataclass(frozen=True)
class IncomingAnnouncement:
    id: str
    attributed_to: str
    content_html: str  # raw: the node sanitises it
    starts_at: datetime | None
    ends_at: datetime | None
    all_day: bool
    published: datetime | None


def ap_to_announcement(obj: object, *, max_content: int) -> IncomingAnnouncement:
    """A peer's announcement, or InvalidActivity saying what is wrong with it."""
    if not is_announcement(obj):
        raise InvalidActivity("not an announcement")
    assert isinstance(obj, dict)
    ident, author, content = obj.get("id"), obj.get("attributedTo"), obj.get("content")
    if not isinstance(ident, str) or not ident or len(ident) > 2048:
        raise InvalidActivity("an announcement needs an id")
    if not isinstance(author, str):
        raise InvalidActivity("an announcement needs attributedTo")
    if not isinstance(content, str) or not content.strip():
        raise InvalidActivity("an announcement needs content")
    if len(content) > max_content:
        raise InvalidActivity(f"the announcement is {len(content)} characters, more than the {max_content} accepted")
    starts, ends = _time(obj.get("startTime")), _time(obj.get("endTime"))
    if starts and ends and ends <= starts:
        raise InvalidActivity("the announcement ends before it starts")
    return IncomingAnnouncement(ident, author, content, starts, ends, obj.get(ALL_DAY) is True, _time(obj.get("published")))
