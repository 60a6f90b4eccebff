"""The inbox's first look at a body (node/inbound.py `parse_body`): JSON, an object, and no
value nested deeper than MAX_DEPTH, refused with a reason before any JSON-LD work."""

from __future__ import annotations

import pytest

from federation.parsing import InvalidActivity
from node.inbound import MAX_DEPTH, parse_body


def _body(depth: int) -> bytes:
    """An activity whose deepest value sits `depth` levels below the top object (written by
    hand: the JSON encoder itself recurses)."""
    inner = '{"x": ' * (depth - 1) + '"deep"' + "}" * (depth - 1)
    head = '{"@context": "https://www.w3.org/ns/activitystreams", "type": "Note", "id": "https://a.example/1"'
    return f'{head}, "content": {inner}}}'.encode()


def test_a_body_at_the_depth_limit_passes_the_depth_check() -> None:
    try:
        parse_body(_body(MAX_DEPTH))
    except InvalidActivity as exc:  # what JSON-LD makes of it is another question
        assert "nests deeper" not in exc.reason


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5000])
def test_a_body_deeper_than_the_limit_is_refused_with_the_reason(depth: int) -> None:
    with pytest.raises(InvalidActivity) as caught:
        parse_body(_body(depth))
    assert f"nests deeper than {MAX_DEPTH} levels" in caught.value.reason


@pytest.mark.parametrize("body, reason", [(b"not json", "not JSON"), (b"[1, 2]", "JSON object")])
def test_a_body_that_is_no_json_object_is_refused(body: bytes, reason: str) -> None:
    with pytest.raises(InvalidActivity) as caught:
        parse_body(body)
    assert reason in caught.value.reason
