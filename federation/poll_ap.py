"""Polls on the wire, as Mastodon federates them: a post with a poll is a `Question` whose
`oneOf` (one choice) or `anyOf` (several) lists its options as `Note`s with a `name` and
`replies.totalItems` (the votes), with `endTime`, `closed` once closed and `votersCount`.
A vote is a `Note` with `name` = the option's title and `inReplyTo` = the Question, no content.

Pure converters: no I/O, no database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from federation.parsing import InvalidActivity
from federation.vocab import as_list, id_of

MAX_INCOMING_OPTIONS = 20  # more than any server allows; a longer list is refused, never read whole
MAX_INCOMING_TITLE = 500


@dataclass(frozen=True)
class PollData:
    """A poll as the wire carries it: option titles with their counts, in order."""

    options: tuple[tuple[str, int], ...]
    multiple: bool
    end_time: datetime | None
    closed: datetime | None
    voters_count: int | None


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def poll_to_ap(note: dict[str, object], poll: PollData) -> dict[str, object]:
    """The note document (federation/builders.py) made a Question carrying `poll`."""
    choices = [
        {"type": "Note", "name": title, "replies": {"type": "Collection", "totalItems": votes}}
        for title, votes in poll.options
    ]
    out = {**note, "type": "Question", ("anyOf" if poll.multiple else "oneOf"): choices}
    if poll.end_time is not None:
        out["endTime"] = _stamp(poll.end_time)
    if poll.closed is not None:
        out["closed"] = _stamp(poll.closed)
    if poll.voters_count is not None:
        out["votersCount"] = poll.voters_count
    return out


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _count(value: object) -> int:
    if isinstance(value, dict):
        value = value.get("totalItems")
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def ap_to_poll(doc: dict[str, object]) -> PollData | None:
    """The poll a Question carries; None for a document that is no poll (a Note)."""
    if doc.get("type") != "Question":
        return None
    multiple = "anyOf" in doc and "oneOf" not in doc
    raw = doc.get("anyOf" if multiple else "oneOf")
    items = as_list(raw)
    if len(items) > MAX_INCOMING_OPTIONS:
        raise InvalidActivity(f"a poll with {len(items)} options: at most {MAX_INCOMING_OPTIONS}")
    options: list[tuple[str, int]] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        options.append((str(item["name"])[:MAX_INCOMING_TITLE], _count(item.get("replies"))))
    if len(options) < 1:
        raise InvalidActivity("a Question without options")
    closed_raw = doc.get("closed")
    closed = _time(closed_raw) or (datetime.now(UTC) if closed_raw is True else None)
    voters = doc.get("votersCount")
    return PollData(
        options=tuple(options),
        multiple=multiple,
        end_time=_time(doc.get("endTime")),
        closed=closed,
        voters_count=voters if isinstance(voters, int) and not isinstance(voters, bool) and voters >= 0 else None,
    )


@dataclass(frozen=True)
class VoteData:
    id: str
    attributed_to: str
    question: str
    choice: str


def ap_to_vote(doc: dict[str, object]) -> VoteData | None:
    """A vote note (a `Note` with a `name`, `inReplyTo` and no content); None for any other note."""
    if doc.get("type") != "Note" or not isinstance(doc.get("name"), str) or doc.get("content"):
        return None
    question, author, vote_id = id_of(doc.get("inReplyTo")), id_of(doc.get("attributedTo")), id_of(doc.get("id"))
    if question is None or author is None or vote_id is None:
        return None
    return VoteData(vote_id, author, question, str(doc["name"])[:MAX_INCOMING_TITLE])


def vote_to_ap(vote_id: str, voter_uri: str, question_uri: str, poll_author_uri: str, choice: str) -> dict[str, object]:
    """A local person's vote on a peer's poll: a Note to the poll's author only."""
    return {
        "id": vote_id,
        "type": "Note",
        "name": choice,
        "attributedTo": voter_uri,
        "inReplyTo": question_uri,
        "to": [poll_author_uri],
    }
