"""One error family: whatever a peer's document, a signature or a fetch does wrong is an
`AtriumError` (storage/errors.py) carrying the HTTP status it becomes and a reason, so a
handler catches one type. Each error here is raised by the real component that raises it."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable

import pytest

from federation.addresses import AddressPolicy, AddressRefused, FetchError
from federation.gate import ContactRefused, Purpose
from federation.parsing import InvalidActivity, parse_activity
from federation.signatures import SignatureError, parse_signature
from storage.errors import AtriumError


def caught(raise_it: Callable[[], object]) -> AtriumError:
    """What `raise_it` raises, caught as the base type: the catch itself is the first check."""
    try:
        raise_it()
    except AtriumError as exc:
        return exc
    raise AssertionError("nothing was raised")


def refused_contact() -> None:
    raise ContactRefused(
        "object refused: x.example is blocked", rule='peers."x.example"', host="x.example", purpose=Purpose.OBJECT
    )


#: (what raises it, its type, the status it carries)
CASES: dict[str, tuple[Callable[[], object], type[AtriumError], int]] = {
    "an activity without an id": (lambda: parse_activity({"type": "Create"}), InvalidActivity, 400),
    "an unsigned request": (lambda: parse_signature({}), SignatureError, 401),
    "a URL with user-info": (lambda: AddressPolicy().check_url("https://me@x.example/a"), FetchError, 400),
    "a private address": (lambda: AddressPolicy().check("10.1.2.3"), AddressRefused, 403),
    "a host the policy refuses": (refused_contact, ContactRefused, 403),
}


@pytest.mark.parametrize("case", CASES)
def test_each_is_an_atrium_error_with_its_status_and_a_reason(case: str) -> None:
    # Given a component refusing what it was given
    raise_it, kind, status = CASES[case]
    # When its error is caught as the one base type
    exc = caught(raise_it)
    # Then it is the component's own type, with the status it becomes and a readable reason
    assert isinstance(exc, kind)
    assert exc.status == status
    assert exc.reason and exc.reason in str(exc)


def test_an_invalid_activity_is_still_a_value_error() -> None:
    # Callers that treat a malformed document as any bad value keep catching it
    with pytest.raises(ValueError, match="id is missing"):
        parse_activity({"type": "Create"})


@pytest.mark.parametrize("case", ["a URL with user-info", "an unsigned request", "an activity without an id"])
def test_a_copy_keeps_the_status_and_the_reason(case: str) -> None:
    # Given an error of the family (a FetchError is built from both its reason and its status)
    exc = caught(CASES[case][0])
    # When it is copied or sent through pickle (as a log handler or a process pool may)
    for again in (copy.copy(exc), pickle.loads(pickle.dumps(exc))):
        # Then the copy is the same error
        assert (type(again), again.status, again.reason) == (type(exc), exc.status, exc.reason)
